"""Files made by an earlier smartlic open and migrate with this one, their data intact.

The fixtures are ``iterdump()`` SQL of a controller store (schema 1) and a mock cloud database
(schema 3) written by smartlic at commit da6941c, before the store became a package. They are never
regenerated: a later schema adds a new fixture next to them, so every released schema stays covered.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from uuid import UUID

from core.audit_chain import verify_audit_chain
from core.mock_cloud.db import SCHEMA_VERSION as CLOUD_SCHEMA_VERSION
from core.mock_cloud.db import CloudDB
from core.models import DeviceState, LicenseKind, OperationKind
from core.store import SCHEMA_VERSION, Store
from tests.store.store_helpers import NOW, open_store

FIXTURES = Path(__file__).parent / "fixtures"
CUSTOMER = UUID(int=0xC0FFEE)

Rows = dict[str, set[tuple[object, ...]]]  # table name -> its rows


def _load(fixture: str, path: Path) -> Rows:
    """A fresh file holding the fixture; returns the rows of each of its tables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / fixture).read_text(encoding="utf-8"))
    rows = _rows(conn)
    conn.close()
    return rows


def _rows(conn: sqlite3.Connection) -> Rows:
    tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
    return {table: set(conn.execute(f'SELECT * FROM "{table}"')) for table in tables}


def _after(path: Path) -> tuple[int, Rows]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0], _rows(conn)
    finally:
        conn.close()


def _assert_kept(before: Rows, after: Rows) -> None:
    # Every row of every table is still there, unchanged: a migration may add, never rewrite.
    for table, rows in before.items():
        assert rows <= after[table], table


def test_a_schema_1_store_opens_with_its_data_and_audit_chain(db_path: Path) -> None:
    before = _load("store_v1.sql", db_path)
    store: Store = open_store(db_path)
    try:
        assert not store.read_only and store.safe_mode_reason is None
        assert store.integrity_ok()
        with store.read() as tx:
            a, b = tx.segments()
            licenses = tx.licenses()
            counts_a = tx.device_counts(a.install_code)
            journal = tx.journal()
            audit = tx.audit_entries()
            last_sync = tx.meta_get("last_sync")
    finally:
        store.close()
    assert (a.name, a.install_code, a.customer_id) == ("SmartServer-A", "k9p34y6", CUSTOMER)
    assert (b.name, b.install_code, b.customer_id) == ("SmartServer-B", "n3wd25r", None)
    assert [(x.license_id.int, x.terms.kind, x.install_code, x.return_pending) for x in licenses] == [
        (1, LicenseKind.CAPACITY, "k9p34y6", False),
        (2, LicenseKind.MAINTENANCE, "k9p34y6", False),
        (3, LicenseKind.CAPACITY, "n3wd25r", True),
    ]
    assert licenses[0].note == "Plant room, rack 2"
    assert licenses[1].terms.expires_on == date(2029, 11, 27)
    assert licenses[0].document.payload["zeta"] == {"b": [1, 2.5, None, True], "a": "Zürich – ☃"}
    assert counts_a == {DeviceState.PROVISIONED: 1, DeviceState.UNPROVISIONED: 24, DeviceState.UNLICENSED: 9}
    assert [(e.op_id.int, e.kind, e.phase) for e in journal] == [(0xA1, OperationKind.TRANSFER, "requested")]
    assert [e.operation for e in audit] == ["seed", "activate", "transfer"]
    assert verify_audit_chain(audit) is None
    assert last_sync == "2026-11-28T09:03:00.000000+00:00"
    version, after = _after(db_path)
    assert version == SCHEMA_VERSION
    _assert_kept(before, after)


def test_a_schema_1_store_keeps_its_chain_when_written_again(db_path: Path) -> None:
    _load("store_v1.sql", db_path)
    store = open_store(db_path)
    try:
        with store.write() as tx:
            tx.set_note(UUID(int=2), "moved to rack 3")
            entry = tx.audit(
                actor="tech", operation="note", install_code="k9p34y6", detail={}, result="ok", at=NOW
            )
        with store.read() as tx:
            audit = tx.audit_entries()
    finally:
        store.close()
    assert entry.seq == 4 and audit[-1] == entry
    assert verify_audit_chain(audit) is None


def test_a_schema_3_cloud_database_opens_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "cloud" / "cloud.db"
    before = _load("cloud_v3.sql", path)
    db = CloudDB(path)
    try:
        assert db.schema_version() == CLOUD_SCHEMA_VERSION
        with db.read() as tx:
            (partner,) = tx.partners()
            customers = tx.customers_of(partner.partner_id)
            (customer,) = customers
            active = tx.active_licenses(customer.customer_id, "17q5t6a")
            records, total = tx.available_licenses(
                customer.customer_id, for_install_code="17q5t6a", offset=0, limit=100
            )
            inventory = tx.inventory(partner.partner_id)
            idempotency = tx.idempotency("op-1")
            key = tx.device_key("17q5t6a")
            request = tx.offline_request("0" * 32)
    finally:
        db.close()
    assert (partner.name, partner.token) == ("Demo Partner", "demo-partner-token")
    assert customer.name == "Demo Customer"
    assert [(r.kind, r.devices) for r in active] == [
        (LicenseKind.CAPACITY, 25),
        (LicenseKind.MAINTENANCE, 100),
    ]
    assert total == len(records) > 0 and all(r.install_code is None for r in records)
    assert len(inventory) == 4
    assert idempotency is not None and idempotency.response_json == '{"ok": true}'
    assert key is not None and key.registered_on == date(2026, 11, 28)
    assert request is not None and request.document_hash == "cd" * 32
    version, after = _after(path)
    assert version == CLOUD_SCHEMA_VERSION
    _assert_kept(before, after)
