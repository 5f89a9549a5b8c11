"""Concurrency on one controller store, with real processes and a real cloud process.

* Two CLI processes and a service instance (standing in for the TUI) work on one store at once, in
  loops bounded by count and time: nothing is lost (every note appended, every audit entry kept),
  the store stays intact and the journal ends empty.
* Segments A and B (both with the demo Customer ID) race to activate the same licenses: exactly
  one wins each license, and device and cloud agree on which.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.models import InstallView
from tests.faults.matrix import (
    SEGMENTS,
    A,
    CloudProc,
    Device,
    Outcome,
    add_customer_licenses,
    check,
    cloud_process,
)

B = SEGMENTS[1]
ROUNDS = 4
NOTES = 30
DEADLINE = 60.0  # seconds for each loop, whatever the machine


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudProc]:
    data = tmp_path / "cloud"
    add_customer_licenses(data, 12)
    with cloud_process(data) as proc:
        yield proc


def spawn(device: Device, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args, "--json"],
        env=device.env(SMARTLIC_RETRIES="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_clis_and_a_service_on_one_store(cloud: CloudProc, tmp_path: Path) -> None:
    device = Device(tmp_path / "device", cloud)
    on_a = cloud.free_capacity(2)
    device.setup(activate=on_a)
    on_b = cloud.free_capacity(1)
    failures: list[str] = []
    runs: dict[str, int] = {"activate": 0, "transfer": 0, "sync": 0, "provision": 0}
    stop_at = time.monotonic() + DEADLINE

    def cli(*args: str) -> None:
        done = device.run(*args, "--json", SMARTLIC_RETRIES="1")
        if done.returncode != 0:
            failures.append(f"smartlic {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
        else:
            runs[args[0]] += 1

    def first_cli() -> None:  # activates and gives back a license on B, over and over
        for _ in range(ROUNDS):
            if time.monotonic() > stop_at:
                return
            cli("activate", B, *on_b)
            cli("transfer", B, "--yes")

    def second_cli() -> None:  # provisions on A and syncs everything, over and over
        for _ in range(ROUNDS):
            if time.monotonic() > stop_at:
                return
            cli("provision", A, "--all")
            cli("sync")

    threads = [threading.Thread(target=first_cli), threading.Thread(target=second_cli)]
    for thread in threads:
        thread.start()

    async def tui() -> int:  # the service appends to a license note, one mark at a time
        written = 0
        async with device.service() as svc:
            license_id = uuid.UUID(on_a[0])
            for n in range(NOTES):
                if time.monotonic() > stop_at:
                    break
                rows = {r.license_id: r for r in svc.license_rows(A)}
                svc.set_note(license_id, rows[license_id].note + chr(ord("a") + n % 26))
                written += 1
                await asyncio.sleep(0.02)
        return written

    try:
        notes_written = asyncio.run(tui())
    finally:
        for thread in threads:
            thread.join(timeout=DEADLINE + 60)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures

    # No lost update: every mark the service wrote is in the note, each CLI op left its audit entries.
    note = next(r for r in device.ok("licenses")["licenses"] if r["license_id"] == on_a[0])["note"]
    assert len(note) == notes_written and notes_written > 0
    entries = device.ok("audit")["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    finished = {
        op: sum(e["operation"] == op and e["result"] in ("ok", "resumed by sync: ok") for e in entries)
        for op in ("activate", "transfer")
    }
    # An op sync finished for a running CLI is logged twice (by each); never fewer than the runs.
    assert finished["activate"] >= runs["activate"] + 1  # + the setup activation
    assert finished["transfer"] >= runs["transfer"]
    outcome = Outcome("concurrent", "cli+cli+tui", "one store")
    check(device, outcome, None)
    assert outcome.healed, outcome.problems
    assert sorted(r["license_id"] for r in device.ok("licenses")["licenses"]) == sorted(on_a)


def test_segments_race_for_the_same_licenses(cloud: CloudProc, tmp_path: Path) -> None:
    device = Device(tmp_path / "device", cloud)
    codes = device.setup()
    for _ in range(3):
        wanted = cloud.free_capacity(3)
        racers = [spawn(device, "activate", name, *wanted) for name in (A, B)]
        results = [proc.communicate(timeout=120) for proc in racers]
        exits = [proc.returncode for proc in racers]
        assert set(exits) <= {0, 1}, results
        bindings = cloud.bindings()
        owners = {bindings[i] for i in wanted}
        assert None not in owners, "a license the cloud gave to nobody"
        held = {name: {r["license_id"] for r in device.ok("licenses", name)["licenses"]} for name in (A, B)}
        for license_id in wanted:
            winners = [name for name in (A, B) if license_id in held[name]]
            assert len(winners) == 1, (license_id, winners)
            assert bindings[license_id] == codes[winners[0]]
        loser_output = "".join(out for (out, _err), code in zip(results, exits, strict=True) if code == 1)
        if len(set(exits)) == 2:
            assert "license_taken" in loser_output
    outcome = Outcome("concurrent", "activate A+B", "same licenses")
    check(device, outcome, None)
    assert outcome.healed, outcome.problems


def test_sync_does_not_act_on_a_view_older_than_the_store(cloud: CloudProc, tmp_path: Path) -> None:
    """Another session activates (or returns) while sync is asking the cloud: the stale view loses.

    Deterministic form of a race the loops above can hit under load: sync fetches the cloud's view
    of A, another process then activates licenses on A end to end, and only then does sync write.
    """
    device = Device(tmp_path / "device", cloud)
    device.setup()
    wanted = [uuid.UUID(i) for i in cloud.free_capacity(2)]

    async def race() -> None:
        async with device.service() as syncing, device.service() as other:
            real_view = syncing.context.cloud.install_view

            async def view_then_other_session_activates(
                customer_id: uuid.UUID, install_code: str
            ) -> InstallView:
                view = await real_view(customer_id, install_code)
                if install_code == syncing.segment(A).install_code:
                    await other.activate(A, wanted)
                return view

            syncing.context.cloud.install_view = view_then_other_session_activates  # type: ignore[method-assign]
            await syncing.sync()

    asyncio.run(race())
    outcome = Outcome("concurrent", "sync+activate", "stale view")
    check(device, outcome, None)
    assert outcome.healed, outcome.problems
