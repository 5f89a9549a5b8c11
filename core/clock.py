"""The wall clock: the default ``Clock`` of the service and of the mock cloud.

A leaf module (standard library only), so that both sides of the import-linter contracts may use it.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
