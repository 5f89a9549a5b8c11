"""Fixtures for the trust-boundary tests: special files made inside a tmp dir, never the real ones."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from core.mock_cloud import cli as cloud_cli
from tui import cli

A = "SmartServer-A"


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


class Cli:
    """`smartlic` and `smartlic-cloud` in this process, on one data folder (the embedded demo)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.out = self.err = ""

    def __call__(self, *args: str, code: int = 0) -> str:
        return self._run(cli.main, args, code)

    def json(self, *args: str, code: int = 0) -> dict:
        return json.loads(self._run(cli.main, (*args, "--json"), code))

    def cloud(self, *args: str, code: int = 0) -> str:
        return self._run(cloud_cli.main, args, code)

    def _run(self, main, args: tuple[str, ...], code: int) -> str:
        self.capsys.readouterr()
        returned = main(list(args))
        self.out, self.err = self.capsys.readouterr()
        assert returned == code, (args, self.out, self.err)
        if code == 2:  # refused input: one line, no traceback
            assert self.err.count("\n") == 1 and "Traceback" not in self.err, self.err
        return self.out

    def active(self) -> list[str]:
        return [r["license_id"] for r in self.json("licenses")["licenses"]]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("SMARTLIC_DATA_DIR", str(data))
    return data


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], data_dir: Path) -> Cli:
    return Cli(capsys)
