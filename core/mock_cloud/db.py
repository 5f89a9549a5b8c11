"""The mock cloud's own SQLite database: partners, customers, licenses, idempotency records and
the Customer Portal's offline files (device keys, fulfilled requests, processed return receipts).

One connection shared by all threads, guarded by a lock: FastAPI runs sync endpoints in a thread
pool while in-process tests call from the event loop, and SQLite connections are not safe to share
without it. Every use is a transaction (``CloudDB.read`` / ``CloudDB.write``), writes start with
``BEGIN IMMEDIATE`` so a write never has to upgrade its lock midway.

A license belongs to a partner; ``customer_id`` NULL means it is still in the partner's own
inventory, ``install_code`` NULL means it is not active anywhere (available for download).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date
from pathlib import Path
from typing import NamedTuple
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from core import sqlite_file
from core.audit_head import AuditHead
from core.models import LicenseKind, LicenseTerms

SCHEMA_VERSION = 5
DB_FILE = "cloud.db"
BUSY_TIMEOUT_MS = 5_000

# Index = the version a script upgrades *from*; append, never edit, so old files migrate in order.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE partners (
        partner_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token TEXT NOT NULL UNIQUE
    );
    CREATE TABLE customers (
        customer_id TEXT PRIMARY KEY,
        partner_id TEXT NOT NULL REFERENCES partners(partner_id),
        name TEXT NOT NULL
    );
    CREATE INDEX customers_by_partner ON customers(partner_id, name);
    CREATE TABLE licenses (
        license_id TEXT PRIMARY KEY,
        partner_id TEXT NOT NULL REFERENCES partners(partner_id),
        customer_id TEXT REFERENCES customers(customer_id),
        kind TEXT NOT NULL CHECK (kind IN ('capacity', 'maintenance')),
        devices INTEGER NOT NULL CHECK (devices > 0),
        term_years INTEGER,
        expires_on TEXT,
        earmarked_install_code TEXT,
        install_code TEXT,
        transfer_date TEXT,
        created_seq INTEGER NOT NULL UNIQUE
    );
    CREATE INDEX licenses_by_customer ON licenses(customer_id, created_seq);
    CREATE INDEX licenses_by_install ON licenses(install_code);
    CREATE INDEX licenses_by_partner ON licenses(partner_id, created_seq);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        response_json TEXT NOT NULL
    );
    """,
    # 1 -> 2: the Customer Portal. A device key is remembered per install code so that only that
    # controller can hand licenses back with a return receipt; requests and receipts keep their
    # first answer so a second upload of the same file changes nothing.
    """
    CREATE TABLE device_keys (
        install_code TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        public_key_pem TEXT NOT NULL,
        registered_on TEXT NOT NULL
    );
    CREATE TABLE offline_requests (
        request_id TEXT PRIMARY KEY,
        document_hash TEXT NOT NULL,
        install_code TEXT NOT NULL,
        response_json TEXT NOT NULL
    );
    CREATE TABLE return_receipts (
        receipt_id TEXT PRIMARY KEY,
        document_hash TEXT NOT NULL,
        install_code TEXT NOT NULL,
        answer_json TEXT NOT NULL
    );
    """,
    # 2 -> 3: the download listing. Its filter and order in one index, so a page seeks to its
    # cursor and the count of the available licenses reads the index alone.
    """
    CREATE INDEX licenses_available
        ON licenses(customer_id, install_code, created_seq, earmarked_install_code);
    """,
    # 3 -> 4: stored answers expire (core.mock_cloud.idempotency.ANSWER_LIFETIME). When each was
    # stored sits beside it, so the rows of older files stay as they were (those have no time and
    # count as expired: their keys were not yet scoped per caller).
    """
    CREATE TABLE idempotency_times (
        key TEXT PRIMARY KEY REFERENCES idempotency(key),
        stored_at REAL NOT NULL
    );
    CREATE INDEX idempotency_by_time ON idempotency_times(stored_at);
    """,
    # 4 -> 5: the newest signed audit head per install code (core.audit_head), the anchor that a
    # controller's rewritten history is checked against.
    """
    CREATE TABLE audit_heads (
        install_code TEXT PRIMARY KEY,
        head_json    TEXT NOT NULL
    );
    """,
]
assert len(_MIGRATIONS) == SCHEMA_VERSION


