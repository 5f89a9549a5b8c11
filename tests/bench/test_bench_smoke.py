"""`python -m bench --smoke` still runs and prints its whole table (speed is not judged here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGETS = [
    "start-up: process start -> Manage Licenses painted",
    "first key handled: process start -> c shows Manage Customer Accounts",
    "stall: longest event-loop stall during the first paint",
    "stall: longest event-loop stall during opening Download for 250 licenses",
    "stall: longest event-loop stall during ACTIVATE of",
    "stall: longest event-loop stall during provisioning",
    "stall: longest event-loop stall during a refresh of Manage Licenses, two sessions writing",
    "stall: longest event-loop stall during Transfer to Cloud of",
    "cli: smartlic status --json",
    "cli: smartlic licenses --json",
    "download: 250 licenses vs 100: first paint",
    "download: 250 licenses vs 100: CPU per key",
    "download: 250 licenses vs 100: peak RSS",
    "download: 250 licenses vs 100: filter",
    "download 250: first paint before the last page arrives",
    "devices: 250 devices vs 100: first paint",
    "devices: 250 devices vs 100: CPU per key",
    "devices: 250 devices vs 100: peak RSS",
    "devices: 250 devices vs 100: filter",
    "activate 20, 100 ms latency: round trips",
    "activate 20: wall / one round trip",
    "transfer 20, 100 ms latency: round trips",
    "transfer 20: wall / one round trip",
    "list 250 cloud licenses: bytes on the wire / JSON of the data",
    "store: activate 20 licenses",
    "terminal 80x24: start-up bytes",
    "terminal 80x24: bytes per cursor move",
    "terminal 80x24: open+close a modal",
    "terminal 120x40: start-up bytes",
    "terminal 120x40: bytes per cursor move",
    "terminal 120x40: open+close a modal",
]


def test_bench_smoke_prints_every_row(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    lines = out.splitlines()
    assert lines[0].split() == ["target", "baseline", "ours", "ratio", "limit", "result"]
    rows = [line for line in lines[2:] if line.strip() and not line.startswith("bench:")]
    for target in TARGETS:
        matching = [line for line in rows if line.startswith(target)]
        assert matching, f"no row for {target!r} in:\n{out}"
        assert matching[0].rstrip().split()[-1] in ("pass", "FAIL", "info"), matching[0]
    assert "bench: " in out and " rows, " in out
