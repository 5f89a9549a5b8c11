"""What `smartlic` imports before the TUI's first paint: heavy modules stay off that path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each of these costs a noticeable share of a bare Textual app's start-up (see `make bench`).
# pydantic_settings is not here on purpose: the settings need it (a requirement), and with it
# argparse, which its CLI source imports whether used or not.
OFF_THE_START_PATH = (
    "cryptography",
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


# What the start path loads because of pydantic_settings, and must keep loading: the settings
# really are pydantic-settings, not a model that only looks like it.
ON_THE_START_PATH = ("pydantic_settings", "argparse")


def _loaded_at_start(names: tuple[str, ...]) -> list[str]:
    probe = (
        "import json, sys; import tui.cli, tui.app, core.wiring; "
        f"print(json.dumps([m for m in {list(names)!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_start_path_imports_no_heavy_module() -> None:
    assert _loaded_at_start(OFF_THE_START_PATH) == []


def test_the_start_path_loads_pydantic_settings() -> None:
    assert _loaded_at_start(ON_THE_START_PATH) == list(ON_THE_START_PATH)


def test_a_bare_smartlic_means_what_the_parser_would_say() -> None:
    from tui import cli

    fast, parsed = cli.parse_args([]), cli.build_parser().parse_args([])
    assert (fast.command, fast.debug, fast.json) == (parsed.command, parsed.debug, parsed.json)
