"""Which notices are due: pure, over the status use case's own notices (core.rules decides expiry).

A notice has a key that names what it is about: ``expiry:<license>:<days>`` for a maintenance license
that crossed a threshold, ``expired:<license>`` once it expired, ``shortfall:<install code>`` while
maintenance does not cover capacity. A key is sent once per channel. A shortfall that ends is
forgotten, so that a new one is sent again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal
from uuid import UUID

from core import rules
from core.models import Frozen, License, SegmentController, StatusLevel
from core.views import Notice, SegmentSummary

NoticeKind = Literal["expiry", "expired", "shortfall"]
SHORTFALL_PREFIX = "shortfall:"


class DueNotice(Frozen):
    key: str
    kind: NoticeKind
    level: StatusLevel
    segment_name: str
    install_code: str
    license_id: UUID | None = None
    threshold_days: int | None = None
    expires_on: date | None = None
    text: str


@dataclass(frozen=True)
class DuePlan:
    """Per channel the notices not yet sent on it, and the sent keys that are no longer true."""

    due: dict[str, list[DueNotice]]
    forget: list[str]

    @property
    def any_due(self) -> bool:
        return any(self.due.values())


def expiry_notices(
    segment: SegmentController,
    licenses: Iterable[License],
    today: date,
    thresholds: list[int],
    notice_of: Mapping[UUID, Notice],
) -> list[DueNotice]:
    """One notice per license at its current stage; ``notice_of`` holds status's text per license."""
    found: list[DueNotice] = []
    for lic in licenses:
        notice = notice_of.get(lic.license_id)
        stage = rules.expiry_stage(lic.terms, today, thresholds)
        if notice is None or stage is None:
            continue
        expired = stage == rules.EXPIRED
        found.append(
            DueNotice(
                key=f"expired:{lic.license_id}" if expired else f"expiry:{lic.license_id}:{stage}",
                kind="expired" if expired else "expiry",
                level=notice.level,
                segment_name=segment.name,
                install_code=segment.install_code,
                license_id=lic.license_id,
                threshold_days=None if expired else stage,
                expires_on=lic.terms.expires_on,
                text=notice.text,
            )
        )
    return found


def shortfall_notice(summary: SegmentSummary, notice: Notice | None) -> DueNotice | None:
    if notice is None:
        return None
    return DueNotice(
        key=f"{SHORTFALL_PREFIX}{summary.segment.install_code}",
        kind="shortfall",
        level=notice.level,
        segment_name=summary.segment.name,
        install_code=summary.segment.install_code,
        text=notice.text,
    )


def plan(current: list[DueNotice], sent: Mapping[str, set[str]], channels: list[str]) -> DuePlan:
    """What to send on each channel now, and which shortfall marks to forget (it was resolved)."""
    keys = {notice.key for notice in current}
    due = {channel: [n for n in current if channel not in sent.get(n.key, set())] for channel in channels}
    forget = sorted(key for key in sent if key.startswith(SHORTFALL_PREFIX) and key not in keys)
    return DuePlan(due=due, forget=forget)
