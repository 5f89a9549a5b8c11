"""What `smartlic` imports before the TUI's first paint: heavy modules stay off that path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each of these costs a noticeable share of a bare Textual app's start-up (see `make bench`).
OFF_THE_START_PATH = (
    "pydantic_settings",
    "cryptography",
    "argparse",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "core.mock_cloud",
    "tui.screens.devices",
    "tui.screens.download",
    "tui.screens.customer_accounts",
    "tui.widgets.path",
)


def test_the_start_path_imports_no_heavy_module() -> None:
    probe = (
        "import json, sys; import tui.cli, tui.app, core.wiring; "
        f"print(json.dumps([m for m in {list(OFF_THE_START_PATH)!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_a_bare_smartlic_means_what_the_parser_would_say() -> None:
    from tui import cli

    fast, parsed = cli.parse_args([]), cli.build_parser().parse_args([])
    assert (fast.command, fast.debug, fast.json) == (parsed.command, parsed.debug, parsed.json)
