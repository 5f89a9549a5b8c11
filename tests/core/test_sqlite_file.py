"""The SQLite base shared by the store and the mock cloud: private file, statements, migrations."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from core import sqlite_file

_TRIGGER = """
CREATE TABLE t (a INTEGER);
-- a comment line; the trigger below holds semicolons of its own
CREATE TRIGGER t_no_delete BEFORE DELETE ON t
BEGIN SELECT RAISE(ABORT, 'no; never'); END;
"""


def test_statements_keep_a_trigger_whole() -> None:
    assert sqlite_file.statements(_TRIGGER) == [
        "CREATE TABLE t (a INTEGER);",
        "CREATE TRIGGER t_no_delete BEFORE DELETE ON t\nBEGIN SELECT RAISE(ABORT, 'no; never'); END;",
    ]


def test_an_incomplete_statement_is_refused() -> None:
    with pytest.raises(ValueError, match="incomplete"):
        sqlite_file.statements("CREATE TABLE t (a INTEGER)")


def test_create_private_makes_an_owner_only_file_once(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    old = os.umask(0)  # the mode must not come from the umask
    try:
        assert sqlite_file.create_private(path) is True
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_bytes(b"kept")
    assert sqlite_file.create_private(path) is False
    assert path.read_bytes() == b"kept"


def _open(path: Path) -> sqlite3.Connection:
    return sqlite_file.connect(path, busy_timeout_ms=1000)


def test_migrate_runs_each_script_once_and_sets_the_version(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    seen: list[int] = []
    assert sqlite_file.migrate(conn, [_TRIGGER], then=seen.append) == 0
    assert sqlite_file.migrate(conn, [_TRIGGER, "CREATE TABLE u (b TEXT);"], then=seen.append) == 1
    assert sqlite_file.user_version(conn) == 2 and seen == [0, 1]
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    assert names == {"t", "t_no_delete", "u"}
    conn.close()


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    with pytest.raises(sqlite3.OperationalError):
        sqlite_file.migrate(conn, [_TRIGGER + "CREATE TABLE t (again INTEGER);"])
    assert sqlite_file.user_version(conn) == 0
    assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    assert not conn.in_transaction
    conn.close()


def test_a_newer_file_is_refused_untouched(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    conn.execute("PRAGMA user_version = 5")
    with pytest.raises(sqlite_file.NewerSchema) as caught:
        sqlite_file.migrate(conn, [_TRIGGER])
    assert (caught.value.version, caught.value.known) == (5, 1)
    assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
    conn.close()


def test_connect_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    conn = _open(tmp_path / "x.db")
    sqlite_file.use_wal(conn, busy_timeout_ms=1000)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)
    conn.close()
