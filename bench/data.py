"""Benchmark data, made in the run (nothing large is committed).

A data dir is a smartlic data dir (store + embedded demo cloud) with Segment A given the demo
Customer ID, a few licenses active (so Manage Licenses has data), and then, as asked, many more
cloud licenses (through the mock cloud's own ``Tx.add_license``, one transaction) and devices
(through the store, one transaction).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

SEGMENT = "SmartServer-A"
FIXED_NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


def settings_for(data_dir: Path, **extra):
    from core.settings import Settings

    return Settings.from_values(data_dir=data_dir, retries=0, **extra)


def service_for(data_dir: Path, **hooks):
    """The service of ``data_dir``, built by core.wiring; ``hooks`` are its ``store_type`` and
    ``cloud_type`` (subclasses that time or count their calls)."""
    from core.wiring import build_service

    return build_service(
        settings_for(data_dir), face="bench", clock=fixed_clock, rng=random.Random(7), **hooks
    )


def make_data_dir(
    data_dir: Path, *, cloud_licenses: int = 0, devices: int = 0, active: int = 3, device_capacity: int = 10
) -> dict:
    """Build ``data_dir``; returns facts the benchmarks need (customer id, install code)."""
    return asyncio.run(_make(data_dir, cloud_licenses, devices, active, device_capacity))


async def _make(data_dir: Path, cloud_licenses: int, devices: int, active: int, device_capacity: int) -> dict:
    service = service_for(data_dir)
    try:
        info = await service.demo_info()
        service.set_customer_id(SEGMENT, str(info.customer_id))
        install_code = service.segment(SEGMENT).install_code
        if active:
            offer = await service.cloud_licenses(SEGMENT)
            capacity = [lic.license_id for lic in offer.licenses if lic.kind == "capacity"]
            await service.activate(SEGMENT, capacity[:active])
    finally:
        await service.aclose()
    settings = settings_for(data_dir)
    if cloud_licenses:
        add_cloud_licenses(settings.embedded_cloud_dir, info.customer_id, cloud_licenses, device_capacity)
    if devices:
        add_devices(settings.store_path, install_code, devices)
    return {"customer_id": str(info.customer_id), "install_code": install_code, "segment": SEGMENT}


def add_cloud_licenses(cloud_dir: Path, customer_id: uuid.UUID, total: int, device_capacity: int) -> None:
    """Top the customer's available licenses up to ``total``, in one cloud transaction."""
    from core.mock_cloud.db import CloudDB, LicenseRecord
    from core.models import LicenseKind

    rng = random.Random(11)
    db = CloudDB.open(cloud_dir)
    try:
        with db.write() as tx:
            _, have = tx.available_licenses(customer_id, for_install_code=None, offset=0, limit=1)
            partner = tx.partners()[0]
            for index in range(max(0, total - have)):
                tx.add_license(
                    LicenseRecord(
                        license_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                        partner_id=partner.partner_id,
                        customer_id=customer_id,
                        kind=LicenseKind.CAPACITY,
                        devices=device_capacity,
                        transfer_date=date(2026, 1, 1 + index % 28),
                    )
                )
    finally:
        db.close()


def add_devices(store_path: Path, install_code: str, total: int) -> None:
    """Top the segment's devices up to ``total`` (unlicensed), in one store transaction."""
    from core.models import Device, DeviceState, Protocol
    from core.store import Store

    protocols = list(Protocol)
    store = Store.open(store_path, clock=fixed_clock)
    try:
        with store.write() as tx:
            have = tx.devices(install_code)
            seq = max((d.seq for d in have), default=0)
            tx.put_devices(
                Device(
                    device_id=f"A-BEN-{index:05d}",
                    install_code=install_code,
                    protocol=protocols[index % 3],
                    name=f"Bench device {index}",
                    seq=seq + 1 + index,
                    state=DeviceState.UNLICENSED,
                )
                for index in range(max(0, total - len(have)))
            )
    finally:
        store.close()
