"""Helpers of the cloud trust tests: install codes, a settable clock, the key bindings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

HERE = "17q5t6a"  # the seed's default earmark
OTHER = "9zz0abc"


class Clock:
    """An injected clock that a test moves forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def bindings(app: FastAPI) -> dict[str, str | None]:
    """license id -> install code, from the cloud's database."""
    with app.state.db.read() as tx:
        return {str(r.license_id): r.install_code for r in tx.customer_licenses(app.state.demo_customer_id)}
