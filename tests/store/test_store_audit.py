"""The append-only, hash-chained audit log."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from core.audit_chain import GENESIS_HASH, verify_audit_chain
from core.signing import canonical_json
from core.store import Store
from tests.store.store_helpers import NOW, open_store


def _append(store: Store, count: int) -> None:
    with store.write() as tx:
        for n in range(count):
            tx.audit(
                actor="tech@ssh",
                operation="activate",
                install_code="abc1234",
                detail={"license_ids": [UUID(int=n)], "n": n, "note": "Zürich [bold]"},
                result="ok",
                at=NOW + timedelta(minutes=n),
            )


def test_chain_links_and_hashes_as_documented(store: Store) -> None:
    _append(store, 5)
    with store.read() as tx:
        entries = tx.audit_entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, entry in itertools.pairwise(entries):
        assert entry.prev_hash == prev.hash
    last = entries[-1]
    body = {
        "seq": last.seq,
        "at": last.at.isoformat(timespec="microseconds"),
        "actor": last.actor,
        "operation": last.operation,
        "install_code": last.install_code,
        "detail": last.detail,
        "result": last.result,
    }
    assert last.hash == hashlib.sha256(last.prev_hash.encode() + canonical_json(body)).hexdigest()
    assert last.detail["license_ids"] == [str(UUID(int=4))]  # UUIDs stored as plain JSON text
    assert verify_audit_chain(entries) is None


def test_audit_returns_what_is_stored(store: Store) -> None:
    with store.write() as tx:
        made = tx.audit(actor="a", operation="note", install_code=None, detail={"x": 1}, result="ok", at=NOW)
    with store.read() as tx:
        assert tx.audit_entries()[-1] == made


def test_limit_gives_the_newest_oldest_first_and_verifies_as_a_tail(store: Store) -> None:
    _append(store, 5)
    with store.read() as tx:
        tail = tx.audit_entries(limit=3)
        assert tx.audit_entries(limit=0) == []
    assert [e.seq for e in tail] == [4, 5, 6]
    assert verify_audit_chain(tail) is None
    assert verify_audit_chain([]) is None


def _tamper(path: Path, sql: str) -> None:
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("DROP TRIGGER audit_no_delete")
    raw.execute(sql)
    raw.commit()
    raw.close()


def test_verify_names_an_edited_entry(db_path: Path) -> None:
    store = open_store(db_path)
    _append(store, 5)
    store.close()
    _tamper(db_path, "UPDATE audit SET detail = json_set(detail, '$.n', 99) WHERE seq = 4")
    store = open_store(db_path)
    with store.read() as tx:
        assert verify_audit_chain(tx.audit_entries()) == 4
    store.close()


def test_verify_names_the_entry_after_a_deleted_one(db_path: Path) -> None:
    store = open_store(db_path)
    _append(store, 5)
    store.close()
    _tamper(db_path, "DELETE FROM audit WHERE seq = 3")
    store = open_store(db_path)
    with store.read() as tx:
        assert verify_audit_chain(tx.audit_entries()) == 4
    store.close()


def test_verify_catches_a_rewritten_first_entry_and_a_forged_prev_hash(store: Store) -> None:
    _append(store, 2)
    with store.read() as tx:
        entries = tx.audit_entries()
    forged_first = entries[0].model_copy(update={"result": "failed"})
    assert verify_audit_chain([forged_first, *entries[1:]]) == 1
    relinked = entries[2].model_copy(update={"prev_hash": "f" * 64})
    assert verify_audit_chain([*entries[:2], relinked]) == 3


def test_sql_cannot_update_or_delete_audit_rows(db_path: Path) -> None:
    open_store(db_path).close()
    raw = sqlite3.connect(db_path)
    for sql in ("UPDATE audit SET result = 'x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute(sql)
    raw.close()


def test_detail_must_be_json_able(store: Store) -> None:
    with pytest.raises(TypeError), store.write() as tx:
        tx.audit(actor="a", operation="x", install_code=None, detail={"o": object()}, result="ok", at=NOW)
    with store.read() as tx:
        assert len(tx.audit_entries()) == 1
    assert json.loads(json.dumps({"ok": True}))  # the happy path is covered above
