"""What every benchmark shares: repeated timing, the result rows, the table, child processes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Sample:
    """Repeated measurements of one figure."""

    values: list[float]
    unit: str = "s"

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self) -> float:
        """Half the range, relative to the median (± %)."""
        if len(self.values) < 2 or not self.median:
            return 0.0
        return (max(self.values) - min(self.values)) / 2 / abs(self.median)

    def text(self) -> str:
        return f"{fmt(self.median, self.unit)} ±{self.spread * 100:.0f}%"


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        if value < 0.001:
            return f"{value * 1e6:.0f} µs"
        if value < 1:
            return f"{value * 1000:.1f} ms"
        return f"{value:.2f} s"
    if unit == "B":
        for scale, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= scale:
                return f"{value / scale:.1f} {name}"
        return f"{value:.0f} B"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "x":
        return f"{value:.1f} paints"
    return f"{value:g} {unit}".strip()


@dataclass
class Row:
    target: str
    baseline: str
    ours: str
    ratio: float | None
    limit: float | None
    passed: bool | None = None
    note: str = ""

    def verdict(self) -> str:
        if self.passed is None:
            if self.ratio is None or self.limit is None:
                return "info"
            self.passed = self.ratio <= self.limit
        return "pass" if self.passed else "FAIL"


def ratio_row(target: str, base: Sample, ours: Sample, limit: float | None, note: str = "") -> Row:
    ratio = ours.median / base.median if base.median else None
    return Row(target, base.text(), ours.text(), ratio, limit, note=note)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def print(self, out=sys.stdout) -> None:
        headers = ["target", "baseline", "ours", "ratio", "limit", "result"]
        body = [
            [
                r.target,
                r.baseline,
                r.ours,
                "-" if r.ratio is None else f"{r.ratio:.2f}",
                "-" if r.limit is None else f"≤ {r.limit:g}",
                r.verdict(),
            ]
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(headers, *body, strict=False)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        print(line.format(*headers), file=out)
        print("  ".join("-" * w for w in widths), file=out)
        for cells in body:
            print(line.format(*cells), file=out)
        passed = sum(1 for r in self.rows if r.verdict() == "pass")
        failed = sum(1 for r in self.rows if r.verdict() == "FAIL")
        print(f"\nbench: {len(self.rows)} rows, {passed} pass, {failed} fail", file=out)
        for note in self.notes:
            print(note, file=out)


def child(mode: str, *args: str, timeout: float = 600) -> dict:
    """Run ``python -m bench.child MODE ARGS`` and return the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.child", mode, *args],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.child {mode} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.setdefault("TZ", "UTC")
    for var in ("SMARTLIC_CLOUD_URL", "SMARTLIC_CONFIG", "SMARTLIC_KEYS", "SMARTLIC_DATA_DIR"):
        env.pop(var, None)
    env["SMARTLIC_CONFIG"] = "/nonexistent/smartlic-bench.toml"
    # Measure what an installed smartlic does: it runs from byte-compiled modules, as textual's
    # already are in site-packages. Without this, our own modules are compiled on every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
