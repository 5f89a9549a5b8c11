"""What the SSH tests check besides the screen: the CLI and the store of the same data directory."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from core.service import LicenseService
from core.settings import load_settings
from core.wiring import build_service
from tests.ssh.server import REPO_ROOT, session_env, smartlic_command


async def run_smartlic(data_dir: Path, *args: str) -> Any:
    """`smartlic ARGS --json` against the data directory of the SSH sessions; its JSON document."""
    proc = await asyncio.create_subprocess_exec(
        *smartlic_command(),
        *args,
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=session_env(data_dir, "dumb"),
        cwd=str(REPO_ROOT),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


@contextlib.asynccontextmanager
async def store_service(data_dir: Path) -> AsyncIterator[LicenseService]:
    """The controller's store as the service sees it, opened next to the running TUI."""
    service = build_service(load_settings(data_dir=data_dir), face="test")
    try:
        yield service
    finally:
        await service.aclose()


def process_running(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie waiting to be reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
