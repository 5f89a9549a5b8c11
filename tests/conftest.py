"""Shared fixtures: an isolated environment, a fixed clock, and a service on the embedded demo."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.service import LicenseService
from tests.support.services import make_service
from tests.support.tui import no_cursor_blink


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


@pytest.fixture(autouse=True)
def steady_cursor() -> Iterator[None]:
    """No cursor blink anywhere: determinism lives in the tests, not in product widgets."""
    with no_cursor_blink():
        yield


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[LicenseService]:
    svc = make_service(tmp_path / "data")
    yield svc
    await svc.aclose()


@pytest.fixture
async def demo_customer(service: LicenseService) -> str:
    return str((await service.demo_info()).customer_id)