class CloudDBError(Exception):
    """The cloud database cannot be used (damaged, or written by a newer version)."""


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Partner(_Row):
    partner_id: UUID
    name: str
    token: str


class Customer(_Row):
    customer_id: UUID
    partner_id: UUID
    name: str


class LicenseRecord(_Row):
    license_id: UUID
    partner_id: UUID
    customer_id: UUID | None = None
    kind: LicenseKind
    devices: int
    term_years: int | None = None
    expires_on: date | None = None
    earmarked_install_code: str | None = None
    install_code: str | None = None
    transfer_date: date | None = None
    created_seq: int = 0  # given by Tx.add_license

    def terms(self) -> LicenseTerms:
        return LicenseTerms(
            license_id=self.license_id,
            kind=self.kind,
            devices=self.devices,
            term_years=self.term_years,
            expires_on=self.expires_on,
        )


class IdempotencyRecord(_Row):
    key: str
    request_hash: str
    status: int
    response_json: str
    stored_at: float | None = None  # Unix seconds by the cloud's clock; None in files before schema 4


class DeviceKey(_Row):
    install_code: str
    key_id: str
    public_key_pem: str
    registered_on: date


class StoredDocumentAnswer(_Row):
    """The first answer to an offline request or return receipt, kept with the file's hash."""

    document_id: str
    document_hash: str
    install_code: str
    answer_json: str


_LICENSE_COLUMNS = (
    "license_id, partner_id, customer_id, kind, devices, term_years, expires_on, "
    "earmarked_install_code, install_code, transfer_date, created_seq"
)


def _license(row: sqlite3.Row) -> LicenseRecord:
    return LicenseRecord.model_validate(dict(row))


def _text(value: UUID | date | None) -> str | None:
    return None if value is None else str(value)


class AvailablePage(NamedTuple):
    # Rows as stored (text dates and ids), not LicenseRecords: a listing validates them once,
    # as the page it answers with (see licensing.cloud_license_page).
    rows: list[sqlite3.Row]
    total: int
    more: bool  # another page follows this one


