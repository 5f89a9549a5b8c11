"""The one fixed clock of the tests (and of the screenshots): every date in a test is relative to it."""

from __future__ import annotations

from datetime import UTC, datetime

FIXED_NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW
