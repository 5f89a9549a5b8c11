"""The command line: `smartlic status --json` and `smartlic licenses --json`, process start to exit,
against a Python that imports only sqlite3 and json (information: no limit)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, Report, Sample, child_env, ratio_row

FLOOR = [sys.executable, "-c", "import sqlite3, json"]


def _wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    # status exits 1 when maintenance is short or expired: that is an answer, not a failure.
    if done.returncode not in (0, 1) or not done.stdout.lstrip().startswith("{"):
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall


def cli_rows(data_dir: Path, runs: int, report: Report) -> None:
    env = {**child_env(), "SMARTLIC_DATA_DIR": str(data_dir)}
    floor_env = dict(os.environ)
    floor = Sample([])
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(FLOOR, env=floor_env, check=True)
        floor.values.append(time.perf_counter() - start)
    for command in ("status", "licenses"):
        # As the installed `smartlic` script runs it: import tui.cli, call main().
        args = [
            sys.executable,
            "-c",
            "import sys; from tui.cli import main; sys.exit(main())",
            command,
            "--json",
        ]
        _wall(args, env)  # warm the file cache
        ours = Sample([_wall(args, env) for _ in range(runs)])
        report.rows.append(
            ratio_row(
                f"cli: smartlic {command} --json, start to exit (vs python -c sqlite3, json)",
                floor,
                ours,
                None,
            )
        )
