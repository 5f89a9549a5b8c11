"""Fixtures for the trust-boundary tests: special files made inside a tmp dir, never the real ones."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.cli import Cli


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A character device with /dev/null's major/minor, inside tmp_path (the tests run as root)."""
    path = tmp_path / "null-copy"
    rdev = os.stat("/dev/null").st_rdev
    os.mknod(path, 0o666 | stat.S_IFCHR, rdev)
    return path


@pytest.fixture
def zero_device(tmp_path: Path) -> Path:
    """A copy of /dev/zero (endless bytes) inside tmp_path."""
    path = tmp_path / "zero-copy"
    os.mknod(path, 0o666 | stat.S_IFCHR, os.stat("/dev/zero").st_rdev)
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("SMARTLIC_DATA_DIR", str(data))
    return data


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], data_dir: Path) -> Cli:
    return Cli(capsys)
