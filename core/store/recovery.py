"""``rebuild``: a fresh store from what a damaged one still lets us read, keeping the old file.

What must survive is what the cloud cannot give back: the segment controllers with their install
codes (the cloud binds licenses to them) and Customer IDs, each controller's own key (the portal
checks return receipts against it), the records of licenses returned offline (sync must not adopt
them back), and the users' notes. Every table is read on its own, so one damaged table costs only
what it holds. The licenses themselves come back from the cloud with `smartlic sync`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from core.demo_seed import DemoSeed
from core.errors import StoreUnavailable
from core.models import Clock, Device, DeviceState, Protocol, SegmentController
from core.store.opening import Store
from core.store.tx import OfflineReturn
from core.utc import from_utc_text

__all__ = ["Salvage", "rebuild"]

# meta keys worth keeping: the controllers' keys and what the cloud knows of them.
_KEPT_META = (
    "device_key:",
    "cloud_knows_device_key:",
    "offline_request:",
    "trusted_time",
    "signed_cloud_time",
)
_SIDECARS = ("", "-wal", "-shm")


@dataclass
class Salvage:
    """What was read from the damaged store, and what could not be."""

    segments: list[SegmentController] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    notes: dict[UUID, str] = field(default_factory=dict)
    offline_returns: list[OfflineReturn] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    backup: Path | None = None


def salvage(path: Path) -> Salvage:
    found = Salvage()
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise _nothing_to_rebuild(path, exc) from exc
    try:
        _read(
            conn,
            found,
            "segments",
            "SELECT name, install_code, customer_id FROM segments ORDER BY position",
            _segment,
        )
        _read(
            conn,
            found,
            "devices",
            "SELECT device_id, install_code, protocol, name, seq, state FROM devices "
            "ORDER BY install_code, seq",
            _device,
        )
        _read(conn, found, "meta", "SELECT key, value FROM meta", _meta)
        _read(conn, found, "notes", "SELECT license_id, note FROM licenses WHERE note != ''", _note)
        _read(
            conn,
            found,
            "offline returns",
            "SELECT license_id, install_code, receipt_id, returned_at, note FROM offline_returns",
            _offline_return,
        )
    finally:
        conn.close()
    if not found.segments:
        raise _nothing_to_rebuild(path, "no segment controller could be read")
    return found


# Only a store that cannot be trusted is rebuilt: a healthy, newer, foreign or full one is not.
REBUILDABLE = ("store_damaged", "store_unreadable")


def rebuild(path: Path, *, clock: Clock) -> Salvage:
    """Move the damaged store to a dated backup and make a new one from what ``salvage`` read."""
    _refuse_unless_damaged(path, clock)
    found = salvage(path)
    stamp = clock().strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in _SIDECARS:
        if os.path.exists(f"{path}{suffix}"):
            os.replace(f"{path}{suffix}", f"{backup}{suffix}")
    found.backup = backup
    codes = {s.install_code for s in found.segments}
    seed = DemoSeed(segments=found.segments, devices=[d for d in found.devices if d.install_code in codes])
    with Store.open(path, clock=clock, seed=seed) as store, store.write() as tx:
        for key, value in found.meta.items():
            tx.meta_set(key, value)
        tx.put_offline_returns(r for r in found.offline_returns if r.install_code in codes)
        tx.audit(
            actor="system",
            operation="recover",
            install_code=None,
            detail={
                "backup": str(backup),
                "segments": {s.name: s.install_code for s in found.segments},
                "unreadable": found.unreadable,
            },
            result="ok" if not found.unreadable else "partial",
            at=clock(),
        )
    return found


def _refuse_unless_damaged(path: Path, clock: Clock) -> None:
    if not path.exists():
        raise StoreUnavailable(f"There is no license store at {path} to recover.", code="store_missing")
    try:
        store = Store.open(path, clock=clock)
    except StoreUnavailable as exc:
        if exc.code in REBUILDABLE:
            return
        raise
    with store:
        problem = store.safe_mode_code
    if problem in REBUILDABLE:
        return
    if problem is None:
        raise StoreUnavailable(
            f"The license store at {path} is healthy; there is nothing to recover.", code="store_healthy"
        )
    raise StoreUnavailable(
        f"`smartlic recover` rebuilds only a damaged store; {store.safe_mode_reason}",
        hint=store.safe_mode_hint,
        code=problem,
    )


def _read(
    conn: sqlite3.Connection, found: Salvage, what: str, sql: str, keep: Callable[[Salvage, Any], None]
) -> None:
    try:
        for row in conn.execute(sql):
            try:
                keep(found, row)
            except (ValueError, TypeError):
                found.unreadable.append(f"a row of {what}")
    except sqlite3.Error:
        found.unreadable.append(what)


def _segment(found: Salvage, row: Any) -> None:
    name, code, customer = row
    found.segments.append(
        SegmentController(name=name, install_code=code, customer_id=UUID(customer) if customer else None)
    )


def _device(found: Salvage, row: Any) -> None:
    device_id, code, protocol, name, seq, _state = row
    found.devices.append(
        Device(
            device_id=device_id,
            install_code=code,
            protocol=Protocol(protocol),
            name=name,
            seq=seq,
            # Licensing is worked out again from the licenses sync brings back (provisioning too).
            state=DeviceState.UNLICENSED,
        )
    )


def _meta(found: Salvage, row: Any) -> None:
    key, value = row
    if any(key == kept or key.startswith(kept) for kept in _KEPT_META):
        found.meta[key] = value


def _note(found: Salvage, row: Any) -> None:
    found.notes[UUID(row[0])] = row[1]


def _offline_return(found: Salvage, row: Any) -> None:
    license_id, code, receipt_id, returned_at, note = row
    at: datetime = from_utc_text(returned_at)
    found.offline_returns.append(OfflineReturn(UUID(license_id), code, receipt_id, at, note))


def _nothing_to_rebuild(path: Path, why: object) -> StoreUnavailable:
    return StoreUnavailable(
        f"Nothing can be rebuilt from the license store at {path}: {why}.",
        hint="The file was left as it is. Keep it and contact support: it holds the install codes the "
        "cloud binds the licenses to.",
        code="store_unrecoverable",
    )
