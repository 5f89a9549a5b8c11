"""What one run sends: an e-mail (subject and plain text) and a webhook body (JSON), from the notices.

The webhook body is a stable contract (README, "Notifications"):
``{"source": "smartlic", "version": 1, "host", "sent_at", "test", "notices": [...]}``, each notice
``{"key", "kind", "level", "segment_name", "install_code", "license_id", "threshold_days",
"expires_on", "text"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.notify.due import DueNotice

WEBHOOK_VERSION = 1


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    body: dict[str, Any]


def notices_message(notices: list[DueNotice], host: str, now: datetime) -> Message:
    count = len(notices)
    subject = f"smartlic on {host}: {count} license notice{'s' if count != 1 else ''}"
    lines = [f"smartlic on {host} has {count} new license notice{'s' if count != 1 else ''}:", ""]
    lines += [f"- {notice.text}" for notice in notices]
    lines += ["", "Each notice is sent once. `smartlic status` shows the current state."]
    return Message(subject, "\n".join(lines) + "\n", _body(notices, host, now, test=False))


def test_message(host: str, now: datetime) -> Message:
    subject = f"smartlic on {host}: test message"
    text = (
        f"This is a test message from smartlic on {host}, sent {now:%Y-%m-%d %H:%M} UTC.\n"
        "License notices (expiry, maintenance short of capacity) will come the same way.\n"
    )
    return Message(subject, text, _body([], host, now, test=True))


def _body(notices: list[DueNotice], host: str, now: datetime, *, test: bool) -> dict[str, Any]:
    return {
        "source": "smartlic",
        "version": WEBHOOK_VERSION,
        "host": host,
        "sent_at": now.isoformat(),
        "test": test,
        "notices": [notice.model_dump(mode="json") for notice in notices],
    }
