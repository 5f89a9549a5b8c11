"""TUI fixtures: a service on the embedded demo cloud and the app (fixed clock, seeded data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.service import LicenseService
from tests.support.tui import make_app, make_tui_service
from tui.app import SmartlicApp


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
