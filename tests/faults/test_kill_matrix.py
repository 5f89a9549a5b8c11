"""The kill matrix: SIGKILL the CLI or the cloud at every crash point, then `smartlic sync` heals.

Real processes throughout: a `smartlic-cloud serve` process and the `smartlic` CLI as a subprocess.
After every case tests/faults/matrix.py:check asserts that nothing was lost or duplicated.

* kill-cli: the CLI dies at each point of core.crashpoints.POINTS, for activation and transfer
  (after-send with the cloud's ``delay`` fault, so the request is in flight).
* kill-cloud: the cloud dies right before / after its transaction commits
  (core.mock_cloud.crashpoints), then restarts on the same data folder and a new port.
* wire-fault: the cloud's injected faults (core.mock_cloud.faults) hit the operation.
* offline: the CLI dies inside the Add License transaction; the file still imports exactly once;
  it dies inside the offline return (then the portal credits the receipt), or at each point of a
  cancel-return; sync never adopts a license given up offline.
* large: 12,000 licenses in chunks of 500 (5000, the API's full size, under ``make faults``), the
  CLI killed between two chunks of activate and of transfer; sync sends the remaining chunks.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.crashpoints import POINTS
from core.mock_cloud.cli import main as cloud_main
from core.mock_cloud.crashpoints import POINTS as CLOUD_POINTS
from tests.faults.matrix import (
    OUTCOMES,
    A,
    CloudProc,
    Device,
    Outcome,
    add_customer_licenses,
    check,
    cloud_process,
)

SIGKILLED = -9
IN_FLIGHT = 1.5  # the cloud's delay while the CLI dies 0.3 s after sending
OPERATIONS = ("activate", "transfer")
# Faults for the wire-fault family: (name, fault spec for the admin call, extra CLI environment)
WIRE_FAULTS: list[tuple[str, dict[str, float], dict[str, str]]] = [
    ("fail=1 (503)", {"fail": 1}, {}),
    ("malformed=1", {"malformed": 1}, {}),
    ("bad_signature=2", {"bad_signature": 2}, {}),
    ("drop=1", {"drop": 1}, {}),
    ("drop=1, retries=1", {"drop": 1}, {"SMARTLIC_RETRIES": "1"}),
    ("duplicate=1", {"duplicate": 1}, {}),
    ("oversized=1", {"oversized": 1}, {}),
    ("skew=+1 day", {"skew": 86400}, {}),
    ("delay=2.5 > timeout 1", {"delay": 2.5}, {"SMARTLIC_TIMEOUT": "1"}),
]


@pytest.fixture(scope="module")
def shared_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProc]:
    """One cloud for the cases that do not kill it; each case takes licenses nobody used yet."""
    data = tmp_path_factory.mktemp("matrix") / "cloud"
    add_customer_licenses(data, 80)
    # A batch limit of one: every case of two licenses is two chunks, so between-chunks bites.
    with cloud_process(data, max_batch=1) as cloud:
        yield cloud


@pytest.fixture
def outcome_of() -> Iterator[list[Outcome]]:
    made: list[Outcome] = []
    started = time.monotonic()
    yield made
    for outcome in made:
        outcome.seconds = time.monotonic() - started


def new_outcome(made: list[Outcome], family: str, operation: str, point: str) -> Outcome:
    outcome = Outcome(family, operation, point)
    OUTCOMES.append(outcome)
    made.append(outcome)
    return outcome


def op_args(operation: str, ids: list[str]) -> tuple[str, ...]:
    return ("activate", A, *ids) if operation == "activate" else ("transfer", A, "--yes")


def committed(cloud: CloudProc, ids: list[str], before: dict[str, str | None]) -> bool:
    after = cloud.bindings()
    return any(after[i] != before[i] for i in ids)


def finish(device: Device, outcome: Outcome, operation: str) -> None:
    """`smartlic sync` with the cloud up, then every invariant."""
    sync = device.run("sync", "--json", SMARTLIC_RETRIES="1")
    if sync.returncode != 0:
        outcome.problems.append(f"sync failed: exit {sync.returncode}: {sync.stderr.strip()}")
    check(device, outcome, operation)
    assert outcome.healed, "\n".join(outcome.problems)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_kill_the_cli(
    operation: str, point: str, shared_cloud: CloudProc, tmp_path: Path, outcome_of
) -> None:
    outcome = new_outcome(outcome_of, "kill-cli", operation, point)
    device = Device(tmp_path / "device", shared_cloud)
    ids = shared_cloud.free_capacity(2)
    device.setup(activate=ids if operation == "transfer" else None)
    before = shared_cloud.bindings()
    env = {"SMARTLIC_CRASH_AT": point}
    if point == "after-send":
        env["SMARTLIC_CRASH_DELAY"] = "0.3"
        shared_cloud.set_faults(delay=IN_FLIGHT)
    try:
        done = device.run(*op_args(operation, ids), **env)
    finally:
        if point == "after-send":
            time.sleep(IN_FLIGHT)  # let the orphaned request reach the endpoint (and find no caller)
            shared_cloud.set_faults()
    outcome.exit_code = done.returncode
    outcome.cloud_committed = committed(shared_cloud, ids, before)
    finish(device, outcome, operation)
    on_path = not (operation == "transfer" and point == "mid-verification")  # transfers verify nothing
    assert done.returncode == (SIGKILLED if on_path else 0), done.stderr


@pytest.mark.parametrize("point", CLOUD_POINTS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_kill_the_cloud(operation: str, point: str, tmp_path: Path, outcome_of) -> None:
    outcome = new_outcome(outcome_of, "kill-cloud", operation, point)
    cloud = CloudProc(tmp_path / "cloud")
    try:
        cloud.start(crash_at=f"{point}:{operation}")
        device = Device(tmp_path / "device", cloud)
        ids = cloud.free_capacity(2)
        device.setup(activate=ids if operation == "transfer" else None)
        before = cloud.bindings()
        done = device.run(*op_args(operation, ids))
        outcome.exit_code = done.returncode
        cloud_exit = cloud.wait_dead()
        outcome.cloud_committed = committed(cloud, ids, before)
        cloud.start()  # same data folder, a new port: the device follows SMARTLIC_CLOUD_URL
        finish(device, outcome, operation)
    finally:
        cloud.kill()
    assert cloud_exit == SIGKILLED
    assert done.returncode == 3 and "Cannot reach the license cloud" in done.stderr, done.stderr
    assert outcome.cloud_committed == (point == "after-commit")


@pytest.mark.parametrize("fault", WIRE_FAULTS, ids=[f[0] for f in WIRE_FAULTS])
@pytest.mark.parametrize("operation", OPERATIONS)
def test_wire_fault(
    operation: str,
    fault: tuple[str, dict[str, float], dict[str, str]],
    shared_cloud: CloudProc,
    tmp_path: Path,
    outcome_of,
) -> None:
    name, faults, env = fault
    outcome = new_outcome(outcome_of, "wire-fault", operation, name)
    device = Device(tmp_path / "device", shared_cloud)
    ids = shared_cloud.free_capacity(2)
    device.setup(activate=ids if operation == "transfer" else None)
    before = shared_cloud.bindings()
    shared_cloud.set_faults(**faults)
    started = time.monotonic()
    try:
        done = device.run(*op_args(operation, ids), **env)
    finally:
        delay = faults.get("delay", 0)
        time.sleep(max(0.0, delay - (time.monotonic() - started)) + (0.3 if delay else 0))
        shared_cloud.set_faults()
    outcome.exit_code = done.returncode
    outcome.cloud_committed = committed(shared_cloud, ids, before)
    finish(device, outcome, operation)
    assert done.returncode in (0, 1, 3), done.stderr
    assert "Unexpected error" not in done.stderr and "Traceback" not in done.stderr


def test_kill_add_license_mid_transaction(tmp_path: Path, outcome_of) -> None:
    """An offline license file survives a kill inside its import, and imports exactly once."""
    outcome = new_outcome(outcome_of, "offline", "add-license", "mid-transaction")
    with cloud_process(tmp_path / "cloud") as cloud:
        device = Device(tmp_path / "device", cloud)
        codes = device.setup()
        request, response = tmp_path / "request.json", tmp_path / "response.json"
        device.ok("offline", "request", A, "-o", str(request))
        ids = cloud.free_capacity(2)
        licenses = [arg for i in ids for arg in ("--license", i)]
        data = str(cloud.data_dir)
        fulfil = ["portal", "fulfil", str(request), *licenses, "-o", str(response), "--data", data]
        assert cloud_main(fulfil) == 0

        killed = device.run("add-license", str(response), SMARTLIC_CRASH_AT="mid-transaction")
        outcome.exit_code = killed.returncode
        assert killed.returncode == SIGKILLED, killed.stderr
        assert device.rows("SELECT license_id FROM licenses") == []

        first = device.run("add-license", str(response), "--json")
        again = device.run("add-license", str(response), "--json")
        outcome.cloud_committed = all(cloud.bindings()[i] == codes[A] for i in ids)
        check(device, outcome, None)
        entries = device.ok("audit")["entries"]
        imports = [e for e in entries if e["operation"] == "add-license" and e["result"] == "ok"]
        if len(imports) != 1:
            outcome.problems.append(f"{len(imports)} add-license audit entries, expected 1")
            outcome.healed = False
        outcome.healed_by = "imported again, once"
    assert first.returncode == 0, first.stderr
    assert sorted(json.loads(first.stdout)["added"]) == sorted(ids)
    assert again.returncode == 1 and "request_not_outstanding" in again.stdout
    assert outcome.healed, "\n".join(outcome.problems)


def offline_activated(device: Device, cloud: CloudProc, tmp_path: Path, n: int) -> list[str]:
    """Request -> portal fulfil -> Add License on segment A: ``n`` licenses, the portal knows the key."""
    request, response = tmp_path / "request.json", tmp_path / "response.json"
    device.ok("offline", "request", A, "-o", str(request))
    ids = cloud.free_capacity(n)
    licenses = [arg for i in ids for arg in ("--license", i)]
    fulfil = ["portal", "fulfil", str(request), *licenses, "-o", str(response), "--data", str(cloud.data_dir)]
    assert cloud_main(fulfil) == 0
    device.ok("add-license", str(response))
    return ids


def credit(cloud: CloudProc, receipt: Path) -> int:
    return cloud_main(["portal", "return", str(receipt), "--data", str(cloud.data_dir)])


def test_kill_offline_return_then_credit(tmp_path: Path, outcome_of) -> None:
    """Killed inside the offline return: nothing changed. Done again, the receipt is out: sync does
    not adopt the licenses back; the portal credits it; sync sees the credit."""
    outcome = new_outcome(outcome_of, "offline", "return+credit", "mid-transaction")
    with cloud_process(tmp_path / "cloud") as cloud:
        device = Device(tmp_path / "device", cloud)
        device.setup()
        ids = offline_activated(device, cloud, tmp_path, 2)
        receipt = tmp_path / "receipt.json"
        killed = device.run("offline", "return", A, "-o", str(receipt), SMARTLIC_CRASH_AT="mid-transaction")
        outcome.exit_code = killed.returncode
        assert killed.returncode == SIGKILLED, killed.stderr
        assert sorted(r[0] for r in device.rows("SELECT license_id FROM licenses")) == sorted(ids)
        assert not receipt.exists()
        device.ok("offline", "return", A, "-o", str(receipt))
        synced = device.ok("sync")
        if synced["adopted"]:
            outcome.problems.append(f"sync adopted back licenses returned offline: {synced['adopted']}")
        assert credit(cloud, receipt) == 0
        outcome.cloud_committed = all(cloud.bindings()[i] is None for i in ids)
        synced = device.ok("sync")
        if sorted(synced["credited"]) != sorted(ids):
            outcome.problems.append(f"sync saw {synced['credited']} credited, expected {ids}")
        check(device, outcome, None)
        outcome.healed_by = "returned again; credited; sync saw it"
        outcome.healed = not outcome.problems
    assert outcome.healed, "\n".join(outcome.problems)


@pytest.mark.parametrize("point", ["after-journal", "after-cloud-commit", "mid-transaction", "after-commit"])
def test_kill_cancel_return(point: str, tmp_path: Path, outcome_of) -> None:
    """Killed anywhere in `offline cancel-return`: sync finishes it; the portal never credits the receipt."""
    outcome = new_outcome(outcome_of, "offline", "cancel-return", point)
    with cloud_process(tmp_path / "cloud") as cloud:
        device = Device(tmp_path / "device", cloud)
        codes = device.setup()
        ids = offline_activated(device, cloud, tmp_path, 2)
        receipt = tmp_path / "receipt.json"
        device.ok("offline", "return", A, "-o", str(receipt))
        killed = device.run("offline", "cancel-return", A, SMARTLIC_CRASH_AT=point)
        outcome.exit_code = killed.returncode
        assert killed.returncode == SIGKILLED, killed.stderr
        outcome.cloud_committed = point != "after-journal"
        finish(device, outcome, "offline-cancel-return")
        assert sorted(r[0] for r in device.rows("SELECT license_id FROM licenses")) == sorted(ids)
        assert all(cloud.bindings()[i] == codes[A] for i in ids)
        assert credit(cloud, receipt) == 1  # the receipt was voided by the cancel


LARGE = 12_000
# `make test`: chunks of 500 (24 of them); `make faults` also runs the API's full size once.
LARGE_BATCH = 5000 if int(os.environ.get("SMARTLIC_FUZZ_SCALE", "1")) > 1 else 500


@pytest.fixture(scope="module")
def large_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProc]:
    data = tmp_path_factory.mktemp("large") / "cloud"
    add_customer_licenses(data, 2 * LARGE, devices=1)
    with cloud_process(data, max_batch=LARGE_BATCH) as cloud:
        yield cloud


@pytest.mark.parametrize("operation", OPERATIONS)
def test_kill_between_chunks_of_a_large_batch(
    operation: str, large_cloud: CloudProc, tmp_path: Path, outcome_of
) -> None:
    """12,000 licenses: the CLI dies after the second chunk; sync sends the rest, once each."""
    outcome = new_outcome(outcome_of, "large", operation, f"between-chunks {LARGE}/{LARGE_BATCH}")
    device = Device(tmp_path / "device", large_cloud)
    ids = large_cloud.free_capacity(LARGE)
    started = time.monotonic()
    device.setup(activate=ids if operation == "transfer" else None)
    setup_seconds = time.monotonic() - started
    before = large_cloud.bindings()
    started = time.monotonic()
    done = device.run(*op_args(operation, ids), SMARTLIC_CRASH_AT="between-chunks", SMARTLIC_CRASH_SKIP="1")
    killed_after = time.monotonic() - started
    outcome.exit_code = done.returncode
    outcome.cloud_committed = committed(large_cloud, ids, before)
    open_chunks = len(device.rows("SELECT op_id FROM journal"))
    started = time.monotonic()
    finish(device, outcome, operation)
    healed_in = time.monotonic() - started
    outcome.note = (
        f"{LARGE} licenses, chunks of {LARGE_BATCH}: set-up {setup_seconds:.1f} s, killed after "
        f"{killed_after:.1f} s with {open_chunks} chunks open, sync + checks {healed_in:.1f} s"
    )
    assert done.returncode == SIGKILLED, done.stderr
    assert open_chunks == math.ceil(LARGE / LARGE_BATCH) - 2
    held = {r[0] for r in device.rows("SELECT license_id FROM licenses")}
    assert held == (set(ids) if operation == "activate" else set())