class Tx:
    """The queries of one transaction. Only valid inside ``CloudDB.read()`` / ``CloudDB.write()``."""

    def __init__(self, conn: sqlite3.Connection, counts: dict[object, object] | None = None) -> None:
        self._conn = conn
        # Kept by the CloudDB across transactions; only ever used under its lock.
        self._counts: dict[object, object] = {} if counts is None else counts

    # --- partners and customers ------------------------------------------------------------

    def add_partner(self, partner: Partner) -> None:
        self._conn.execute(
            "INSERT INTO partners (partner_id, name, token) VALUES (?, ?, ?)",
            (str(partner.partner_id), partner.name, partner.token),
        )

    def partner_by_token(self, token: str) -> Partner | None:
        row = self._conn.execute("SELECT * FROM partners WHERE token = ?", (token,)).fetchone()
        return None if row is None else Partner.model_validate(dict(row))

    def partners(self) -> list[Partner]:
        rows = self._conn.execute("SELECT * FROM partners ORDER BY name, partner_id").fetchall()
        return [Partner.model_validate(dict(r)) for r in rows]

    def add_customer(self, customer: Customer) -> None:
        self._conn.execute(
            "INSERT INTO customers (customer_id, partner_id, name) VALUES (?, ?, ?)",
            (str(customer.customer_id), str(customer.partner_id), customer.name),
        )

    def customer(self, customer_id: UUID) -> Customer | None:
        row = self._conn.execute(
            "SELECT * FROM customers WHERE customer_id = ?", (str(customer_id),)
        ).fetchone()
        return None if row is None else Customer.model_validate(dict(row))

    def customers_of(self, partner_id: UUID) -> list[Customer]:
        rows = self._conn.execute(
            "SELECT * FROM customers WHERE partner_id = ? ORDER BY name, customer_id", (str(partner_id),)
        ).fetchall()
        return [Customer.model_validate(dict(r)) for r in rows]

    # --- licenses --------------------------------------------------------------------------

    def add_license(self, record: LicenseRecord) -> LicenseRecord:
        """Insert ``record`` after all others; its ``created_seq`` is assigned here."""
        (seq,) = self._conn.execute("SELECT COALESCE(MAX(created_seq), 0) + 1 FROM licenses").fetchone()
        stored = record.model_copy(update={"created_seq": seq})
        self._conn.execute(
            f"INSERT INTO licenses ({_LICENSE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(stored.license_id),
                str(stored.partner_id),
                _text(stored.customer_id),
                stored.kind.value,
                stored.devices,
                stored.term_years,
                _text(stored.expires_on),
                stored.earmarked_install_code,
                stored.install_code,
                _text(stored.transfer_date),
                stored.created_seq,
            ),
        )
        return stored

    def license(self, license_id: UUID) -> LicenseRecord | None:
        row = self._conn.execute(
            f"SELECT {_LICENSE_COLUMNS} FROM licenses WHERE license_id = ?", (str(license_id),)
        ).fetchone()
        return None if row is None else _license(row)

    def licenses_by_id(self, license_ids: Iterable[UUID]) -> dict[UUID, LicenseRecord]:
        """The records of those ``license_ids`` that exist, in one query (a batch of 500 is one)."""
        rows = self._conn.execute(
            f"SELECT {_LICENSE_COLUMNS} FROM licenses WHERE license_id IN (SELECT value FROM json_each(?))",
            (json.dumps([str(i) for i in license_ids]),),
        ).fetchall()
        return {record.license_id: record for record in map(_license, rows)}

    def available_licenses(
        self, customer_id: UUID, *, for_install_code: str | None, offset: int, limit: int
    ) -> tuple[list[LicenseRecord], int]:
        """A page of the customer's licenses not active anywhere, and how many there are in all."""
        page = self.available_page(customer_id, for_install_code=for_install_code, offset=offset, limit=limit)
        return [_license(row) for row in page.rows], page.total

    def available_page(
        self,
        customer_id: UUID,
        *,
        for_install_code: str | None,
        offset: int,
        limit: int,
        after: UUID | None = None,
    ) -> AvailablePage:
        """A page of the customer's licenses not active anywhere, oldest first.

        With ``for_install_code``, licenses earmarked for another install code are left out: that
        segment could never activate them. ``after`` (the last license of the previous page) is a
        keyset cursor: the page starts right after it, found through the index instead of
        stepping over ``offset`` rows. An ``after`` that is not one of the customer's licenses is
        ignored, and ``offset`` used.
        """
        where = "customer_id = ? AND install_code IS NULL"
        args: list[object] = [str(customer_id)]
        if for_install_code is not None:
            where += " AND (earmarked_install_code IS NULL OR earmarked_install_code = ?)"
            args.append(for_install_code)
        seek = None if after is None else self._created_seq(customer_id, after)
        # One row more than asked tells whether another page follows, whatever moved meanwhile.
        if seek is None:
            sql = f"{where} ORDER BY created_seq LIMIT ? OFFSET ?"
            page_args = [*args, limit + 1, offset]
        else:
            sql = f"{where} AND created_seq > ? ORDER BY created_seq LIMIT ?"
            page_args = [*args, seek, limit + 1]
        rows = self._conn.execute(
            f"SELECT {_LICENSE_COLUMNS} FROM licenses WHERE {sql}", page_args
        ).fetchall()
        total = self._available_count(where, args)
        return AvailablePage(rows[:limit], total, len(rows) > limit)

    def _created_seq(self, customer_id: UUID, license_id: UUID) -> int | None:
        row = self._conn.execute(
            "SELECT created_seq FROM licenses WHERE license_id = ? AND customer_id = ?",
            (str(license_id), str(customer_id)),
        ).fetchone()
        return None if row is None else int(row[0])

    def _available_count(self, where: str, args: list[object]) -> int:
        """COUNT(*) of ``where``, remembered until the database changes.

        Listing 100,000 licenses asks for the same count on each of its 100 pages; counting
        reads the whole index (~13 ms) each time. The memo is checked against a change token
        taken inside this transaction, after its first read, so it is exact for this snapshot.
        """
        token = (self._conn.total_changes, self._conn.execute("PRAGMA data_version").fetchone()[0])
        memo = self._counts
        if memo.get("token") != token:
            memo.clear()
            memo["token"] = token
        key = (where, *args)
        if key not in memo:
            (memo[key],) = self._conn.execute(f"SELECT COUNT(*) FROM licenses WHERE {where}", args).fetchone()
        count = memo[key]
        assert isinstance(count, int)  # a (where, *args) key holds a count; only "token" holds a token
        return count

    def active_licenses(self, customer_id: UUID, install_code: str) -> list[LicenseRecord]:
        rows = self._conn.execute(
            f"SELECT {_LICENSE_COLUMNS} FROM licenses WHERE customer_id = ? AND install_code = ? "
            "ORDER BY created_seq",
            (str(customer_id), install_code),
        ).fetchall()
        return [_license(r) for r in rows]

    def customer_licenses(self, customer_id: UUID) -> list[LicenseRecord]:
        """Every license handed to the customer, active or not."""
        rows = self._conn.execute(
            f"SELECT {_LICENSE_COLUMNS} FROM licenses WHERE customer_id = ? ORDER BY created_seq",
            (str(customer_id),),
        ).fetchall()
        return [_license(r) for r in rows]

    def inventory(self, partner_id: UUID) -> list[LicenseRecord]:
        """The partner's licenses not yet handed to any customer."""
        rows = self._conn.execute(
            f"SELECT {_LICENSE_COLUMNS} FROM licenses WHERE partner_id = ? AND customer_id IS NULL "
            "ORDER BY created_seq",
            (str(partner_id),),
        ).fetchall()
        return [_license(r) for r in rows]

    def set_install_code(self, license_id: UUID, install_code: str | None, transfer_date: date) -> None:
        """Activate on ``install_code``, or return to the cloud with None; the date is recorded."""
        self._conn.execute(
            "UPDATE licenses SET install_code = ?, transfer_date = ? WHERE license_id = ?",
            (install_code, transfer_date.isoformat(), str(license_id)),
        )

    def set_install_codes(self, changes: Iterable[tuple[UUID, str | None]], transfer_date: date) -> None:
        """``set_install_code`` for many licenses in one statement."""
        day = transfer_date.isoformat()
        self._conn.executemany(
            "UPDATE licenses SET install_code = ?, transfer_date = ? WHERE license_id = ?",
            ((install_code, day, str(license_id)) for license_id, install_code in changes),
        )

    def assign_to_customer(self, license_id: UUID, customer_id: UUID, transfer_date: date) -> None:
        self._conn.execute(
            "UPDATE licenses SET customer_id = ?, transfer_date = ? WHERE license_id = ?",
            (str(customer_id), transfer_date.isoformat(), str(license_id)),
        )

    def set_earmark(self, license_id: UUID, install_code: str | None) -> None:
        self._conn.execute(
            "UPDATE licenses SET earmarked_install_code = ? WHERE license_id = ?",
            (install_code, str(license_id)),
        )

    # --- settings of the cloud itself ------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # --- idempotency -----------------------------------------------------------------------

    def idempotency(self, key: str) -> IdempotencyRecord | None:
        row = self._conn.execute(
            "SELECT i.*, t.stored_at FROM idempotency i LEFT JOIN idempotency_times t USING (key) "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        return None if row is None else IdempotencyRecord.model_validate(dict(row))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._conn.execute(
            "INSERT INTO idempotency (key, request_hash, status, response_json) VALUES (?, ?, ?, ?)",
            (record.key, record.request_hash, record.status, record.response_json),
        )
        if record.stored_at is not None:
            self._conn.execute(
                "INSERT INTO idempotency_times (key, stored_at) VALUES (?, ?)", (record.key, record.stored_at)
            )

    def forget_idempotency(self, keys: Iterable[str]) -> None:
        rows = [(key,) for key in keys]
        self._conn.executemany("DELETE FROM idempotency_times WHERE key = ?", rows)
        self._conn.executemany("DELETE FROM idempotency WHERE key = ?", rows)

    def idempotency_stored_before(self, cutoff: float) -> list[str]:
        """Keys of the answers stored before ``cutoff`` (Unix seconds)."""
        rows = self._conn.execute(
            "SELECT key FROM idempotency_times WHERE stored_at < ?", (cutoff,)
        ).fetchall()
        return [str(row[0]) for row in rows]

    # --- Customer Portal: device keys and offline files ------------------------------------

    def device_key(self, install_code: str) -> DeviceKey | None:
        row = self._conn.execute(
            "SELECT * FROM device_keys WHERE install_code = ?", (install_code,)
        ).fetchone()
        return None if row is None else DeviceKey.model_validate(dict(row))

    def set_device_key(self, key: DeviceKey) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO device_keys (install_code, key_id, public_key_pem, registered_on) "
            "VALUES (?, ?, ?, ?)",
            (key.install_code, key.key_id, key.public_key_pem, key.registered_on.isoformat()),
        )

    def audit_head(self, install_code: str) -> AuditHead | None:
        row = self._conn.execute(
            "SELECT head_json FROM audit_heads WHERE install_code = ?", (install_code,)
        ).fetchone()
        return None if row is None else AuditHead.model_validate_json(row[0])

    def set_audit_head(self, head: AuditHead) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO audit_heads (install_code, head_json) VALUES (?, ?)",
            (head.install_code, head.model_dump_json()),
        )

    def installed_count(self, install_code: str) -> int:
        """How many licenses, of any customer, are active on ``install_code``."""
        (count,) = self._conn.execute(
            "SELECT COUNT(*) FROM licenses WHERE install_code = ?", (install_code,)
        ).fetchone()
        return int(count)

    def offline_request(self, request_id: str) -> StoredDocumentAnswer | None:
        row = self._conn.execute(
            "SELECT request_id AS document_id, document_hash, install_code, response_json AS answer_json "
            "FROM offline_requests WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        return None if row is None else StoredDocumentAnswer.model_validate(dict(row))

    def put_offline_request(self, stored: StoredDocumentAnswer) -> None:
        self._conn.execute(
            "INSERT INTO offline_requests (request_id, document_hash, install_code, response_json) "
            "VALUES (?, ?, ?, ?)",
            (stored.document_id, stored.document_hash, stored.install_code, stored.answer_json),
        )

    def return_receipt(self, receipt_id: str) -> StoredDocumentAnswer | None:
        row = self._conn.execute(
            "SELECT receipt_id AS document_id, document_hash, install_code, answer_json "
            "FROM return_receipts WHERE receipt_id = ?",
            (receipt_id,),
        ).fetchone()
        return None if row is None else StoredDocumentAnswer.model_validate(dict(row))

    def put_return_receipt(self, stored: StoredDocumentAnswer) -> None:
        self._conn.execute(
            "INSERT INTO return_receipts (receipt_id, document_hash, install_code, answer_json) "
            "VALUES (?, ?, ?, ?)",
            (stored.document_id, stored.document_hash, stored.install_code, stored.answer_json),
        )


class CloudDB:
    """The database file ``<data_dir>/cloud.db``, created (mode 0600, WAL) and migrated on open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._counts: dict[object, object] = {}  # see Tx._available_count
        try:
            sqlite_file.create_private(path)
            conn = sqlite_file.connect(path, busy_timeout_ms=BUSY_TIMEOUT_MS)
            sqlite_file.use_wal(conn, busy_timeout_ms=BUSY_TIMEOUT_MS)
        except (OSError, sqlite3.Error) as exc:
            raise CloudDBError(f"Cannot open the cloud database {path}: {exc}") from exc
        self._conn = conn
        self._migrate()

    @classmethod
    def open(cls, data_dir: Path) -> CloudDB:
        return cls(data_dir / DB_FILE)

    def _migrate(self) -> None:
        with self._lock:
            try:
                sqlite_file.migrate(self._conn, _MIGRATIONS)
            except sqlite_file.NewerSchema as exc:
                raise CloudDBError(
                    f"{self.path} was written by a newer version (schema {exc.version} > {SCHEMA_VERSION})."
                ) from exc
            except sqlite3.Error as exc:
                raise CloudDBError(f"Cannot prepare the cloud database {self.path}: {exc}") from exc

    def schema_version(self) -> int:
        with self._lock:
            return sqlite_file.user_version(self._conn)

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[Tx]:
        with self._lock:
            self._conn.execute(begin)
            try:
                yield Tx(self._conn, self._counts)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def read(self) -> AbstractContextManager[Tx]:
        """A consistent snapshot for reading."""
        return self._transaction("BEGIN")

    def write(self) -> AbstractContextManager[Tx]:
        """A write transaction: all or nothing."""
        return self._transaction("BEGIN IMMEDIATE")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
