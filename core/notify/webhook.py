"""POST a run's notices as JSON to the webhook (httpx), with the optional bearer token."""

from __future__ import annotations

from typing import Any

import httpx

from core.diagnostics import mask_url
from core.notify.config import WebhookSettings
from core.notify.errors import NotifyLoginRefused, NotifyNotConfigured, NotifyRefused, NotifyUnreachable


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
            hint="Nothing was marked as sent; the next run tries again.",
            code="webhook_unreachable",
        ) from exc
    status = answer.status_code
    if status in (401, 403):
        raise NotifyLoginRefused(
            f"The webhook {where} refused the token (HTTP {status}).",
            hint="Check notifications.webhook.token.",
            code="webhook_token_refused",
        )
    if status in (408, 429) or status >= 500:
        raise NotifyUnreachable(
            f"The webhook {where} is not taking messages now (HTTP {status}).",
            hint="Nothing was marked as sent; the next run tries again.",
            code="webhook_unavailable",
        )
    if status >= 300:
        raise NotifyRefused(
            f"The webhook {where} refused the message (HTTP {status}).", code="webhook_refused"
        )
