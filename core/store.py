"""The controller's own state: segments, licenses, devices, the journal and the audit log, in SQLite.

Several processes (two SSH sessions, the CLI next to the TUI) share one file, so every write is a
single ``BEGIN IMMEDIATE`` transaction: whatever a caller reads inside ``write()`` cannot change under
it, and no update is lost. Rules live in ``core.rules``; this module only offers the primitives.

A store that cannot be trusted is never repaired or rewritten here: it is opened read-only ("safe
mode") so the technician can still look, and every write says why it is refused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import BaseModel

from core.demo_seed import demo_seed
from core.errors import NotFound, StoreUnavailable
from core.models import (
    AuditEntry,
    Clock,
    Device,
    DeviceState,
    JournalEntry,
    License,
    LicenseKind,
    LicenseTerms,
    OperationKind,
    Protocol,
    SegmentController,
    SignedDocument,
)
from core.signing import canonical_json
from core.store_schema import SCHEMA_VERSION, migrate
from core.views import DeviceRow

__all__ = ["GENESIS_HASH", "Store", "Tx", "audit_hash", "verify_audit_chain"]

BUSY_TIMEOUT_MS = 10_000
GENESIS_HASH = "0" * 64
_SIDECARS = ("", "-wal", "-shm")

# Primary SQLite result codes (extended codes carry them in the low byte).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


# --- values ----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    """Fixed-width UTC ISO text, so that text order is time order in SQL and hashes are reproducible."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store keeps timezone-aware UTC times only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in the audit log")


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as plain JSON types, so the hash of what is stored equals the hash of what is read."""
    result = json.loads(json.dumps(value, default=_json_default))
    if not isinstance(result, dict):
        raise TypeError("audit detail must be a dict")
    return result


class LicenseStanding(NamedTuple):
    terms: LicenseTerms
    return_pending: bool


class DeviceRank(NamedTuple):
    device_id: str
    seq: int
    state: DeviceState


# Stored text -> enum member for device rows (a dict lookup, not an Enum call per cell).
_PROTOCOLS = {p.value: p for p in Protocol}
_STATES = {s.value: s for s in DeviceState}


# --- audit chain -----------------------------------------------------------------------------


def audit_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    operation: str,
    install_code: str | None,
    detail: dict[str, Any],
    result: str,
) -> str:
    body = {
        "seq": seq,
        "at": _iso(at),
        "actor": actor,
        "operation": operation,
        "install_code": install_code,
        "detail": detail,
        "result": result,
    }
    return hashlib.sha256(prev_hash.encode() + canonical_json(body)).hexdigest()


def _recomputed_hash(entry: AuditEntry) -> str:
    return audit_hash(
        entry.prev_hash,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        operation=entry.operation,
        install_code=entry.install_code,
        detail=entry.detail,
        result=entry.result,
    )


AUDIT_HEAD_KEY = "audit_head"


def verify_audit_chain(entries: list[AuditEntry]) -> int | None:
    """The seq of the first entry that breaks the chain, or None when the whole list holds.

    A list that starts at seq 1 must start from the genesis hash; a tail (``audit_entries(limit=…)``)
    is anchored on its first entry's ``prev_hash``, which its own hash still covers.
    """
    expected_prev: str | None = GENESIS_HASH if entries and entries[0].seq == 1 else None
    expected_seq: int | None = None
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            return entry.seq  # a missing or reordered entry
        if expected_prev is not None and entry.prev_hash != expected_prev:
            return entry.seq
        if _recomputed_hash(entry) != entry.hash:
            return entry.seq
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    return None


# --- errors ----------------------------------------------------------------------------------


def _damaged(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} is damaged; smartlic opened it read-only.",
        hint="Make a copy of the file for support, then run `smartlic sync` to restore the licenses "
        "from the cloud's records into a fresh store.",
        code="store_damaged",
    )


def _newer(path: Path, version: int) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} is from a newer smartlic (schema {version}, this one knows up to "
        f"{SCHEMA_VERSION}); smartlic opened it read-only.",
        hint="Upgrade smartlic on this controller to change licenses.",
        code="store_newer",
    )


def _not_smartlic(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The file at {path} is an SQLite database but not a smartlic license store; "
        "smartlic opened it read-only.",
        hint="Point smartlic at another data folder; this file was left unchanged.",
        code="store_foreign",
    )


def _disk_full(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The disk holding the license store at {path} is full; nothing was changed.",
        hint="Free some space on that disk, then try again.",
        code="store_disk_full",
    )


def _not_writable(path: Path, why: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} cannot be written ({why}); nothing was changed.",
        hint=f"Check that {path.parent} and the file are writable by this user and the disk is "
        "mounted read-write, then try again.",
        code="store_not_writable",
    )


def _busy(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} stayed locked by another smartlic for more than "
        f"{BUSY_TIMEOUT_MS // 1000} s; nothing was changed.",
        hint="Try again; if it keeps happening, close the other smartlic session.",
        code="store_busy",
    )


def _unreadable(path: Path, cause: StoreUnavailable, exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        f"{cause.message.removesuffix('; smartlic opened it read-only.')} and cannot be read ({exc}). "
        "smartlic left the file unchanged.",
        hint="Make a copy of the file for support, then move it aside and run `smartlic sync` to "
        "restore the licenses from the cloud's records into a fresh store.",
        code="store_unreadable",
    )


def _sqlite_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _classify(exc: BaseException, path: Path) -> StoreUnavailable | None:
    """The user-facing error for a storage failure, or None when ``exc`` is not one (a bug, a rule)."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return _disk_full(path)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return _not_writable(path, exc.strerror or str(exc))
        return None
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) or isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError
    ):
        return None
    code, text = _sqlite_code(exc), str(exc).lower()
    if code == _SQLITE_FULL or "disk is full" in text:
        return _disk_full(path)
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM, _SQLITE_IOERR) or any(
        part in text for part in ("readonly database", "unable to open", "disk i/o error")
    ):
        return _not_writable(path, str(exc))
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in text:
        return _busy(path)
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return _damaged(path)
    return None


