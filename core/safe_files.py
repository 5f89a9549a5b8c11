"""The one way smartlic reads a file it is given and writes a file it is asked for.

smartlic runs as root and handles files carried over by hand, so neither side trusts the path:

* Reading (license and response files, keys, requests, receipts, settings): only a regular file is
  read (a symlink to one is fine); a FIFO, a device or a folder is refused from ``stat``/``fstat``
  without a read, and opened with O_NONBLOCK so even a FIFO swapped in at the last moment never
  blocks. At most ``limit`` + 1 bytes are read, so ``/dev/zero`` or a 2 GB file cannot fill memory.
  A UTF-8 byte order mark (Notepad adds one) is dropped.
* Writing (request, receipt, response files, support bundles): the bytes go to a new temp file
  beside the target (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, a random name, so nothing planted at
  ``PATH.tmp`` is followed or written), are fsynced, then put in place and the folder fsynced. A
  target that exists and is not a regular file (a symlink, a device like /dev/null, a FIFO, a
  folder) is always refused; an existing regular file only with ``force``. Without ``force`` the
  file is put in place with ``link``, which fails if anything appeared there in the meantime.

Leaf module: it imports core.errors only, so every layer (and the mock cloud) can use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import FileError, FileNotWritten, FileRefused

__all__ = [
    "DOCUMENT_LIMIT",
    "KEY_LIMIT",
    "SETTINGS_LIMIT",
    "FileError",
    "PreparedFile",
    "check_writable_target",
    "prepare_file",
    "read_bytes",
    "read_text",
    "write_file",
]

DOCUMENT_LIMIT = 16 * 1024 * 1024
"""Signed documents: license response files, requests, receipts (a full response is well under)."""
KEY_LIMIT = 64 * 1024
"""A PEM public key is a few hundred bytes."""
SETTINGS_LIMIT = 1024 * 1024
"""The settings file (TOML)."""

UTF8_BOM = b"\xef\xbb\xbf"
NOTHING_READ = "Nothing was changed."
NOTHING_WRITTEN = "Nothing was written."


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


# --- reading ---------------------------------------------------------------------------------


def _refuse_not_regular(path: Path, mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        raise FileRefused(
            f"{path} is {_kind(mode)}, not a {what}.",
            hint=f"Give the path of the {what} itself. {NOTHING_READ}",
            code="not_a_regular_file",
        )


def read_bytes(path: Path, *, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file at ``path`` (a BOM dropped), or FileRefused saying why not.

    ``what`` names the file in messages ("license file", "public key file").
    """
    try:
        _refuse_not_regular(path, os.stat(path).st_mode, what)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileRefused(
            f"There is no file {path}.", hint=f"Check the path. {NOTHING_READ}", code="no_such_file"
        ) from None
    except OSError as exc:
        raise FileRefused(
            f"Cannot read {path}: {exc.strerror or exc}.",
            hint=f"Check the path and its permissions. {NOTHING_READ}",
            code="unreadable_file",
        ) from None
    try:
        # The path may have been swapped between stat and open: the open file decides.
        _refuse_not_regular(path, os.fstat(fd).st_mode, what)
        os.set_blocking(fd, True)
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise FileRefused(
            f"Cannot read {path}: {exc.strerror or exc}.", hint=NOTHING_READ, code="unreadable_file"
        ) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileRefused(
            f"{path} is larger than {_size(limit)}: too large to be a {what}.",
            hint=f"Check that it is the right file. {NOTHING_READ}",
            code="file_too_large",
        )
    return data.removeprefix(UTF8_BOM)


def read_text(path: Path, *, limit: int, what: str = "file") -> str:
    """``read_bytes`` decoded as UTF-8, or FileRefused if it is not UTF-8 text."""
    data = read_bytes(path, limit=limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused(
            f"{path} is not UTF-8 text, so it is not a {what}.",
            hint=f"Check that it is the right file. {NOTHING_READ}",
            code="not_text",
        ) from None


def _read_at_most(fd: int, most: int) -> bytes:
    chunks: list[bytes] = []
    left = most
    while left > 0:
        chunk = os.read(fd, min(left, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB"


# --- writing ---------------------------------------------------------------------------------


def check_writable_target(path: Path, *, force: bool = False) -> None:
    """Refuse ``path`` as a place to write a file: FileRefused if it is anything but absent or (with
    ``force``) a regular file. Callers check before the store changes; the writer checks again."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _not_written(path, exc) from None
    if stat.S_ISDIR(mode):
        raise FileRefused(
            f"{path} is a folder.",
            hint=f"Give a file name in it, e.g. {path / 'file.json'}. {NOTHING_WRITTEN}",
            code="target_not_a_file",
        )
    if not stat.S_ISREG(mode):
        raise FileRefused(
            f"{path} is {_kind(mode)}: smartlic writes only regular files and never through links.",
            hint=f"Choose another file name. {NOTHING_WRITTEN}",
            code="target_not_a_file",
        )
    if not force:
        raise FileRefused(
            f"{path} exists already.",
            hint=f"Choose another file name, or add --force to replace it. {NOTHING_WRITTEN}",
            code="target_exists",
        )


@dataclass
class PreparedFile:
    """Bytes written and fsynced beside ``path``, not yet in place: ``commit`` or ``discard``."""

    path: Path
    tmp: Path
    force: bool

    def commit(self, *, keep_on_failure: bool = False) -> Path:
        """Put the file in place (refused if the target changed into something not allowed).

        ``keep_on_failure``: the bytes matter more than the name (a return receipt, after the
        licenses left the store), so a failure leaves the temp file and the error says where it is.
        """
        try:
            check_writable_target(self.path, force=self.force)
            if self.force:
                os.replace(self.tmp, self.path)
            else:
                _link_without_replacing(self.tmp, self.path)
            _fsync_folder(self.path.parent)
        except (FileError, OSError) as exc:
            error = exc if isinstance(exc, FileError) else _not_written(self.path, exc)
            if not keep_on_failure:
                self.discard()
                raise error from None
            raise type(error)(
                error.message,
                hint=f"The file was written to {self.tmp}: move it to where it belongs.",
                code=error.code,
            ) from None
        return self.path

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def prepare_file(path: Path, data: bytes, *, force: bool = False) -> PreparedFile:
    """Write ``data`` to a new 0600 temp file beside ``path``; FileError if ``path`` is refused or the
    write fails (then nothing is left behind). Lets a caller fail before it changes its own state."""
    check_writable_target(path, force=force)
    try:
        # mkstemp: O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, a name nobody could plant beforehand.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _not_written(path, exc) from None
    prepared = PreparedFile(path=path, tmp=Path(tmp_name), force=force)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        prepared.discard()
        raise _not_written(path, exc) from None
    return prepared


def write_file(path: Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` safely (see the module's docstring); returns the path written."""
    return prepare_file(path, data, force=force).commit()


def _link_without_replacing(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileRefused(
            f"{path} appeared while the file was being written.",
            hint=f"Choose another file name. {NOTHING_WRITTEN}",
            code="target_exists",
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # A filesystem without hard links (FAT on a USB stick): checked just above, then renamed.
        os.rename(tmp, path)
        return
    tmp.unlink()


def _fsync_folder(folder: Path) -> None:
    # Some filesystems refuse fsync on a folder (EINVAL): the file is in place all the same.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _not_written(path: Path, exc: OSError) -> FileNotWritten:
    return FileNotWritten(
        f"Cannot write {path}: {exc.strerror or exc}.",
        hint=f"Choose another folder or free some disk space. {NOTHING_WRITTEN}",
        code="file_not_written",
    )
