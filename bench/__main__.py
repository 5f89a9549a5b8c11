"""``python -m bench``: run every benchmark and print one table (``--smoke``: tiny and quick).

Every figure is the median of several runs with its spread, and is compared with a baseline
measured in the same run: a bare Textual app, the same screen with 100 rows, a bare executemany,
one HTTP round trip.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import ROOT, Report, Row, Sample, child, child_env, fmt, ratio_row
from bench.data import make_data_dir

SIZE = "120x40"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, one run: the scripts still run")
    parser.add_argument("--runs", type=int, default=None, help="runs per benchmark (default 5; smoke 1)")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["startup", "lists", "stalls", "wire", "store", "terminal", "cli"],
        help="run only these sections",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke
    runs = args.runs or (1 if smoke else 5)
    scale = {
        "licenses": 250 if smoke else 100_000,
        "devices": 250 if smoke else 20_000,
        "small": 100,
        "presses": 6 if smoke else 200,
        "batch": 20 if smoke else 500,
        "store_licenses": 20 if smoke else 500,
        "store_devices": 400 if smoke else 20_000,
    }
    sections = args.only or ["startup", "lists", "stalls", "wire", "store", "terminal", "cli"]
    report = Report()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smartlic-bench-") as tmp:
        work = Path(tmp)
        small = work / "small"
        large = work / "large"
        print(f"bench: {runs} runs per figure{' (smoke)' if smoke else ''}; making data…", file=sys.stderr)
        facts = make_data_dir(small, cloud_licenses=scale["small"], devices=scale["small"])
        if "lists" in sections or "wire" in sections:
            make_data_dir(large, cloud_licenses=scale["licenses"], devices=scale["devices"])
        for section in sections:
            print(f"bench: {section}…", file=sys.stderr)
            if section == "startup":
                startup(small, runs, report)
            elif section == "lists":
                lists(small, large, facts["install_code"], runs, scale, report)
            elif section == "wire":
                from bench.wire import listing, round_trips

                round_trips(work, runs, report, batch=scale["batch"])
                listing(large, max(1, runs // 2) if not smoke else 1, report, scale["licenses"])
            elif section == "store":
                from bench.store import store_bench

                store_bench(work, runs, report, scale["store_licenses"], scale["store_devices"])
            elif section == "stalls":
                from bench.stalls import stall_rows

                stall_rows(work, runs, report, scale["store_licenses"], scale["store_devices"], SIZE)
            elif section == "terminal":
                terminal(small, min(runs, 3), report)
            elif section == "cli":
                from bench.cli import cli_rows

                cli_rows(small, runs, report)
    report.notes.append(
        f"bench: {time.perf_counter() - started:.0f} s in all, {runs} runs per figure"
        " (median ±half the range)"
    )
    report.print()
    return 0


# --- start-up ------------------------------------------------------------------------------------


def _startup_once(args: list[str]) -> float:
    """Wall time from process start to the child's READY (after its first paint with data)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.child", *args],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    ready = time.perf_counter() - start
    out = proc.stdout.read()  # not communicate(): it would skip what readline() buffered
    err = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=60)
    if line.strip() != "READY" or proc.returncode:
        raise RuntimeError(f"start-up child {args} failed: {line!r} {err[-2000:]}")
    _startup_once.last = out.strip().splitlines()[-1]  # type: ignore[attr-defined]
    return ready


def startup(data_dir: Path, runs: int, report: Report) -> None:
    import json

    from bench.stalls import add_stall_row

    bare, ours, bare_key, ours_key, stall = (Sample([]) for _ in range(5))
    _startup_once(["startup-ours", str(data_dir), SIZE])  # warm the file cache and the store
    for _ in range(runs):
        bare.values.append(_startup_once(["startup-bare", SIZE]))
        ours.values.append(_startup_once(["startup-ours", str(data_dir), SIZE]))
        stall.values.append(json.loads(_startup_once.last)["stall"])  # type: ignore[attr-defined]
    loaded = json.loads(_startup_once.last)["modules"]  # type: ignore[attr-defined]
    for _ in range(runs):
        bare_key.values.append(_startup_once(["firstkey-bare", SIZE]))
        ours_key.values.append(_startup_once(["firstkey-ours", str(data_dir), SIZE]))
    report.rows.append(ratio_row("start-up: process start -> Manage Licenses painted", bare, ours, 1.3))
    report.rows.append(
        ratio_row(
            "first key handled: process start -> c shows Manage Customer Accounts (bare: a key pushes"
            " a screen)",
            bare_key,
            ours_key,
            1.3,
        )
    )
    add_stall_row(report, "the first paint", stall)
    report.notes.append(
        "start-up: heavy modules loaded before first paint: " + (", ".join(loaded) if loaded else "none")
    )
    report.notes.append("start-up: python -X importtime, self time by package: " + importtime_top())


def importtime_top(count: int = 8) -> str:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import tui.cli, tui.app, core.wiring"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    totals: dict[str, int] = defaultdict(int)
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)", line)
        if match:
            name = match.group(3)
            top = name.split(".")[0]
            key = ".".join(name.split(".")[:2]) if top in ("core", "tui") else top
            totals[key] += int(match.group(1))
    total = sum(totals.values())
    top = sorted(totals.items(), key=lambda kv: -kv[1])[:count]
    return f"total {total / 1000:.0f} ms; " + ", ".join(f"{k} {v / 1000:.0f} ms" for k, v in top)


# --- large lists ---------------------------------------------------------------------------------


def lists(small: Path, large: Path, install_code: str, runs: int, scale: dict, report: Report) -> None:
    cases = [("download", "licenses", scale["licenses"]), ("devices", "devices", scale["devices"])]
    for screen, what, count in cases:
        small_total = _total(screen, small)
        large_total = _total(screen, large)

        def run(data: Path, total: int, screen: str = screen) -> dict:
            return child("lists", screen, str(data), install_code, str(total), SIZE, str(scale["presses"]))

        base_runs, our_runs = [], []
        for _ in range(runs):
            base_runs.append(run(small, small_total))
            our_runs.append(run(large, large_total))

        def sample(results: list[dict], key: str, unit: str = "s") -> Sample:
            return Sample([r[key] for r in results if r.get(key) is not None], unit)

        label = f"{screen}: {count:,} {what} vs {scale['small']}"
        report.rows.append(
            ratio_row(
                f"{label}: first paint",
                sample(base_runs, "first_paint"),
                sample(our_runs, "first_paint"),
                1.5,
            )
        )
        report.rows.append(
            ratio_row(
                f"{label}: CPU per key (down/space/pgdn)",
                sample(base_runs, "per_key"),
                sample(our_runs, "per_key"),
                1.3,
            )
        )
        report.rows.append(
            ratio_row(
                f"{label}: peak RSS", sample(base_runs, "rss_mb", "MB"), sample(our_runs, "rss_mb", "MB"), 2
            )
        )
        base_f, ours_f = sample(base_runs, "per_filter_key"), sample(our_runs, "per_filter_key")
        if ours_f.values and base_f.values:
            row = ratio_row(f"{label}: filter CPU per keystroke (extra ≤ 1 frame)", base_f, ours_f, None)
            row.passed = ours_f.median - base_f.median <= 1 / 60
            report.rows.append(row)
        else:
            report.rows.append(Row(f"{label}: filter by typing", "-", "no filter", None, None, passed=False))
        if screen == "download":
            from bench.stalls import add_stall_row

            add_stall_row(report, f"opening Download for {count:,} licenses", sample(our_runs, "stall"))
            last = Sample([r["last_page"] for r in our_runs if r.get("last_page") is not None])
            first = sample(our_runs, "first_paint")
            pages = our_runs[-1]["pages"]
            report.rows.append(
                Row(
                    f"download {count:,}: first paint before the last page arrives",
                    f"last of {pages} pages {last.text()}",
                    f"first paint {first.text()}",
                    first.median / last.median if last.median else None,
                    1.0 if pages > 1 else None,  # one page (smoke): nothing streams, nothing to judge
                    passed=all(r["first_paint"] < r["last_page"] for r in our_runs) if pages > 1 else None,
                )
            )
            report.rows.append(
                Row(
                    f"download {count:,}: all rows loaded",
                    sample(base_runs, "loaded").text(),
                    sample(our_runs, "loaded").text(),
                    None,
                    None,
                )
            )


def _total(screen: str, data_dir: Path) -> int:
    """How many rows the screen should end up with (available licenses / the segment's devices)."""
    import asyncio

    from bench.data import SEGMENT, service_for

    service = service_for(data_dir)

    async def count() -> int:
        try:
            if screen == "download":
                return len((await service.cloud_licenses(SEGMENT)).licenses)
            return len(service.devices(SEGMENT))
        finally:
            await service.aclose()

    return asyncio.run(count())


# --- terminal bytes ------------------------------------------------------------------------------


def terminal(data_dir: Path, runs: int, report: Report) -> None:
    for size in ("80x24", "120x40"):
        bare = [child("terminal", "bare", "-", size) for _ in range(runs)]
        ours = [child("terminal", "ours", str(data_dir), size) for _ in range(runs)]
        b_start = Sample([r["startup"] for r in bare], "B")
        o_start = Sample([r["startup"] for r in ours], "B")
        report.rows.append(ratio_row(f"terminal {size}: start-up bytes vs bare app", b_start, o_start, None))
        paint = Sample([r["full_paint"] for r in ours], "B")
        cursor = Sample([r["cursor50"] / 50 for r in ours], "B")
        report.rows.append(
            Row(
                f"terminal {size}: bytes per cursor move (50) / one full paint",
                f"full paint {paint.text()}",
                f"{cursor.text()} (50 moves {fmt(cursor.median * 50, 'B')})",
                cursor.median / paint.median,
                0.25,
            )
        )
        # In full paints, so that a busier screen is not blamed for having more to draw.
        b_modal = Sample([r["modal"] / r["full_paint"] for r in bare], "x")
        o_modal = Sample([r["modal"] / r["full_paint"] for r in ours], "x")
        row = ratio_row(
            f"terminal {size}: open+close a modal ({ours[-1]['modal_screen']}), in full paints, vs bare",
            b_modal,
            o_modal,
            1.3,
        )
        report.rows.append(row)


if __name__ == "__main__":
    raise SystemExit(main())
