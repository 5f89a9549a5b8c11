"""The event loop never stalls: the longest lateness of a 10 ms timer during the TUI's heavy steps.

In a child process (``python -m bench.child stalls DATA CODE SIZE``): ACTIVATE of every license
the cloud offers (the bench makes 500), provisioning every device (20,000), a refresh of Manage
Licenses while two other sessions (processes) write to the store, and Transfer to Cloud of them all.
The first paint and opening Download for 100,000 licenses are measured by their own children.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common import ROOT, Report, Row, Sample, child, child_env
from bench.data import SEGMENT, add_cloud_licenses, add_devices, make_data_dir, settings_for

LIMIT = 0.05
"""The longest stall allowed: 50 ms."""

STEPS = ("activate", "provision", "refresh", "transfer")


def prepare(data_dir: Path, licenses: int, devices: int) -> dict:
    """``licenses`` capacity licenses in the cloud that together license all ``devices``."""
    facts = make_data_dir(data_dir, active=0)
    settings = settings_for(data_dir)
    add_cloud_licenses(
        settings.embedded_cloud_dir, uuid.UUID(facts["customer_id"]), licenses, max(1, devices // licenses)
    )
    add_devices(settings.store_path, facts["install_code"], devices)
    return facts


def stall_rows(work: Path, runs: int, report: Report, licenses: int, devices: int, size: str) -> None:
    data_dir = work / "stalls"
    facts = prepare(data_dir, licenses, devices)
    results = [child("stalls", str(data_dir), facts["install_code"], size) for _ in range(runs)]
    names = {
        "activate": f"ACTIVATE of {results[-1]['activated']:,} licenses",
        "provision": f"provisioning {results[-1]['provisioned']:,} devices",
        "refresh": "a refresh of Manage Licenses, two sessions writing",
        "transfer": f"Transfer to Cloud of {results[-1]['returned']:,} licenses",
    }
    for step in STEPS:
        add_stall_row(report, names[step], Sample([r[step] for r in results]))


def add_stall_row(report: Report, what: str, sample: Sample) -> None:
    report.rows.append(
        Row(
            f"stall: longest event-loop stall during {what}",
            f"limit {LIMIT * 1000:.0f} ms",
            sample.text(),
            sample.median / LIMIT,
            1,
            passed=sample.median <= LIMIT,
        )
    )


def stalls(data_dir: Path, install_code: str, size: tuple[int, int]) -> dict:
    import asyncio

    from textual.pilot import Pilot

    from bench.child import Drift
    from bench.data import service_for
    from tui.app import SmartlicApp
    from tui.screens.devices import DevicesScreen
    from tui.screens.download import DownloadScreen

    service = service_for(data_dir)
    app = SmartlicApp(service, settings_for(data_dir))
    app.animation_level = "none"
    result: dict = {}
    pilot: Pilot[int] | None = None  # the app's Pilot, once main() has started it

    async def until(test, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not test():
            if time.monotonic() > deadline:
                raise TimeoutError(f"bench stalls: gave up waiting ({app.screen!r})")
            assert pilot is not None
            await pilot.pause(0.005)

    async def main() -> None:
        nonlocal pilot
        drift = Drift().start()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            download = DownloadScreen(install_code)
            app.push_screen(download)
            await until(lambda: download.loaded)
            await pilot.press("a")
            await pilot.pause()
            result["activated"] = len(download.selection)
            drift.reset()
            await pilot.press("A")
            await until(lambda: not download.activating and bool(download.query_one("#result").display))
            result["activate"] = drift.worst
            await pilot.press("b")

            devices = DevicesScreen(install_code)
            app.push_screen(devices)
            await until(lambda: app.screen is devices and not devices.streaming and bool(devices.devices))
            await pilot.pause()
            drift.reset()
            await pilot.press("P")
            await until(lambda: bool(devices.query_one("#result").display))
            result["provision"] = drift.worst
            result["provisioned"] = sum(1 for d in devices.devices.values() if d.state.value == "provisioned")
            await pilot.press("b")
            await pilot.pause()

            writers = [
                subprocess.Popen(
                    [sys.executable, "-m", "bench.child", "writer", str(data_dir), "30"],
                    cwd=ROOT,
                    env=child_env(),
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(2)
            ]
            try:
                # Off the loop: the bench's own waiting must not count as the app's stall.
                pipes = [p.stdout for p in writers if p.stdout is not None]
                ready = await asyncio.to_thread(lambda: [pipe.readline().strip() for pipe in pipes])
                assert ready == ["WRITING"] * len(writers), ready
                await pilot.pause(0.05)
                drift.reset()
                for _ in range(5):
                    await pilot.press("r")
                    await pilot.pause(0.05)
                result["refresh"] = drift.worst
            finally:
                for proc in writers:
                    proc.terminate()
                await asyncio.to_thread(lambda: [p.wait(timeout=30) for p in writers])

            home = app.screen
            result["returned"] = len(getattr(home, "rows", {}))
            drift.reset()
            await pilot.press("t")
            await until(lambda: app.screen is not home)
            await pilot.press("y")
            await until(lambda: str(home.query_one("#status").render()).startswith("Transferred"))
            result["transfer"] = drift.worst
            drift.stop()
        await service.aclose()

    asyncio.run(main())
    return result


def writer(data_dir: Path, seconds: float) -> None:
    """Another session: sets the Note of each active license in turn, one write every 20 ms."""
    from bench.data import service_for

    service = service_for(data_dir)
    rows = service.license_rows(SEGMENT)
    print("WRITING", flush=True)
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end and rows:
        row = rows[count % len(rows)]
        # A busy store or a refusal: another try next time.
        with contextlib.suppress(Exception):
            service.set_note(row.license_id, f"written by another session {count}")
        count += 1
        time.sleep(0.02)
