"""core.safe_files: the writer refuses what is not a regular file and writes 0600 files; the reader
reads only regular files, never blocks on a FIFO, is bounded and drops a BOM."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from core.errors import FileNotWritten, FileRefused
from core.safe_files import check_writable_target, prepare_file, read_bytes, read_text, write_file


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_writes_a_new_0600_file_and_returns_its_path(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    assert write_file(target, b"data") == target
    assert target.read_bytes() == b"data" and mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temp file left


def test_existing_file_is_kept_without_force_and_replaced_with_it(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    target.chmod(0o644)
    with pytest.raises(FileRefused, match="exists already") as refused:
        write_file(target, b"new")
    assert refused.value.code == "target_exists" and "--force" in (refused.value.hint or "")
    assert target.read_bytes() == b"old"
    write_file(target, b"new", force=True)
    assert target.read_bytes() == b"new" and mode(target) == 0o600


def test_a_symlink_at_the_target_is_refused_even_with_force(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(FileRefused, match="symbolic link"):
            write_file(link, b"evil", force=force)
    assert link.is_symlink() and victim.read_bytes() == b"precious"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileRefused, match="symbolic link"):
        write_file(dangling, b"evil")
    assert not (tmp_path / "nowhere").exists()


def test_a_device_at_the_target_is_refused_and_stays_a_device(null_device: Path) -> None:
    for force in (False, True):
        with pytest.raises(FileRefused, match="a device"):
            write_file(null_device, b"x", force=force)
    assert stat.S_ISCHR(os.lstat(null_device).st_mode)


def test_a_fifo_or_folder_at_the_target_is_refused(fifo: Path, tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="FIFO"):
        write_file(fifo, b"x", force=True)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(FileRefused, match="is a folder"):
        check_writable_target(tmp_path, force=True)


def test_links_and_devices_planted_at_path_tmp_are_not_followed(tmp_path: Path, null_device: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "out.json.tmp").symlink_to(victim)
    os.rename(null_device, tmp_path / "other.json.tmp")
    write_file(tmp_path / "out.json", b"data")
    write_file(tmp_path / "other.json", b"data")
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / "out.json.tmp").is_symlink()
    assert stat.S_ISCHR(os.lstat(tmp_path / "other.json.tmp").st_mode)
    assert (tmp_path / "out.json").read_bytes() == (tmp_path / "other.json").read_bytes() == b"data"


def test_a_target_that_appears_before_commit_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    prepared = prepare_file(target, b"mine")
    target.write_bytes(b"theirs")
    with pytest.raises(FileRefused):
        prepared.commit()
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_commit_can_keep_the_bytes_and_say_where(tmp_path: Path) -> None:
    target = tmp_path / "receipt.json"
    prepared = prepare_file(target, b"receipt")
    target.mkdir()
    with pytest.raises(FileRefused) as refused:
        prepared.commit(keep_on_failure=True)
    assert str(prepared.tmp) in (refused.value.hint or "")
    assert prepared.tmp.read_bytes() == b"receipt"


def test_no_such_folder_is_a_write_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotWritten, match="Cannot write"):
        write_file(tmp_path / "missing" / "out.json", b"x")


# --- reading ---------------------------------------------------------------------------------


def test_reads_a_regular_file_and_a_symlink_to_one(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_bytes(b"{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert read_bytes(real, limit=10) == read_bytes(link, limit=10) == b"{}"


def test_a_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf{}")
    assert read_text(path, limit=10) == "{}"


def test_over_the_limit_is_refused_after_reading_only_limit_plus_one(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 11)
    assert read_bytes(path, limit=11) == b"x" * 11
    with pytest.raises(FileRefused, match="too large") as refused:
        read_bytes(path, limit=10, what="license file")
    assert refused.value.code == "file_too_large"


def test_devices_folders_and_missing_files_are_refused(zero_device: Path, tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="a device"):
        read_bytes(zero_device, limit=10)
    with pytest.raises(FileRefused, match="a folder"):
        read_bytes(tmp_path, limit=10)
    with pytest.raises(FileRefused, match="There is no file"):
        read_bytes(tmp_path / "missing", limit=10)
    link = tmp_path / "to-zero"
    link.symlink_to(zero_device)
    with pytest.raises(FileRefused, match="a device"):
        read_bytes(link, limit=10)


def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _catch(outcome, lambda: read_bytes(fifo, limit=10)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # unblock it so the test run can end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], FileRefused) and "FIFO" in str(outcome[0])


def test_text_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1"
    path.write_bytes(b"caf\xe9")
    with pytest.raises(FileRefused, match="not UTF-8"):
        read_text(path, limit=10)


def _catch(outcome: list[BaseException], call) -> None:
    try:
        call()
    except BaseException as exc:
        outcome.append(exc)
