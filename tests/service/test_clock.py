"""Turning the clock back does not bring an expired maintenance license back."""

from __future__ import annotations

import random
from datetime import timedelta

from core.models import LicenseKind
from core.settings import Settings
from core.wiring import build_service
from tests.support.clock import FIXED_NOW

A = "SmartServer-A"


class MovableClock:
    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self):
        return self.now


async def test_clock_rollback_keeps_expired_license_expired(tmp_path) -> None:
    clock = MovableClock()
    service = build_service(
        Settings(data_dir=tmp_path, retries=0), face="test", clock=clock, rng=random.Random(3)
    )
    try:
        customer = str((await service.demo_info()).customer_id)
        service.set_customer_id(A, customer)
        offer = await service.cloud_licenses(A)
        soon = next(x for x in offer.licenses if x.kind is LicenseKind.MAINTENANCE and x.devices == 25)
        await service.activate(A, [soon.license_id])
        assert service.license_rows(A)[0].status.startswith("Expiring")

        clock.now = FIXED_NOW + timedelta(days=40)
        report = service.status()
        assert service.license_rows(A)[0].status.startswith("Expired")
        assert report.alert

        clock.now = FIXED_NOW - timedelta(days=5)
        assert service.license_rows(A)[0].status.startswith("Expired")
        report = service.status()
        assert report.alert
        assert any(n.kind == "clock" for n in report.warnings)

        clock.now = FIXED_NOW + timedelta(days=39, hours=1)  # within a day of the highest time seen
        assert not any(n.kind == "clock" for n in service.status().warnings)
    finally:
        await service.aclose()
