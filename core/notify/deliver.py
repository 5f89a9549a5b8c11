"""The channels a configuration has, and sending one message on one of them."""

from __future__ import annotations

import socket

from core.notify.config import NotificationSettings
from core.notify.message import Message

EMAIL = "email"
WEBHOOK = "webhook"


def channels(settings: NotificationSettings) -> list[str]:
    """The channels that are set up: e-mail needs recipients and a mail server, the webhook a URL."""
    found = []
    if settings.email_to and settings.smtp.host:
        found.append(EMAIL)
    if settings.webhook.url:
        found.append(WEBHOOK)
    return found


def configuration_problem(settings: NotificationSettings) -> str | None:
    """Why notices cannot go anywhere (or only half set up), as one sentence; None when all is well."""
    if settings.email_to and not settings.smtp.host:
        return "notifications.email_to is set but no mail server: set notifications.smtp.host."
    if settings.smtp.host and not settings.email_to:
        return "notifications.smtp.host is set but nobody receives the mail: set notifications.email_to."
    if not channels(settings):
        return (
            "No notification channel is set up: set notifications.email_to and notifications.smtp.host, "
            "or notifications.webhook.url (README, Notifications)."
        )
    return None


def host_name() -> str:
    return socket.gethostname() or "localhost"


def sender(settings: NotificationSettings) -> str:
    return settings.email_from or f"smartlic@{host_name()}"


def send(channel: str, settings: NotificationSettings, message: Message) -> None:
    """Send ``message`` on ``channel``; a NotifyError says why not. Loads smtplib or httpx only here."""
    if channel == EMAIL:
        from core.notify.email import build_email, send_email

        send_email(
            settings.smtp, build_email(sender(settings), settings.email_to, message.subject, message.text)
        )
    else:
        from core.notify.webhook import post_webhook

        post_webhook(settings.webhook, message.body)
