"""``Store``: one SQLite file of controller state, opened, migrated, seeded on first run, and
handing out ``Tx`` transactions.

Several processes (two SSH sessions, the CLI next to the TUI) share one file, so every write is a
single ``BEGIN IMMEDIATE`` transaction: whatever a caller reads inside ``write()`` cannot change under
it, and no update is lost.

A store that cannot be trusted is never repaired or rewritten here: it is opened read-only ("safe
mode") so the technician can still look, and every write says why it is refused.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from core import sqlite_file
from core.demo_seed import DemoSeed, demo_seed
from core.errors import StoreUnavailable
from core.models import Clock
from core.store.errors import (
    BUSY_TIMEOUT_MS,
    classify,
    damaged,
    newer,
    no_space_left,
    not_smartlic,
    unreadable,
)
from core.store.schema import MIGRATIONS, SCHEMA_VERSION
from core.store.tx import Tx

__all__ = ["Store"]

_SIDECARS = ("", "-wal", "-shm")


@dataclass(frozen=True)
class _Probe:
    """What a read-only look at an existing file found; ``problem`` set means safe mode."""

    version: int
    problem: StoreUnavailable | None = None


class _SafeMode(Exception):
    """Raised inside opening when the store turns out to need safe mode after all."""

    def __init__(self, problem: StoreUnavailable) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    return sqlite_file.connect(target, uri=uri, busy_timeout_ms=BUSY_TIMEOUT_MS)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; on a full disk, where SQLite cannot make the WAL index (-shm) a
    reader needs, one that reads the file as it is (immutable), so reads still work."""
    conn = _connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        return conn
    except sqlite3.Error:
        conn.close()
        if not no_space_left(path):
            raise
    return _connect(f"{path.absolute().as_uri()}?mode=ro&immutable=1", uri=True)


def _refusal(conn: sqlite3.Connection, path: Path, version: int) -> StoreUnavailable | None:
    """Why a file at ``version`` is not one this smartlic may write, if it is not."""
    if version > SCHEMA_VERSION:
        return newer(path, version)
    if version == 0 and conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] > 0:
        return not_smartlic(path)
    return None


def _probe(path: Path) -> _Probe:
    """Look at the file without any chance of writing it (read-only connection)."""
    try:
        conn = _connect_read_only(path)
    except sqlite3.Error as exc:
        return _Probe(version=0, problem=classify(exc, path) or damaged(path))
    try:
        version = sqlite_file.user_version(conn)
        refusal = _refusal(conn, path, version)
        if refusal is not None:
            return _Probe(version=version, problem=refusal)
        if not _integrity_ok(conn):
            return _Probe(version=version, problem=damaged(path))
        return _Probe(version=version)
    except sqlite3.Error as exc:
        return _Probe(version=0, problem=classify(exc, path) or damaged(path))
    finally:
        conn.close()


def _integrity_ok(conn: sqlite3.Connection) -> bool:
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError:
        return False
    return [tuple(row) for row in rows] == [("ok",)]


def _create_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sqlite_file.create_private(path)
    except OSError as exc:
        raise classify(exc, path) or StoreUnavailable(
            f"The license store at {path} cannot be created ({exc.strerror or exc}).",
            hint=f"Check that {path.parent} exists and is writable by this user.",
            code="store_not_writable",
        ) from exc


def _restrict_permissions(path: Path) -> None:
    # SQLite gives -wal/-shm the main file's mode, but a file made before us may be looser.
    for suffix in _SIDECARS:
        with suppress(OSError):
            os.chmod(f"{path}{suffix}", 0o600)


def _seed(conn: sqlite3.Connection, clock: Clock, seed: DemoSeed) -> None:
    tx = Tx(conn, writable=True)
    conn.executemany(
        "INSERT INTO segments (install_code, name, position, customer_id) VALUES (?, ?, ?, ?)",
        [
            (s.install_code, s.name, position, None if s.customer_id is None else str(s.customer_id))
            for position, s in enumerate(seed.segments, start=1)
        ],
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


def _migrate(
    conn: sqlite3.Connection, path: Path, clock: Clock, rng: random.Random, seed: DemoSeed | None
) -> None:
    """Schema and seed in one transaction: a crash leaves either nothing or everything."""

    def check(version: int) -> None:
        refusal = _refusal(conn, path, version)
        if refusal is not None:
            raise _SafeMode(refusal)

    def seed_first_run(version: int) -> None:
        if version == 0:
            _seed(conn, clock, seed or demo_seed(rng))

    sqlite_file.migrate(conn, MIGRATIONS, check=check, then=seed_first_run)


class Store:
    """One SQLite file; safe to share between threads, and between processes through SQLite's locks."""

    path: Path
    read_only: bool
    safe_mode_reason: str | None
    safe_mode_hint: str | None
    safe_mode_code: str | None

    def __init__(
        self, conn: sqlite3.Connection, path: Path, *, safe_mode: StoreUnavailable | None = None
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self._safe_mode = safe_mode
        self.read_only = safe_mode is not None
        self.safe_mode_reason = None if safe_mode is None else safe_mode.message
        self.safe_mode_hint = None if safe_mode is None else safe_mode.hint
        self.safe_mode_code = None if safe_mode is None else safe_mode.code
        self._lock = threading.RLock()
        self._tx: Tx | None = None

    # opening and closing

    @classmethod
    def open(
        cls, path: Path, *, clock: Clock, rng: random.Random | None = None, seed: DemoSeed | None = None
    ) -> Store:
        """Create (parents too) + migrate + seed on first run: ``seed``, or the demo from ``rng``."""
        path = Path(path)
        _create_file(path)
        probe = _probe(path)
        if probe.problem is not None:
            return cls._open_safe(path, probe.problem)
        try:
            conn = cls._open_writable(path, clock, rng or random.Random(), seed)
        except (sqlite3.Error, OSError) as exc:
            problem = classify(exc, path)
            if problem is None:
                raise
            # A current store on a read-only or full disk is still worth looking at (reads work,
            # changes are refused with the reason); anything else is not.
            if problem.code in ("store_not_writable", "store_disk_full") and probe.version == SCHEMA_VERSION:
                return cls._open_safe(path, problem)
            raise problem from exc
        except _SafeMode as safe:
            return cls._open_safe(path, safe.problem)
        _restrict_permissions(path)
        return cls(conn, path)

    @classmethod
    def _open_writable(
        cls, path: Path, clock: Clock, rng: random.Random, seed: DemoSeed | None = None
    ) -> sqlite3.Connection:
        conn = _connect(str(path))
        try:
            sqlite_file.use_wal(conn, busy_timeout_ms=BUSY_TIMEOUT_MS)
            _migrate(conn, path, clock, rng, seed)
        except BaseException:
            conn.close()
            raise
        return conn

    @classmethod
    def _open_safe(cls, path: Path, problem: StoreUnavailable) -> Store:
        """Read-only; if even the segments cannot be read there is nothing to show, so refuse to open."""
        try:
            conn = _connect_read_only(path)
        except sqlite3.Error as exc:
            raise unreadable(path, problem, exc) from exc
        store = cls(conn, path, safe_mode=problem)
        try:
            with store.read() as tx:
                tx.segments()
        except (StoreUnavailable, sqlite3.Error, ValueError) as exc:
            store.close()
            raise unreadable(path, problem, exc.__cause__ or exc) from exc
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
            problem = classify(exc, self.path)
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
            problem = classify(exc, self.path)
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
