"""What a storage failure means to the user: the ``StoreUnavailable`` errors of the store, and
``classify``, which tells them apart from bugs and broken rules (those propagate unchanged)."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from core.errors import StoreUnavailable
from core.sqlite_file import SQLITE_BUSY, SQLITE_LOCKED, primary_code
from core.store.schema import SCHEMA_VERSION

__all__ = [
    "BUSY_TIMEOUT_MS",
    "busy",
    "classify",
    "damaged",
    "disk_full",
    "newer",
    "not_smartlic",
    "not_writable",
    "unreadable",
]

# How long a write waits for another smartlic's lock before it is reported busy.
BUSY_TIMEOUT_MS = 10_000

_SQLITE_PERM, _SQLITE_READONLY = 3, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


# Never "move it aside" or "start fresh": a new store makes new install codes and has no Customer
# IDs, so every license would stay bound to a controller that no longer exists.
RECOVER_HINT = (
    "Run `smartlic recover`: it keeps this file as a backup and rebuilds the store from what can "
    "still be read (segments, install codes, Customer IDs, device keys, notes) and the cloud's records."
)
FREE_SPACE_HINT = (
    "Free some space on that disk, then try again; `smartlic sync` finishes anything the cloud did already."
)


def damaged(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} is damaged; smartlic opened it read-only.",
        hint=RECOVER_HINT,
        code="store_damaged",
    )


def newer(path: Path, version: int) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} is from a newer smartlic (schema {version}, this one knows up to "
        f"{SCHEMA_VERSION}); smartlic opened it read-only.",
        hint="Upgrade smartlic on this controller to change licenses.",
        code="store_newer",
    )


def not_smartlic(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The file at {path} is an SQLite database but not a smartlic license store; "
        "smartlic opened it read-only.",
        hint="Point smartlic at another data folder; this file was left unchanged.",
        code="store_foreign",
    )


def disk_full(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The disk holding the license store at {path} is full; the store was not changed.",
        hint=FREE_SPACE_HINT,
        code="store_disk_full",
    )


def not_writable(path: Path, why: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} cannot be written ({why}); nothing was changed.",
        hint=f"Check that {path.parent} and the file are writable by this user and the disk is "
        "mounted read-write, then try again.",
        code="store_not_writable",
    )


def busy(path: Path) -> StoreUnavailable:
    return StoreUnavailable(
        f"The license store at {path} stayed locked by another smartlic for more than "
        f"{BUSY_TIMEOUT_MS // 1000} s; nothing was changed.",
        hint="Try again; if it keeps happening, close the other smartlic session.",
        code="store_busy",
    )


def unreadable(path: Path, cause: StoreUnavailable, exc: BaseException) -> StoreUnavailable:
    if cause.code == "store_disk_full":
        return cause
    if cause.code == "store_damaged":
        return StoreUnavailable(
            f"The license store at {path} is damaged and cannot be read ({exc}); smartlic left the "
            "file unchanged.",
            hint=RECOVER_HINT,
            code="store_unreadable",
        )
    what = cause.message.removesuffix("; smartlic opened it read-only.").removesuffix(".")
    return StoreUnavailable(
        f"{what}; it cannot be read either ({exc}), and smartlic left it unchanged.",
        hint=cause.hint,
        code=cause.code,
    )


def no_space_left(path: Path) -> bool:
    """Whether the file system holding ``path`` has no space left (SQLite words a full disk as an
    I/O error when it cannot even make the -shm file)."""
    try:
        stats = os.statvfs(path.parent if not path.is_dir() else path)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def classify(exc: BaseException, path: Path) -> StoreUnavailable | None:
    """The user-facing error for a storage failure, or None when ``exc`` is not one (a bug, a rule)."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return disk_full(path)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return not_writable(path, exc.strerror or str(exc))
        return None
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) or isinstance(
        exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError
    ):
        return None
    code, text = primary_code(exc), str(exc).lower()
    if code == _SQLITE_FULL or "disk is full" in text:
        return disk_full(path)
    if (code == _SQLITE_IOERR or "disk i/o error" in text) and no_space_left(path):
        return disk_full(path)
    if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM, _SQLITE_IOERR) or any(
        part in text for part in ("readonly database", "unable to open", "disk i/o error")
    ):
        return not_writable(path, str(exc))
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in text:
        return busy(path)
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return damaged(path)
    return None
