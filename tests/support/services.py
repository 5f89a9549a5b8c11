"""A LicenseService on the embedded demo cloud, with the fixed clock and seeded randomness."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.service import LicenseService
from core.settings import Settings
from core.wiring import build_service
from tests.support.clock import fixed_clock

if TYPE_CHECKING:
    from fastapi import FastAPI


def make_service(data_dir: Path, *, face: str = "test", **settings: Any) -> LicenseService:
    return build_service(
        Settings(data_dir=data_dir, retries=0, **settings),
        face=face,
        clock=fixed_clock,
        rng=random.Random(42),
    )


async def set_embedded_faults(service: LicenseService, **faults: Any) -> None:
    """Faults of the embedded cloud, set on its app itself: the embedded cloud serves no admin endpoints."""
    from core.mock_cloud.faults import Faults

    embedded_app(service).state.faults.set(Faults(**faults))


def embedded_app(service: LicenseService) -> FastAPI:
    """The app of the embedded demo cloud, which the service's cloud client talks to in-process."""
    import httpx
    from fastapi import FastAPI

    cloud = service.context.cloud
    assert cloud._http is not None  # builds the embedded transport, and with it the app
    transport = cloud._transport
    assert isinstance(transport, httpx.ASGITransport) and isinstance(transport.app, FastAPI), transport
    return transport.app
