"""Shared fixtures: an isolated environment, a fixed clock, and a service on the embedded demo."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from core.service import LicenseService
from core.settings import Settings
from core.wiring import build_service

FIXED_NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("NO_COLOR", raising=False)
    # Settings read SMARTLIC_* in any case, and table entries as SMARTLIC_<TABLE>__<KEY>: drop them all.
    for var in [name for name in os.environ if name.upper().startswith("SMARTLIC_")]:
        monkeypatch.delenv(var)


def make_service(data_dir, **settings) -> LicenseService:
    return build_service(
        Settings(data_dir=data_dir, retries=0, **settings),
        face="test",
        clock=fixed_clock,
        rng=random.Random(42),
    )


@pytest.fixture
async def service(tmp_path) -> AsyncIterator[LicenseService]:
    svc = make_service(tmp_path / "data")
    yield svc
    await svc.aclose()


@pytest.fixture
async def demo_customer(service: LicenseService) -> str:
    return str((await service.demo_info()).customer_id)
