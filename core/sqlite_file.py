"""The SQLite plumbing the controller store and the mock cloud share.

An owner-only file, a connection set up the same way, WAL, and forward migrations applied in one
transaction. What a failure means to the user (safe mode, messages) stays with each caller.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

__all__ = [
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "NewerSchema",
    "connect",
    "create_private",
    "migrate",
    "primary_code",
    "statements",
    "use_wal",
    "user_version",
]

# Primary result codes (extended codes carry them in the low byte).
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


class NewerSchema(Exception):
    """The file was written by a newer program: its schema is past the last known migration."""

    def __init__(self, version: int, known: int) -> None:
        super().__init__(f"schema {version} is newer than {known}")
        self.version = version
        self.known = known


def primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def create_private(path: Path) -> bool:
    """Make the file at ``path`` owner-only before SQLite makes it with the umask's mode.

    O_EXCL: the file is either made here with mode 0600 or was already there (another process may
    have made it a moment ago); True when made here. SQLite gives -wal/-shm the main file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def connect(target: str | Path, *, busy_timeout_ms: int, uri: bool = False) -> sqlite3.Connection:
    # isolation_level=None: callers issue BEGIN/COMMIT themselves, so the transaction kind is theirs.
    conn = sqlite3.connect(
        target, uri=uri, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def use_wal(conn: sqlite3.Connection, *, busy_timeout_ms: int) -> None:
    """Switch to WAL once per file; it persists, so later opens only read the mode.

    The switch needs an exclusive lock and SQLite does not call the busy handler for it, so two
    processes opening a new file together retry here, bounded by the busy timeout.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = primary_code(exc) in (SQLITE_BUSY, SQLITE_LOCKED) or "locked" in str(exc).lower()
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def statements(sql: str) -> list[str]:
    """Split a script into complete statements; a trigger's body holds semicolons of its own."""
    result: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            result.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in migration: {current.strip()[:60]}")
    return result


def migrate(
    conn: sqlite3.Connection,
    scripts: Sequence[str],
    *,
    check: Callable[[int], None] | None = None,
    then: Callable[[int], None] | None = None,
) -> int:
    """Bring the file to schema ``len(scripts)`` in one transaction: every step, or none after a crash.

    ``scripts[n]`` takes ``PRAGMA user_version`` n to n + 1; scripts are only ever appended, since
    files in the field already ran the released ones. The version is read under the write lock,
    because another process may have migrated the file meanwhile. ``check(version)`` may refuse the
    file by raising; a file past the last script raises ``NewerSchema``. ``then(version)`` runs in
    the same transaction after the scripts (a first-run seed). Returns the version found.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = user_version(conn)
        if check is not None:
            check(found)
        if found > len(scripts):
            raise NewerSchema(found, len(scripts))
        for version in range(found + 1, len(scripts) + 1):
            # executescript() would COMMIT the transaction first; run statement by statement instead.
            for statement in statements(scripts[version - 1]):
                conn.execute(statement)
            # user_version is part of the database header, so it commits or rolls back with the rest.
            conn.execute(f"PRAGMA user_version = {version:d}")
        if then is not None:
            then(found)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return found
