"""A store that cannot be trusted is opened read-only and never rewritten; failed writes change nothing."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

import core.store.opening
from core.errors import StoreUnavailable
from core.store import SCHEMA_VERSION, Store, Tx
from tests.store.store_helpers import make_license, open_store


def _store_with_licenses(path: Path, count: int = 200) -> None:
    """A closed store (WAL checkpointed into the main file) big enough to span several pages."""
    store = open_store(path)
    with store.read() as tx:
        code = tx.segments()[0].install_code
    with store.write() as tx:
        tx.put_licenses([make_license(n, code, note="n" * 200) for n in range(1, count + 1)])
    store.close()
    assert not Path(f"{path}-wal").exists()


def _page_size(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:18], "big")


def _root_page(path: Path, table: str) -> int:
    raw = sqlite3.connect(path)
    (page,) = raw.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (table,)).fetchone()
    raw.close()
    return int(page)


def _overwrite_page(path: Path, page: int) -> None:
    size = _page_size(path)
    with path.open("r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(bytes([0xA5]) * size)


def _refuses_writes(store: Store) -> StoreUnavailable:
    with pytest.raises(StoreUnavailable) as caught, store.write() as tx:
        tx.meta_set("k", "v")
    return caught.value


def test_corrupted_pages_open_read_only_and_leave_the_file_alone(db_path: Path) -> None:
    _store_with_licenses(db_path)
    _overwrite_page(db_path, _root_page(db_path, "licenses"))
    before = db_path.read_bytes()
    store = open_store(db_path)
    assert store.read_only
    assert store.safe_mode_reason is not None and "damaged" in store.safe_mode_reason
    assert str(db_path) in store.safe_mode_reason
    assert not store.integrity_ok()
    with store.read() as tx:
        assert len(tx.segments()) == 2  # what can be read, still is
    with pytest.raises(StoreUnavailable, match="damaged"), store.read() as tx:
        tx.licenses()
    refused = _refuses_writes(store)
    assert "read-only" in refused.message and refused.hint is not None and "smartlic recover" in refused.hint
    store.close()
    assert db_path.read_bytes() == before


def test_a_file_of_garbage_is_refused_and_left_byte_identical(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = bytes(range(256)) * 40
    db_path.write_bytes(garbage)
    with pytest.raises(StoreUnavailable, match="damaged and cannot be read") as caught:
        open_store(db_path)
    assert caught.value.hint is not None
    assert db_path.read_bytes() == garbage


def test_a_truncated_file_is_never_rewritten(db_path: Path) -> None:
    _store_with_licenses(db_path)
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2])
    before = db_path.read_bytes()
    try:
        store = open_store(db_path)
    except StoreUnavailable as exc:
        assert "damaged" in exc.message
    else:
        assert store.read_only and store.safe_mode_reason is not None
        _refuses_writes(store)
        store.close()
    assert db_path.read_bytes() == before


def test_a_store_from_a_newer_smartlic_is_read_only(db_path: Path) -> None:
    open_store(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    before = db_path.read_bytes()
    store = open_store(db_path)
    assert store.read_only
    assert store.safe_mode_reason is not None and "newer smartlic" in store.safe_mode_reason
    with store.read() as tx:
        assert len(tx.devices()) == 60
    _refuses_writes(store)
    store.close()
    assert db_path.read_bytes() == before


def test_another_programs_database_is_not_touched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE foo (x)")
    raw.commit()
    raw.close()
    before = db_path.read_bytes()
    with pytest.raises(StoreUnavailable, match="not a smartlic license store"):
        open_store(db_path)
    assert db_path.read_bytes() == before


def test_a_folder_that_cannot_be_made_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match="cannot be created"):
        open_store(blocker / "smartlic.db")


def test_a_read_only_disk_opens_a_current_store_read_only(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(db_path).close()
    real_connect = core.store.opening._connect

    def connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
        if not uri:  # only the read-write connection fails, as on a read-only mount
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real_connect(target, uri=uri)

    monkeypatch.setattr(core.store.opening, "_connect", connect)
    store = open_store(db_path)
    assert store.read_only
    assert store.safe_mode_reason is not None and "cannot be written" in store.safe_mode_reason
    _refuses_writes(store)
    store.close()


def _snapshot(store: Store) -> tuple[Any, ...]:
    with store.read() as tx:
        return (tx.licenses(), tx.devices(), tx.audit_entries(), tx.meta_get("k"), tx.journal())


def test_disk_full_inside_a_write_rolls_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(store)
    real_put = Tx.put_licenses

    def put_then_fail(self: Tx, licenses: Any) -> None:
        real_put(self, licenses)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Tx, "put_licenses", put_then_fail)
    with pytest.raises(StoreUnavailable, match=r"disk .* is full") as caught, store.write() as tx:
        tx.meta_set("k", "v")
        tx.put_licenses([make_license(1, tx.segments()[0].install_code)])
    assert caught.value.code == "store_disk_full" and caught.value.hint
    assert _snapshot(store) == before


def test_real_sqlite_full_error_rolls_back(store: Store) -> None:
    """SQLite's own SQLITE_FULL, made by capping the file at its current size."""
    before = _snapshot(store)
    conn = store._connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreUnavailable, match="full"), store.write() as tx:
        code = tx.segments()[0].install_code
        tx.meta_set("k", "v")
        tx.put_licenses([make_license(n, code, note="x" * 5000) for n in range(1, 200)])
    assert _snapshot(store) == before
    conn.execute("PRAGMA max_page_count = 1073741823")
    with store.write() as tx:
        tx.meta_set("k", "after")
    assert store.integrity_ok()


def test_enospc_from_the_os_is_reported_as_disk_full(store: Store) -> None:
    before = _snapshot(store)
    with pytest.raises(StoreUnavailable, match="full"), store.write() as tx:
        tx.meta_set("k", "v")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert _snapshot(store) == before


class _FailingCommit:
    """Wraps the connection so that COMMIT fails the way a full disk makes it fail."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_disk_full_at_commit_changes_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _snapshot(store)
    real = store._connection()
    monkeypatch.setattr(store, "_conn", _FailingCommit(real))
    with pytest.raises(StoreUnavailable, match="full"), store.write() as tx:
        tx.meta_set("k", "v")
    monkeypatch.setattr(store, "_conn", real)
    assert _snapshot(store) == before


def test_a_lock_held_too_long_is_reported_as_busy(db_path: Path) -> None:
    store = open_store(db_path)
    store._connection().execute("PRAGMA busy_timeout = 200")  # not the 10 s a technician waits
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="locked by another smartlic"), store.write() as tx:
            tx.meta_set("k", "v")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with store.write() as tx:
        tx.meta_set("k", "v")
    store.close()


def test_a_crash_during_the_seed_leaves_nothing_half_made(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(Tx, "audit", crash)  # the last step of the seed
    with pytest.raises(RuntimeError, match="power cut"):
        open_store(db_path)
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    raw.close()
    monkeypatch.undo()
    store = open_store(db_path)
    with store.read() as tx:
        assert len(tx.devices()) == 60
        assert tx.license(UUID(int=1)) is None
    store.close()
