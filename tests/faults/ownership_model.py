"""The world of the ownership model test: one in-process mock cloud, two controllers of one customer.

The cloud runs in this process behind ``httpx.ASGITransport`` (as core.wiring's embedded mode
does), with a small batch limit so that every activation and transfer is split into chunks.
Each controller is its own store, trust store and cloud client; a "kill" raises :class:`Killed` at
a crash point (core.crashpoints.hook) and then reopens the controller, as a restart after SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from core import crashpoints
from core.cloud import CloudClient
from core.device_keys import signer_source
from core.mock_cloud.app import create_app
from core.models import Clock
from core.service import Context, LicenseService
from core.signing import TrustStore
from core.store import Store
from core.views import AuditCheck

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
MAX_BATCH = 3
PARTNER = {"Authorization": "Bearer demo-partner-token"}
T = TypeVar("T")
FIGURES: list[str] = []  # one line per large run, printed at the end of the session
STATS: dict[str, int] = {
    "steps": 0,
    "runs": 0,
    "kills": 0,
    "refusals": 0,
    "largest": 0,
    "returned": 0,
    "credited": 0,
    "cancelled": 0,
}


class Killed(BaseException):
    """The controller died at a crash point (a BaseException: nothing may catch it as an error)."""


def clock() -> datetime:
    return NOW


@dataclass
class Receipt:
    path: Path
    controller: int
    license_ids: list[str]


@dataclass
class Controller:
    index: int
    folder: Path
    transport: httpx.AsyncBaseTransport
    cloud_key: bytes
    clock: Clock = clock
    service: LicenseService | None = None

    def open(self) -> LicenseService:
        store = Store.open(self.folder / "smartlic.db", clock=self.clock, rng=random.Random(self.index + 1))
        trust = TrustStore(self.folder / "trust")
        trust.add(self.cloud_key)
        cloud = CloudClient(
            "http://model-cloud",
            transport=self.transport,
            retries=0,
            signer_for=signer_source(store),
            clock=self.clock,
        )
        context = Context(store, cloud, trust, self.clock, actor=f"controller-{self.index}")
        self.service = LicenseService(context)
        return self.service

    @property
    def svc(self) -> LicenseService:
        assert self.service is not None
        return self.service

    async def restart(self) -> None:
        await self.svc.aclose()
        self.open()

    def segments(self) -> list[str]:
        return [s.name for s in self.svc.segments()]

    def install_codes(self) -> dict[str, str]:
        return {s.name: s.install_code for s in self.svc.segments()}


@dataclass
class World:
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ownership-")))
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    controllers: list[Controller] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    # Licenses the portal assigned to an install code for a request whose response file is being
    # carried to the controller (Add License imports it, or sync adopts them).
    in_transit: dict[str, set[str]] = field(default_factory=dict)
    files: int = 0
    max_batch: int = MAX_BATCH
    controller_clock: Clock = clock

    def __post_init__(self) -> None:
        self.app = create_app(
            self.root / "cloud", clock=clock, rng=random.Random(7), max_batch=self.max_batch, admin=True
        )
        self.transport = httpx.ASGITransport(app=self.app)
        self.http = httpx.AsyncClient(base_url="http://model-cloud/api/v1", transport=self.transport)
        key = Path(self.app.state.public_key_path).read_bytes()
        self.customer_id = str(self.app.state.demo_customer_id)
        for index in range(2):
            folder = self.root / f"controller-{index}"
            controller = Controller(index, folder, self.transport, key, self.controller_clock)
            controller.open()
            for name in controller.segments():
                controller.svc.set_customer_id(name, self.customer_id)
            self.controllers.append(controller)

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def close(self) -> None:
        crashpoints.hook = None
        for controller in self.controllers:
            if controller.service is not None:
                self.run(controller.svc.aclose())
        self.run(self.http.aclose())
        self.app.state.db.close()
        self.loop.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_file(self, stem: str) -> Path:
        self.files += 1
        return self.root / f"{stem}-{self.files}.json"

    # --- the cloud ------------------------------------------------------------------------

    def bindings(self) -> dict[str, str | None]:
        """license id -> install code, for the customer's licenses, straight from the cloud's SQLite."""
        db = sqlite3.connect(f"file:{self.root / 'cloud' / 'cloud.db'}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute(
                "SELECT license_id, install_code FROM licenses WHERE customer_id = ?", (self.customer_id,)
            ).fetchall()
        finally:
            db.close()
        return dict(rows)

    def available(self, install_code: str | None = None) -> list[str]:
        db = sqlite3.connect(f"file:{self.root / 'cloud' / 'cloud.db'}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute(
                "SELECT license_id FROM licenses WHERE customer_id = ? AND install_code IS NULL "
                "AND (earmarked_install_code IS NULL OR earmarked_install_code = ?) "
                "AND (expires_on IS NULL OR expires_on > ?) ORDER BY created_seq",
                (self.customer_id, install_code, NOW.date().isoformat()),
            ).fetchall()
        finally:
            db.close()
        return [r[0] for r in rows]

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        """A portal or partner call (or, under /admin, setting the faults).

        Injected faults are meant for the controllers' next call: a person at a portal would
        simply try again, so a pending fault is cleared before the portal is used.
        """
        if not path.startswith("/admin/"):
            await self.http.post("/admin/faults", json={})
        return await self.http.post(path, json=body, headers=headers or {})

    def set_faults(self, **faults: float) -> None:
        answer = self.run(self.post("/admin/faults", faults))
        answer.raise_for_status()

    # --- kills ------------------------------------------------------------------------------

    def killing_at(self, point: str, skip: int = 0) -> Callable[[str], None]:
        hits = {"n": 0}

        def hook(name: str) -> None:
            if name != point:
                return
            hits["n"] += 1
            if hits["n"] > skip:
                crashpoints.hook = None
                raise Killed(point)

        return hook

    # --- what is true ---------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Every broken invariant of license ownership, as sentences (empty: all hold)."""
        found: list[str] = []
        bindings = self.bindings()
        owner = {code: c for c in self.controllers for code in c.install_codes().values()}
        active: dict[str, str] = {}
        covered: dict[str, set[str]] = {code: set() for code in owner}
        for controller in self.controllers:
            with controller.svc.context.store.read() as tx:
                licenses = tx.licenses()
                returned = tx.offline_returns()
                journal = tx.journal()
            for lic in licenses:
                where = f"controller {controller.index} {lic.install_code}"
                key = str(lic.license_id)
                covered[lic.install_code].add(key)
                if lic.return_pending:
                    continue
                if key in active:
                    found.append(f"{key} is active on {active[key]} and on {where}")
                active[key] = where
                if bindings.get(key) != lic.install_code:
                    found.append(f"{key} is active on {where} but the cloud binds it to {bindings.get(key)}")
            for record in returned:
                covered[record.install_code].add(str(record.license_id))
            for op in journal:
                covered[op.install_code].update(str(i) for i in op.license_ids)
        for code, ids in self.in_transit.items():
            covered.setdefault(code, set()).update(ids)
        for license_id, bound in bindings.items():
            if bound is not None and license_id not in covered.get(bound, set()):
                found.append(
                    f"{license_id} is stranded: the cloud binds it to {bound}, which does not hold it"
                )
        for controller in self.controllers:
            check: AuditCheck = controller.svc.audit_verify()
            if not check.ok:
                found.append(f"controller {controller.index}: {check.message}")
        return found

    def settled_problems(self) -> list[str]:
        """After a final sync with a healthy cloud: no journal left, and each segment's active
        licenses are exactly what the cloud binds there, less those returned offline."""
        found = self.problems()
        bindings = self.bindings()
        for controller in self.controllers:
            with controller.svc.context.store.read() as tx:
                if tx.journal():
                    found.append(f"controller {controller.index}: the journal is not empty after sync")
                for code in controller.install_codes().values():
                    held = {str(lic.license_id) for lic in tx.licenses(code)}
                    returned = {str(r.license_id) for r in tx.offline_returns(code)}
                    bound = {i for i, c in bindings.items() if c == code}
                    if held | returned != bound:
                        found.append(
                            f"{code}: holds {sorted(held)} returned {sorted(returned)} bound {sorted(bound)}"
                        )
        return found


def receipt_body(path: Path) -> dict[str, Any]:
    return {"receipt": json.loads(path.read_text())}


def new_license_ids(answer: httpx.Response) -> list[str]:
    return [item["license_id"] for item in answer.json()["items"]]


def uuid_list(ids: list[str]) -> list[uuid.UUID]:
    return [uuid.UUID(i) for i in ids]
