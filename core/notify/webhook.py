"""POST a run's notices as JSON to the webhook (httpx), with the optional bearer token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from core.diagnostics import mask_url
from core.errors import SmartlicError
from core.notify.config import WebhookSettings
from core.notify.errors import (
    NOT_MARKED,
    NotifyLoginRefused,
    NotifyNotConfigured,
    NotifyRefused,
    NotifyUnreachable,
)


def post_webhook(hook: WebhookSettings, body: dict[str, Any]) -> None:
    if not hook.url:
        raise NotifyNotConfigured("No webhook URL is set.", hint="Set notifications.webhook.url.")
    where = mask_url(hook.url)
    headers = {"User-Agent": "smartlic-notify"}
    if hook.token:
        headers["Authorization"] = f"Bearer {hook.token.get_secret_value()}"
    try:
        with httpx.Client(timeout=hook.timeout) as client:
            answer = client.post(hook.url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise NotifyUnreachable(
            f"Cannot reach the webhook {where} ({type(exc).__name__}).",
            hint=NOT_MARKED,
            code="webhook_unreachable",
        ) from exc
    status = answer.status_code
    for matches, error, code, text, hint in _ANSWERS:
        if matches(status):
            raise error(text.format(where=where, status=status), hint=hint, code=code)


# Answers that are not a delivery (the first match wins): the error, its code, the message, what to do.
_ANSWERS: list[tuple[Callable[[int], bool], type[SmartlicError], str, str, str | None]] = [
    (
        lambda status: status in (401, 403),
        NotifyLoginRefused,
        "webhook_token_refused",
        "The webhook {where} refused the token (HTTP {status}).",
        "Check notifications.webhook.token.",
    ),
    (
        lambda status: status in (408, 429) or status >= 500,
        NotifyUnreachable,
        "webhook_unavailable",
        "The webhook {where} is not taking messages now (HTTP {status}).",
        NOT_MARKED,
    ),
    (
        lambda status: status >= 300,
        NotifyRefused,
        "webhook_refused",
        "The webhook {where} refused the message (HTTP {status}).",
        None,
    ),
]
