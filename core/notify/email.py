"""Send one plain-text e-mail with smtplib: STARTTLS, TLS from the start, or plain (``security``).

Certificates are always verified, against ``ca_file`` when given (a private CA, a self-signed test
server), else the system's. Every failure is one NotifyError line; the password is never in it.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from core.errors import SmartlicError
from core.notify.config import SmtpSecurity, SmtpSettings
from core.notify.errors import (
    NOT_MARKED,
    NotifyLoginRefused,
    NotifyNotConfigured,
    NotifyRefused,
    NotifyUnreachable,
)


def build_email(sender: str, recipients: list[str], subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    return message


# What went wrong, by the exception caught (the first match wins): the error, its code, the message
# ({where}: host:port) and what to do.
Caught = type[BaseException] | tuple[type[BaseException], ...]
_FAILURES: list[tuple[Caught, type[SmartlicError], str, str, str]] = [
    (
        smtplib.SMTPAuthenticationError,
        NotifyLoginRefused,
        "smtp_login_refused",
        "The mail server {where} refused the login of {user!r} ({reply}).",
        "Check notifications.smtp.username and notifications.smtp.password.",
    ),
    (
        smtplib.SMTPNotSupportedError,
        NotifyNotConfigured,
        "smtp_not_supported",
        "The mail server {where} does not offer {feature}.",
        "Set notifications.smtp.security to what the server offers (starttls, ssl or none).",
    ),
    (
        (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError),
        NotifyRefused,
        "smtp_refused",
        "The mail server {where} refused the message ({reply}).",
        "Check notifications.email_to and notifications.email_from.",
    ),
    (
        ssl.SSLCertVerificationError,
        NotifyNotConfigured,
        "smtp_untrusted",
        "The mail server {where} has a certificate smartlic does not trust ({reason}).",
        "Set notifications.smtp.ca_file to the PEM file of its certificate authority.",
    ),
    (
        # Refused or dropped connections, timeouts, TLS handshakes that fail, servers that hang up.
        (OSError, smtplib.SMTPException),
        NotifyUnreachable,
        "smtp_unreachable",
        "Cannot reach the mail server {where} ({reason}).",
        NOT_MARKED,
    ),
]


def send_email(smtp: SmtpSettings, message: EmailMessage) -> None:
    if not smtp.host:
        raise NotifyNotConfigured(
            "No mail server is set.",
            hint="Set notifications.smtp.host (SMARTLIC_NOTIFICATIONS__SMTP__HOST).",
        )
    try:
        with _connect(smtp) as client:
            if smtp.security is SmtpSecurity.STARTTLS:
                client.starttls(context=_tls_context(smtp))
            if smtp.username:
                password = smtp.password.get_secret_value() if smtp.password else ""
                client.login(smtp.username, password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise _failure(exc, smtp) from exc


def _failure(exc: BaseException, smtp: SmtpSettings) -> SmartlicError:
    facts = {
        "where": f"{smtp.host}:{smtp.effective_port}",
        "user": smtp.username,
        "feature": "STARTTLS" if smtp.security is SmtpSecurity.STARTTLS else "login (AUTH)",
        "reply": _reply(exc) if isinstance(exc, smtplib.SMTPException) else "",
        "reason": getattr(exc, "verify_message", None) or _reason(exc),
    }
    for caught, error, code, text, hint in _FAILURES:
        if isinstance(exc, caught):
            return error(text.format(**facts), hint=hint, code=code)
    raise AssertionError("the last row catches every OSError and SMTPException")


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    assert smtp.host is not None
    if smtp.security is SmtpSecurity.SSL:
        return smtplib.SMTP_SSL(
            smtp.host, smtp.effective_port, timeout=smtp.timeout, context=_tls_context(smtp)
        )
    return smtplib.SMTP(smtp.host, smtp.effective_port, timeout=smtp.timeout)


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(smtp.ca_file) if smtp.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise NotifyNotConfigured(
            f"Cannot read notifications.smtp.ca_file {smtp.ca_file}: {_reason(exc)}.",
            hint="Point it at a PEM file of certificate authorities.",
            code="smtp_ca_file",
        ) from exc


def _reply(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{who}: {code}" for who, (code, _msg) in exc.recipients.items())
    code = getattr(exc, "smtp_code", "")
    text = getattr(exc, "smtp_error", b"")
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__
