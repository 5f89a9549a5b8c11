"""``Tx``: the operations of one store transaction over its tables, and the mappers between
their rows and the domain models. Rules live in ``core.rules``; these are only the primitives."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

from core.audit_chain import GENESIS_HASH, audit_hash
from core.errors import NotFound
from core.models import (
    AuditEntry,
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
from core.store.values import plain_json
from core.utc import from_utc_text, utc_text
from core.views import DeviceRow

__all__ = ["AUDIT_HEAD_KEY", "DeviceRank", "LicenseStanding", "OfflineReturn", "Tx"]

AUDIT_HEAD_KEY = "audit_head"


class LicenseStanding(NamedTuple):
    terms: LicenseTerms
    return_pending: bool


class OfflineReturn(NamedTuple):
    """A license the controller gave up with a return receipt the cloud has not credited yet."""

    license_id: UUID
    install_code: str
    receipt_id: str
    returned_at: datetime
    note: str


class DeviceRank(NamedTuple):
    device_id: str
    seq: int
    state: DeviceState


# Stored text -> enum member for device rows (a dict lookup, not an Enum call per cell).
_PROTOCOLS = {p.value: p for p in Protocol}
_STATES = {s.value: s for s in DeviceState}
_KINDS = {k.value: k for k in LicenseKind}


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
        # Rows the store validated when it wrote them; relicensing reads them after every chunk of a
        # large activation, so they are built without validating again (20,000 rows: ~1 s -> ~0.1 s).
        return [
            LicenseStanding(
                LicenseTerms.model_construct(
                    license_id=row["license_id"],
                    kind=_KINDS[row["kind"]],
                    devices=row["devices"],
                    term_years=row["term_years"],
                    expires_on=None if row["expires_on"] is None else date.fromisoformat(row["expires_on"]),
                ),
                bool(row["return_pending"]),
            )
            for row in self._run(
                "SELECT license_id, kind, devices, term_years, expires_on, return_pending FROM licenses "
                "WHERE install_code = ?",
                (install_code,),
            )
        ]

    def licenses_by_id(self, license_ids: Iterable[UUID]) -> dict[UUID, License]:
        """Those of ``license_ids`` the controller holds, in one query (a chunk of 500 is one)."""
        rows = self._run(
            "SELECT * FROM licenses WHERE license_id IN (SELECT value FROM json_each(?))",
            (json.dumps([str(i) for i in license_ids]),),
        )
        return {lic.license_id: lic for lic in map(_license, rows)}

    def license_marks(self, install_code: str) -> dict[UUID, tuple[str, bool]]:
        """license id -> (activated_at, return_pending) of the segment's licenses, without their
        documents: what reconciling compares, cheap for 20,000 licenses."""
        rows = self._run(
            "SELECT license_id, activated_at, return_pending FROM licenses WHERE install_code = ?",
            (install_code,),
        )
        return {UUID(row[0]): (row[1], bool(row[2])) for row in rows}

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

    # offline returns

    def offline_returns(self, install_code: str | None = None) -> list[OfflineReturn]:
        rows = self._run(
            "SELECT license_id, install_code, receipt_id, returned_at, note FROM offline_returns "
            "WHERE ?1 IS NULL OR install_code = ?1 ORDER BY returned_at, license_id",
            (install_code,),
        )
        return [OfflineReturn(UUID(row[0]), row[1], row[2], from_utc_text(row[3]), row[4]) for row in rows]

    def put_offline_returns(self, records: Iterable[OfflineReturn]) -> None:
        self._run_many(
            "INSERT OR REPLACE INTO offline_returns "
            "(license_id, install_code, receipt_id, returned_at, note) VALUES (?, ?, ?, ?, ?)",
            (
                (str(r.license_id), r.install_code, r.receipt_id, utc_text(r.returned_at), r.note)
                for r in records
            ),
        )

    def delete_offline_returns(self, license_ids: Iterable[UUID]) -> None:
        self._run_many(
            "DELETE FROM offline_returns WHERE license_id = ?",
            ((str(license_id),) for license_id in license_ids),
        )

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
                utc_text(entry.created_at),
                entry.phase,
            ),
        )

    def journal_close(self, op_id: UUID) -> None:
        """Idempotent: a resumed operation may close an entry that is already closed."""
        self._check_writable()
        self._run("DELETE FROM journal WHERE op_id = ?", (str(op_id),))

    # audit

    def audit(
        self,
        *,
        actor: str,
        operation: str,
        install_code: str | None,
        detail: dict[str, Any],
        result: str,
        at: datetime,
    ) -> AuditEntry:
        self._check_writable()
        # The head is kept apart from the rows so that deleting the newest entries leaves a gap
        # that the next entry and `verify_audit_chain` expose, instead of a shorter valid chain.
        head = self.audit_head()
        if head is None:
            last = self._run("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            head = None if last is None else (last["seq"], last["hash"])
        seq, prev_hash = (1, GENESIS_HASH) if head is None else (head[0] + 1, head[1])
        at = from_utc_text(utc_text(at))
        plain = plain_json(detail)
        fields = {"actor": actor, "operation": operation, "install_code": install_code, "result": result}
        digest = audit_hash(
            prev_hash,
            seq=seq,
            at=at,
            actor=actor,
            operation=operation,
            install_code=install_code,
            detail=plain,
            result=result,
        )
        self._run(
            "INSERT INTO audit (seq, at, actor, operation, install_code, detail, result, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, utc_text(at), actor, operation, install_code, json.dumps(plain), result, prev_hash, digest),
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

    # notifications

    def notices_sent(self) -> dict[str, set[str]]:
        """Notice key -> the channels it went out on."""
        sent: dict[str, set[str]] = {}
        for row in self._run("SELECT notice_key, channel FROM notices_sent"):
            sent.setdefault(row["notice_key"], set()).add(row["channel"])
        return sent

    def mark_notices_sent(self, keys: Iterable[str], channel: str, at: datetime) -> None:
        self._run_many(
            "INSERT OR IGNORE INTO notices_sent (notice_key, channel, sent_at) VALUES (?, ?, ?)",
            ((key, channel, utc_text(at)) for key in keys),
        )

    def forget_notices(self, keys: Iterable[str]) -> None:
        """So that a notice that stopped being true is sent again when it comes back."""
        self._run_many("DELETE FROM notices_sent WHERE notice_key = ?", ((key,) for key in keys))

    def notify_overrides(self) -> dict[str, Any]:
        return {row["name"]: json.loads(row["value"]) for row in self._run("SELECT * FROM notify_overrides")}

    def set_notify_override(self, name: str, value: Any) -> None:
        """Set one override (JSON), or with None remove it: the settings file's value applies again."""
        self._check_writable()
        if value is None:
            self._run("DELETE FROM notify_overrides WHERE name = ?", (name,))
        else:
            self._run(
                "INSERT INTO notify_overrides (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value)),
            )


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
        activated_at=from_utc_text(row["activated_at"]),
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
        utc_text(lic.activated_at),
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
        created_at=from_utc_text(row["created_at"]),
        phase=row["phase"],
    )


def _audit_entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        at=from_utc_text(row["at"]),
        actor=row["actor"],
        operation=row["operation"],
        install_code=row["install_code"],
        detail=json.loads(row["detail"]),
        result=row["result"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
