"""What can go wrong when a notice is sent, each with its exit code (as core.errors)."""

from __future__ import annotations

from core.errors import ConfigError, SmartlicError

NOT_MARKED = "Nothing was marked as sent; the next run tries again."


class NotifyUnreachable(SmartlicError):
    """The mail server or webhook cannot be reached (down, timeout, TLS handshake): try again later."""

    exit_code = 3


class NotifyLoginRefused(ConfigError):
    """The mail server refused the login, or the webhook the token: fix the setting."""


class NotifyRefused(SmartlicError):
    """The server took the connection but refused the message (a recipient, the sender, the body)."""


class NotifyNotConfigured(ConfigError):
    """No channel is set up, or a channel lacks a setting it needs."""
