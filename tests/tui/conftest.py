"""TUI fixtures: a service on the embedded demo cloud (fixed clock, seeded data) and the app."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.service import LicenseService
from core.settings import Settings
from core.wiring import build_service
from tests.conftest import fixed_clock
from tui.app import SmartlicApp

SIZE = (80, 24)


def make_tui_service(data_dir: Path) -> LicenseService:
    return build_service(
        Settings(data_dir=data_dir, retries=0), face="tui", clock=fixed_clock, rng=random.Random(42)
    )


def make_app(data_dir: Path) -> SmartlicApp:
    settings = Settings(data_dir=data_dir, retries=0)
    app = SmartlicApp(make_tui_service(data_dir), settings)
    app.animation_level = "none"
    return app


@pytest.fixture
async def tui_service(tmp_path: Path) -> AsyncIterator[LicenseService]:
    svc = make_tui_service(tmp_path / "data")
    yield svc
    await svc.aclose()


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[SmartlicApp]:
    application = make_app(tmp_path / "data")
    yield application
    await application.service.aclose()
