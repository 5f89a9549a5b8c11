"""Fixtures: an SSH server on 127.0.0.1 running the real `smartlic` per session, on its own demo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.ssh.server import SmartlicSshServer


@pytest.fixture
async def ssh_server(tmp_path: Path) -> AsyncIterator[SmartlicSshServer]:
    server = SmartlicSshServer(tmp_path / "data")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
