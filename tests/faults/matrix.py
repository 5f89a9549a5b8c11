"""The fault-safety scenario runner: real processes, SIGKILL, then `smartlic sync`, then the invariants.

A :class:`CloudProc` is a `smartlic-cloud serve` process that can be SIGKILLed and restarted on the
same data folder (a new port each time). A :class:`Device` is one controller data folder; its setup
runs in-process (fast), every step under test runs the real `smartlic` CLI as a subprocess.

:func:`check` asserts, for one device against the cloud:

* every segment's active licenses on the device equal the cloud's view of its install code
  (``GET /api/v1/customers/{cid}/installs/{ic}/licenses``, cross-checked with the cloud's SQLite);
  a license the cloud binds to the segment but the device lacks is *lost*, one the device uses
  without the cloud binding it there is *duplicated* (it could be active in two places);
* no license is active on two segments; licensed devices never exceed the cloud-granted capacity;
* the journal is empty, ``PRAGMA integrity_check`` is ok, the audit chain verifies, and the audit
  log shows the interrupted operation ("started") and how it ended or was healed.

Every case appends an :class:`Outcome` to :data:`OUTCOMES`; tests/faults/conftest.py prints them.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from core.clock import utc_now
from core.device_keys import device_signer
from core.mock_cloud.datadir import open_data_dir
from core.mock_cloud.db import LicenseRecord
from core.models import LicenseKind
from core.service import LicenseService
from core.settings import Settings
from core.signing import Signer
from core.store import Store
from core.views import AuditCheck
from core.wiring import build_service
from tests.support.device_signing import sign

SEGMENTS = ("SmartServer-A", "SmartServer-B")
A = SEGMENTS[0]
START_TIMEOUT = 30.0
CLI_TIMEOUT = 90.0


@dataclass
class Outcome:
    family: str
    operation: str
    point: str
    exit_code: int | None = None
    cloud_committed: bool | None = None
    healed_by: str = ""
    lost: int = 0
    duplicated: int = 0
    healed: bool = False
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    note: str = ""


OUTCOMES: list[Outcome] = []


# --- the cloud process ---------------------------------------------------------------------------


def add_customer_licenses(data_dir: Path, count: int, devices: int = 25) -> None:
    """Seed the cloud folder and give the demo customer ``count`` more capacity licenses.

    Lets many cases share one cloud process: each takes licenses nobody has used yet.
    """
    data = open_data_dir(data_dir, clock=utc_now)
    try:
        with data.db.write() as tx:
            partner = tx.partners()[0]
            for _ in range(count):
                tx.add_license(
                    LicenseRecord(
                        license_id=uuid.uuid4(),
                        partner_id=partner.partner_id,
                        customer_id=data.demo_customer_id,
                        kind=LicenseKind.CAPACITY,
                        devices=devices,
                        transfer_date=date.today(),
                    )
                )
    finally:
        data.db.close()


class CloudProc:
    """`smartlic-cloud serve` on 127.0.0.1, a free port, and ``data_dir``; stderr goes to a log file."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.public_key = Path()
        self.customer_id = ""
        self.starts = 0
        self.max_batch: int | None = None

    def start(
        self, *, crash_at: str | None = None, faults: str | None = None, max_batch: int | None = None
    ) -> CloudProc:
        assert self.proc is None or self.proc.poll() is not None, "the cloud is running already"
        env = {k: v for k, v in os.environ.items() if k != "SMARTLIC_CLOUD_CRASH_AT"}
        if crash_at:
            env["SMARTLIC_CLOUD_CRASH_AT"] = crash_at
        cmd = [sys.executable, "-m", "core.mock_cloud.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
        # --admin: the wire-fault cases set their faults through /api/v1/admin/faults.
        cmd += ["--data", str(self.data_dir), "--log-level", "critical", "--admin"]
        if faults:
            cmd += ["--faults", faults]
        if max_batch:
            cmd += ["--max-batch", str(max_batch)]
        self.max_batch = max_batch
        self.starts += 1
        log = (self.data_dir.parent / f"{self.data_dir.name}-{self.starts}.log").open("w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        log.close()
        fields = self._read_header()
        self.url = fields["url"]
        self.public_key = Path(fields["public-key"])
        self.customer_id = fields["demo-customer-id"]
        self._wait_ready()
        return self

    def _read_header(self) -> dict[str, str]:
        assert self.proc is not None and self.proc.stdout is not None
        fields: dict[str, str] = {}
        deadline = time.monotonic() + START_TIMEOUT
        while len(fields) < 3:
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("the cloud did not start in time")
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(timeout=10)
                raise RuntimeError(f"the cloud did not start (exit {self.proc.returncode})")
            key, _, value = line.strip().partition(": ")
            fields[key] = value
        return fields

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                raise RuntimeError("the cloud never answered its health check")
            time.sleep(0.05)

    def wait_dead(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def set_faults(self, **faults: float) -> None:
        httpx.post(f"{self.url}/api/v1/admin/faults", json=faults, timeout=10).raise_for_status()

    def view(self, install_code: str, signer: Signer) -> dict[str, dict[str, Any]]:
        """The cloud's view of the install code (asked as its controller): license id -> signed payload."""
        request = httpx.Request(
            "GET", f"{self.url}/api/v1/customers/{self.customer_id}/installs/{install_code}/licenses"
        )
        sign(request, signer, install_code, utc_now())
        with httpx.Client(timeout=10) as client:
            answer = client.send(request)
        answer.raise_for_status()
        return {d["payload"]["license_id"]: d["payload"] for d in answer.json()["documents"]}

    def bindings(self) -> dict[str, str | None]:
        """license id -> install code, straight from the cloud's SQLite (read-only)."""
        with _sqlite(self.data_dir / "cloud.db") as db:
            return dict(db.execute("SELECT license_id, install_code FROM licenses"))

    def restart(self) -> CloudProc:
        """Start again on the same data folder (and batch limit) after a kill."""
        return self.start(max_batch=self.max_batch)

    def free_capacity(self, n: int) -> list[str]:
        with _sqlite(self.data_dir / "cloud.db") as db:
            rows = db.execute(
                "SELECT license_id FROM licenses WHERE customer_id = ? AND install_code IS NULL "
                "AND earmarked_install_code IS NULL AND kind = 'capacity' ORDER BY created_seq LIMIT ?",
                (self.customer_id, n),
            ).fetchall()
        assert len(rows) == n, "the cloud ran out of free licenses for the matrix"
        return [r[0] for r in rows]


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def cloud_process(data_dir: Path, **start: Any) -> Iterator[CloudProc]:
    cloud = CloudProc(data_dir)
    try:
        yield cloud.start(**start)
    finally:
        cloud.kill()


# --- the controller -----------------------------------------------------------------------------


class Device:
    """One controller data folder, driven by the real CLI (and set up in-process)."""

    def __init__(self, data_dir: Path, cloud: CloudProc) -> None:
        self.data_dir = data_dir
        self.cloud = cloud

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTLIC_")}
        env.update(
            SMARTLIC_DATA_DIR=str(self.data_dir),
            SMARTLIC_CLOUD_URL=self.cloud.url,
            SMARTLIC_RETRIES="0",
            SMARTLIC_TIMEOUT="10",
        )
        env.update(extra)
        return env

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui.cli", *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
        )

    def ok(self, *args: str, **env: str) -> dict[str, Any]:
        done = self.run(*args, "--json", **env)
        assert done.returncode == 0, f"smartlic {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
        return json.loads(done.stdout)

    def ok_together(self, *commands: tuple[str, ...]) -> list[dict[str, Any]]:
        """Several read-only commands at once (the matrix runs on two cores); each must exit 0."""
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tui.cli", *args, "--json"],
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args in commands
        ]
        answers = []
        try:
            for args, proc in zip(commands, procs, strict=True):
                out, err = proc.communicate(timeout=CLI_TIMEOUT)
                assert proc.returncode == 0, f"smartlic {' '.join(args)}: exit {proc.returncode}\n{err}"
                answers.append(json.loads(out))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return answers

    @asynccontextmanager
    async def service(self) -> AsyncIterator[LicenseService]:
        svc = build_service(
            Settings(data_dir=self.data_dir, cloud_url=self.cloud.url, retries=1, timeout=10), face="test"
        )
        try:
            yield svc
        finally:
            await svc.aclose()

    def setup(self, activate: list[str] | None = None) -> dict[str, str]:
        """Trust the cloud, give both segments the demo Customer ID; optionally activate on A.

        Returns segment name -> install code.
        """

        async def run() -> dict[str, str]:
            async with self.service() as svc:
                svc.trust_add(self.cloud.public_key.read_bytes())
                for name in SEGMENTS:
                    svc.set_customer_id(name, self.cloud.customer_id)
                if activate:
                    result = await svc.activate(A, [uuid.UUID(i) for i in activate])
                    assert not result.failed, result.failed
                return {s.name: s.install_code for s in svc.segments()}

        return asyncio.run(run())

    def audit_verify(self) -> AuditCheck:
        async def run() -> AuditCheck:
            async with self.service() as svc:
                return svc.audit_verify()

        return asyncio.run(run())

    def signer(self, install_code: str) -> Signer:
        """The controller's own key of ``install_code`` (made now if it never talked to the cloud)."""
        store = Store.open(Settings(data_dir=self.data_dir).store_path, clock=utc_now)
        try:
            with store.write() as tx:
                return device_signer(tx, install_code)
        finally:
            store.close()

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        with _sqlite(self.data_dir / "smartlic.db") as db:
            return db.execute(sql, params).fetchall()


# --- the invariants ---------------------------------------------------------------------------


def check(device: Device, outcome: Outcome, operation: str | None, *, cloud_up: bool = True) -> None:
    """Fill ``outcome`` (lost, duplicated, healed_by, problems) from the device and the cloud."""
    problems = outcome.problems
    cloud = device.cloud
    codes = dict(device.rows("SELECT name, install_code FROM segments"))
    bindings = cloud.bindings()
    listed_answer, audit_answer = device.ok_together(("licenses",), ("audit",))
    listed = listed_answer["licenses"]
    active: dict[str, set[str]] = {name: set() for name in codes}
    for row in listed:
        if row["status"] != "Returning to cloud":
            active[row["segment_name"]].add(row["license_id"])
    seen: dict[str, str] = {}
    for name, ids in active.items():
        for license_id in ids:
            if license_id in seen:
                problems.append(f"{license_id} active on {seen[license_id]} and {name}")
                outcome.duplicated += 1
            seen[license_id] = name
    for name, code in codes.items():
        in_db = {i for i, ic in bindings.items() if ic == code}
        view = cloud.view(code, device.signer(code)) if cloud_up else {i: {} for i in in_db}
        if set(view) != in_db:
            problems.append(f"{name}: the cloud's API and database disagree: {set(view) ^ in_db}")
        lost = set(view) - active[name]
        extra = active[name] - set(view)
        outcome.lost += len(lost)
        outcome.duplicated += len(extra)
        if lost:
            problems.append(f"{name}: the cloud binds {sorted(lost)} here but the device lacks them")
        if extra:
            problems.append(f"{name}: the device uses {sorted(extra)} the cloud does not bind here")
        if cloud_up:
            granted = sum(p["devices"] for p in view.values() if p["kind"] == "capacity")
            (licensed,) = device.rows(
                "SELECT count(*) FROM devices WHERE install_code = ? AND state != 'unlicensed'", code
            )[0]
            if licensed > granted:
                problems.append(f"{name}: {licensed} devices licensed, the cloud granted {granted}")
    if device.rows("SELECT op_id FROM journal"):
        problems.append("the journal is not empty")
    if device.rows("PRAGMA integrity_check") != [("ok",)]:
        problems.append("the store fails PRAGMA integrity_check")
    verify = device.audit_verify()
    if not verify.ok:
        problems.append(f"the audit chain does not verify: {verify.message}")
    if operation is not None:
        outcome.healed_by = _audit_story(audit_answer["entries"], operation, problems)
    outcome.healed = not problems


def _audit_story(entries: list[dict[str, Any]], operation: str, problems: list[str]) -> str:
    """How the audit log tells the interrupted operation ended: its last result, and any sync heal."""
    started = [e for e in entries if e["operation"] == operation and e["result"] == "started"]
    if not started:
        problems.append(f"the audit log has no started {operation}")
        return ""
    op_id = started[-1]["detail"]["op_id"]
    later = [e for e in entries if e["seq"] > started[-1]["seq"]]
    closing = [e for e in later if e["detail"].get("op_id") == op_id and e["result"] != "started"]
    healed = [e for e in later if e["operation"] == "sync" and e["result"] == "healed"]
    if not closing:
        problems.append(f"the audit log never closes {operation} {op_id}")
        return ""
    story = closing[-1]["result"]
    if healed:
        story += " + sync healed"
    return story