# --- transactions ----------------------------------------------------------------------------


class Tx:
    """The operations available inside one ``Store.read()`` or ``Store.write()`` transaction."""

    def __init__(self, conn: sqlite3.Connection, *, writable: bool) -> None:
        self._conn = conn
        self.writable = writable
        self._active = True

    def _run(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        if not self._active:
            raise RuntimeError("this transaction is over; open a new one with store.read() or store.write()")
        return self._conn.execute(sql, tuple(params))

    def _run_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        self._check_writable()
        self._conn.executemany(sql, rows)

    def _check_writable(self) -> None:
        if not self._active:
            raise RuntimeError("this transaction is over; open a new one with store.write()")
        if not self.writable:
            raise RuntimeError("a change was attempted inside store.read(); use store.write()")

    # segments

    def segments(self) -> list[SegmentController]:
        rows = self._run("SELECT name, install_code, customer_id FROM segments ORDER BY position")
        return [_segment(row) for row in rows]

    def segment(self, ref: str) -> SegmentController | None:
        """By name (case-insensitive) or install code; a handful of rows, so compare in Python."""
        key = ref.strip().casefold()
        for segment in self.segments():
            if key in (segment.name.casefold(), segment.install_code.casefold()):
                return segment
        return None

    def set_customer_id(self, install_code: str, customer_id: UUID | None) -> None:
        self._check_writable()
        value = None if customer_id is None else str(customer_id)
        cursor = self._run(
            "UPDATE segments SET customer_id = ? WHERE install_code = ?", (value, install_code)
        )
        if cursor.rowcount == 0:
            raise NotFound(f"No segment controller has install code {install_code}.")

    # licenses

    def licenses(self, install_code: str | None = None) -> list[License]:
        rows = self._run(
            "SELECT l.* FROM licenses AS l JOIN segments AS s USING (install_code) "
            "WHERE ?1 IS NULL OR l.install_code = ?1 "
            "ORDER BY s.position, CASE l.kind WHEN 'capacity' THEN 0 ELSE 1 END, "
            "l.activated_at, l.license_id",
            (install_code,),
        )
        return [_license(row) for row in rows]

    def standings(self, install_code: str) -> list[LicenseStanding]:
        """The terms of the segment's licenses without their documents: enough for capacity."""
        return [
            LicenseStanding(_terms(row), bool(row["return_pending"]))
            for row in self._run(
                "SELECT license_id, kind, devices, term_years, expires_on, return_pending FROM licenses "
                "WHERE install_code = ?",
                (install_code,),
            )
        ]

    def license(self, license_id: UUID) -> License | None:
        row = self._run("SELECT * FROM licenses WHERE license_id = ?", (str(license_id),)).fetchone()
        return None if row is None else _license(row)

    def put_licenses(self, licenses: Iterable[License]) -> None:
        self._run_many(
            "INSERT OR REPLACE INTO licenses (license_id, install_code, kind, devices, term_years, "
            "expires_on, activated_at, note, document, return_pending) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (_license_row(lic) for lic in licenses),
        )

    def set_return_pending(self, license_ids: Iterable[UUID], pending: bool) -> None:
        self._run_many(
            "UPDATE licenses SET return_pending = ? WHERE license_id = ?",
            ((int(pending), str(license_id)) for license_id in license_ids),
        )

    def delete_licenses(self, license_ids: Iterable[UUID]) -> None:
        self._run_many(
            "DELETE FROM licenses WHERE license_id = ?", ((str(license_id),) for license_id in license_ids)
        )

    def set_note(self, license_id: UUID, note: str) -> bool:
        self._check_writable()
        cursor = self._run("UPDATE licenses SET note = ? WHERE license_id = ?", (note, str(license_id)))
        return cursor.rowcount > 0

    # devices

    def devices(self, install_code: str | None = None) -> list[Device]:
        rows = self._run(
            "SELECT d.* FROM devices AS d JOIN segments AS s USING (install_code) "
            "WHERE ?1 IS NULL OR d.install_code = ?1 ORDER BY s.position, d.seq",
            (install_code,),
        )
        return [_device(row) for row in rows]

    def device_counts(self, install_code: str) -> dict[DeviceState, int]:
        """How many devices of the segment are in each state, counted by SQLite."""
        counts = dict.fromkeys(DeviceState, 0)
        for row in self._run(
            "SELECT state, count(*) AS n FROM devices WHERE install_code = ? GROUP BY state", (install_code,)
        ):
            counts[DeviceState(row["state"])] = row["n"]
        return counts

    def device_ranks(self, install_code: str) -> list[DeviceRank]:
        """The little relicensing needs of each device, without building full models."""
        return [
            DeviceRank(row[0], row[1], DeviceState(row[2]))
            for row in self._run(
                "SELECT device_id, seq, state FROM devices WHERE install_code = ? ORDER BY seq",
                (install_code,),
            )
        ]

    def device_rows(
        self, install_code: str, *, after_seq: int | None = None, limit: int | None = None
    ) -> list[DeviceRow]:
        """The segment's devices in ``seq`` order as light rows, optionally one page at a time:
        those after ``after_seq`` (keyset paging on the (install_code, seq) index), at most ``limit``."""
        params: list[Any] = [install_code]
        after = ""
        if after_seq is not None:
            after = " AND seq > ?"
            params.append(after_seq)
        params.append(-1 if limit is None else limit)  # LIMIT -1: no limit
        cursor = self._run(
            "SELECT device_id, protocol, name, state, seq FROM devices "
            f"WHERE install_code = ?{after} ORDER BY seq LIMIT ?",
            params,
        )
        # Plain tuples instead of sqlite3.Row, and enum members by dict lookup: an Enum call per
        # cell costs more than the row itself.
        cursor.row_factory = None
        protocols, states = _PROTOCOLS, _STATES
        return [DeviceRow(d, protocols[p], n, states[s], q) for d, p, n, s, q in cursor]

    def set_device_states(self, states: Mapping[str, DeviceState]) -> None:
        self._run_many(
            "UPDATE devices SET state = ? WHERE device_id = ?",
            ((state.value, device_id) for device_id, state in states.items()),
        )

    def put_devices(self, devices: Iterable[Device]) -> None:
        self._run_many(
            "INSERT INTO devices (device_id, install_code, protocol, name, seq, state) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
            "install_code = excluded.install_code, protocol = excluded.protocol, name = excluded.name, "
            "seq = excluded.seq, state = excluded.state",
            ((d.device_id, d.install_code, d.protocol.value, d.name, d.seq, d.state.value) for d in devices),
        )

    # journal

    def journal(self) -> list[JournalEntry]:
        rows = self._run("SELECT * FROM journal ORDER BY created_at, op_id")
        return [_journal_entry(row) for row in rows]

    def journal_open(self, entry: JournalEntry) -> None:
        self._check_writable()
        self._run(
            "INSERT INTO journal (op_id, kind, install_code, customer_id, license_ids, created_at, phase) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                str(entry.op_id),
                entry.kind.value,
                entry.install_code,
                str(entry.customer_id),
                json.dumps([str(i) for i in entry.license_ids]),
                _iso(entry.created_at),
                entry.phase,
            ),
        )

    def journal_phase(self, op_id: UUID, phase: str) -> None:
        self._check_writable()
        cursor = self._run("UPDATE journal SET phase = ? WHERE op_id = ?", (phase, str(op_id)))
        if cursor.rowcount == 0:
            raise NotFound(f"No unfinished operation {op_id} in the journal.")

    def journal_close(self, op_id: UUID) -> None:
        """Idempotent: a resumed operation may close an entry that is already closed."""
        self._check_writable()
        self._run("DELETE FROM journal WHERE op_id = ?", (str(op_id),))

    # audit

    def audit(
        self, *, actor: str, operation: str, install_code: str | None, detail: dict, result: str, at: datetime
    ) -> AuditEntry:
        self._check_writable()
        # The head is kept apart from the rows so that deleting the newest entries leaves a gap
        # that the next entry and `verify_audit_chain` expose, instead of a shorter valid chain.
        head = self.audit_head()
        if head is None:
            last = self._run("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            head = None if last is None else (last["seq"], last["hash"])
        seq, prev_hash = (1, GENESIS_HASH) if head is None else (head[0] + 1, head[1])
        at = _from_iso(_iso(at))
        plain = _plain_json(detail)
        fields = {"actor": actor, "operation": operation, "install_code": install_code, "result": result}
        digest = audit_hash(prev_hash, seq=seq, at=at, detail=plain, **fields)
        self._run(
            "INSERT INTO audit (seq, at, actor, operation, install_code, detail, result, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, _iso(at), actor, operation, install_code, json.dumps(plain), result, prev_hash, digest),
        )
        self.meta_set(AUDIT_HEAD_KEY, f"{seq}:{digest}")
        return AuditEntry(seq=seq, at=at, detail=plain, prev_hash=prev_hash, hash=digest, **fields)

    def audit_head(self) -> tuple[int, str] | None:
        """The seq and hash of the newest audit entry ever written."""
        value = self.meta_get(AUDIT_HEAD_KEY)
        if not value:
            return None
        seq, _, digest = value.partition(":")
        return int(seq), digest

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        if limit is None:
            rows = self._run("SELECT * FROM audit ORDER BY seq")
        else:
            rows = self._run(
                "SELECT * FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?) ORDER BY seq", (max(0, limit),)
            )
        return [_audit_entry(row) for row in rows]

    # meta

    def meta_get(self, key: str) -> str | None:
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["value"]

    def meta_set(self, key: str, value: str) -> None:
        self._check_writable()
        self._run(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def meta_delete(self, key: str) -> None:
        self._check_writable()
        self._run("DELETE FROM meta WHERE key = ?", (key,))


def _segment(row: sqlite3.Row) -> SegmentController:
    customer = row["customer_id"]
    return SegmentController(
        name=row["name"],
        install_code=row["install_code"],
        customer_id=None if customer is None else UUID(customer),
    )


def _terms(row: sqlite3.Row) -> LicenseTerms:
    return LicenseTerms(
        license_id=UUID(row["license_id"]),
        kind=LicenseKind(row["kind"]),
        devices=row["devices"],
        term_years=row["term_years"],
        expires_on=None if row["expires_on"] is None else date.fromisoformat(row["expires_on"]),
    )


def _license(row: sqlite3.Row) -> License:
    return License(
        terms=_terms(row),
        install_code=row["install_code"],
        activated_at=_from_iso(row["activated_at"]),
        note=row["note"],
        document=SignedDocument.model_validate_json(row["document"]),
        return_pending=bool(row["return_pending"]),
    )


def _license_row(lic: License) -> tuple[Any, ...]:
    terms = lic.terms
    return (
        str(terms.license_id),
        lic.install_code,
        terms.kind.value,
        terms.devices,
        terms.term_years,
        None if terms.expires_on is None else terms.expires_on.isoformat(),
        _iso(lic.activated_at),
        lic.note,
        lic.document.model_dump_json(),
        int(lic.return_pending),
    )


def _device(row: sqlite3.Row) -> Device:
    return Device(
        device_id=row["device_id"],
        install_code=row["install_code"],
        protocol=Protocol(row["protocol"]),
        name=row["name"],
        seq=row["seq"],
        state=DeviceState(row["state"]),
    )


def _journal_entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        op_id=UUID(row["op_id"]),
        kind=OperationKind(row["kind"]),
        install_code=row["install_code"],
        customer_id=UUID(row["customer_id"]),
        license_ids=[UUID(i) for i in json.loads(row["license_ids"])],
        created_at=_from_iso(row["created_at"]),
        phase=row["phase"],
    )


def _audit_entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=_from_iso(row["at"]),
        actor=row["actor"],
        operation=row["operation"],
        install_code=row["install_code"],
        detail=json.loads(row["detail"]),
        result=row["result"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


# --- opening ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    """What a read-only look at an existing file found; ``problem`` set means safe mode."""

    version: int
    problem: StoreUnavailable | None = None


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the transaction kind is ours to choose.
    conn = sqlite3.connect(
        target, uri=uri, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    return conn


def _connect_read_only(path: Path) -> sqlite3.Connection:
    return _connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)


def _probe(path: Path) -> _Probe:
    """Look at the file without any chance of writing it (read-only connection)."""
    try:
        conn = _connect_read_only(path)
    except sqlite3.Error as exc:
        return _Probe(version=0, problem=_classify(exc, path) or _damaged(path))
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            return _Probe(version=version, problem=_newer(path, version))
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0:
            return _Probe(version=0, problem=_not_smartlic(path))
        if not _integrity_ok(conn):
            return _Probe(version=version, problem=_damaged(path))
        return _Probe(version=version)
    except sqlite3.Error as exc:
        return _Probe(version=0, problem=_classify(exc, path) or _damaged(path))
    finally:
        conn.close()


def _integrity_ok(conn: sqlite3.Connection) -> bool:
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError:
        return False
    return [tuple(row) for row in rows] == [("ok",)]


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL once per file; it persists, so later opens only read the mode.

    The switch needs an exclusive lock and SQLite does not call the busy handler for it, so two
    processes opening a new store together retry here, bounded by the usual busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = _sqlite_code(exc) in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in str(exc).lower()
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _create_file(path: Path) -> None:
    """Make the file with owner-only permissions before SQLite does it with the umask's."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise _classify(exc, path) or StoreUnavailable(
            f"The license store at {path} cannot be created ({exc.strerror or exc}).",
            hint=f"Check that {path.parent} exists and is writable by this user.",
            code="store_not_writable",
        ) from exc
    os.close(fd)


def _restrict_permissions(path: Path) -> None:
    # SQLite gives -wal/-shm the main file's mode, but a file made before us may be looser.
    for suffix in _SIDECARS:
        with suppress(OSError):
            os.chmod(f"{path}{suffix}", 0o600)


def _seed(conn: sqlite3.Connection, clock: Clock, rng: random.Random) -> None:
    seed = demo_seed(rng)
    tx = Tx(conn, writable=True)
    conn.executemany(
        "INSERT INTO segments (install_code, name, position, customer_id) VALUES (?, ?, ?, NULL)",
        [(s.install_code, s.name, position) for position, s in enumerate(seed.segments, start=1)],
    )
    tx.put_devices(seed.devices)
    tx.audit(
        actor="system",
        operation="seed",
        install_code=None,
        detail={
            "segments": {s.name: s.install_code for s in seed.segments},
            "devices": len(seed.devices),
            "schema": SCHEMA_VERSION,
        },
        result="ok",
        at=clock(),
    )


class Store:
    """One SQLite file; safe to share between threads, and between processes through SQLite's locks."""

    path: Path
    read_only: bool
    safe_mode_reason: str | None

    def __init__(
        self, conn: sqlite3.Connection, path: Path, clock: Clock, *, safe_mode: StoreUnavailable | None = None
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self.clock = clock
        self._safe_mode = safe_mode
        self.read_only = safe_mode is not None
        self.safe_mode_reason = None if safe_mode is None else safe_mode.message
        self._lock = threading.RLock()
        self._tx: Tx | None = None

    # opening and closing

    @classmethod
    def open(cls, path: Path, *, clock: Clock, rng: random.Random | None = None) -> Store:
        """Create (parents too) + migrate + seed the demo on first run."""
        path = Path(path)
        if not path.exists():
            _create_file(path)
        probe = _probe(path)
        if probe.problem is not None:
            return cls._open_safe(path, clock, probe.problem)
        try:
            conn = cls._open_writable(path, clock, rng or random.Random())
        except (sqlite3.Error, OSError) as exc:
            problem = _classify(exc, path)
            if problem is None:
                raise
            # A current store on a read-only disk is still worth looking at; anything else is not.
            if problem.code == "store_not_writable" and probe.version == SCHEMA_VERSION:
                return cls._open_safe(path, clock, problem)
            raise problem from exc
        except _SafeMode as safe:
            return cls._open_safe(path, clock, safe.problem)
        _restrict_permissions(path)
        return cls(conn, path, clock)

    @classmethod
    def _open_writable(cls, path: Path, clock: Clock, rng: random.Random) -> sqlite3.Connection:
        conn = _connect(str(path))
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            _use_wal(conn)
            cls._migrate(conn, path, clock, rng)
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, clock: Clock, rng: random.Random) -> None:
        """Schema and seed in one transaction: a crash leaves either nothing or everything."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another process may have created or upgraded it meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _SafeMode(_newer(path, version))
            if version == 0 and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0:
                raise _SafeMode(_not_smartlic(path))
            if version < SCHEMA_VERSION:
                migrate(conn, version)
                if version == 0:
                    _seed(conn, clock, rng)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    @classmethod
    def _open_safe(cls, path: Path, clock: Clock, problem: StoreUnavailable) -> Store:
        """Read-only; if even the segments cannot be read there is nothing to show, so refuse to open."""
        try:
            conn = _connect_read_only(path)
        except sqlite3.Error as exc:
            raise _unreadable(path, problem, exc) from exc
        store = cls(conn, path, clock, safe_mode=problem)
        try:
            with store.read() as tx:
                tx.segments()
        except (StoreUnavailable, sqlite3.Error, ValueError) as exc:
            store.close()
            raise _unreadable(path, problem, exc.__cause__ or exc) from exc
        return store

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # transactions

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot (WAL readers never block writers); always rolled back."""
        with self._lock:
            if self._tx is not None:  # nested on the same thread (the lock guarantees it): join
                yield self._tx
                return
            with self._transaction("BEGIN DEFERRED", writable=False) as tx:
                yield tx

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """BEGIN IMMEDIATE: takes the write lock first, so what is read inside stays true until COMMIT."""
        if self._safe_mode is not None:
            safe = self._safe_mode
            raise StoreUnavailable(safe.message, hint=safe.hint, code=safe.code)
        with self._lock:
            if self._tx is not None:
                if not self._tx.writable:
                    raise RuntimeError("store.write() inside store.read(): open the write() first")
                yield self._tx
                return
            with self._transaction("BEGIN IMMEDIATE", writable=True) as tx:
                yield tx

    @contextmanager
    def _transaction(self, begin: str, *, writable: bool) -> Iterator[Tx]:
        conn = self._connection()
        self._guarded(lambda: conn.execute(begin))
        tx = self._tx = Tx(conn, writable=writable)
        try:
            yield tx
            if writable:
                self._guarded(lambda: conn.execute("COMMIT"))
        except BaseException as exc:
            self._rollback(conn)
            problem = _classify(exc, self.path)
            if problem is not None:
                raise problem from exc
            raise
        finally:
            tx._active = False
            self._tx = None
            self._rollback(conn)  # a read snapshot ends here; after COMMIT this is a no-op

    def _guarded(self, action: Callable[[], object]) -> None:
        try:
            action()
        except (sqlite3.Error, OSError) as exc:
            problem = _classify(exc, self.path)
            if problem is not None:
                raise problem from exc
            raise

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # SQLite may already have rolled back by itself (disk full, I/O error): then there is nothing to do.
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the store is closed")
        return self._conn

    def integrity_ok(self) -> bool:
        with self._lock:
            return _integrity_ok(self._connection())


class _SafeMode(Exception):
    """Raised inside opening when the store turns out to need safe mode after all."""

    def __init__(self, problem: StoreUnavailable) -> None:
        super().__init__(problem.message)
        self.problem = problem
