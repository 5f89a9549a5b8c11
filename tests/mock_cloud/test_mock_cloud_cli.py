"""``smartlic-cloud serve`` as a real process on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from core.mock_cloud.cli import default_cloud_dir, main
from tests.support.cloud_process import serve_command

ROOT = Path(__file__).resolve().parents[2]


def _start(data: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        serve_command(data, *extra),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _header(proc: subprocess.Popen[str]) -> dict[str, str]:
    assert proc.stdout is not None
    lines = {}
    for _ in range(3):
        line = proc.stdout.readline()
        assert line, f"server ended early: {proc.stderr.read() if proc.stderr else ''}"
        name, _, value = line.rstrip("\n").partition(": ")
        lines[name] = value
    return lines


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_header_answers_and_stops(tmp_path: Path, stop: signal.Signals) -> None:
    proc = _start(tmp_path / "cloud", "--faults", "delay=0")
    try:
        header = _header(proc)
        assert list(header) == ["url", "public-key", "demo-customer-id"]
        assert header["url"].startswith("http://127.0.0.1:") and not header["url"].endswith(":0")
        assert Path(header["public-key"]) == (tmp_path / "cloud" / "cloud_key.pub").resolve()
        assert Path(header["public-key"]).is_file()
        uuid.UUID(header["demo-customer-id"])
        response = httpx.get(header["url"] + "/api/v1/health", timeout=10)
        assert response.status_code == 200 and response.json()["status"] == "ok"
        demo = httpx.get(header["url"] + "/api/v1/demo", timeout=10).json()
        assert demo["customer_id"] == header["demo-customer-id"]
    finally:
        proc.send_signal(stop)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["serve", "--port", "70000"],
        ["serve", "--port", "x"],
        ["serve", "--faults", "fail=many"],
        ["serve", "--earmark", "NOPE"],
        ["bogus"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("smartlic-cloud")


def test_default_cloud_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMARTLIC_DATA_DIR", str(tmp_path / "s"))
    assert default_cloud_dir() == tmp_path / "s" / "cloud"
    monkeypatch.delenv("SMARTLIC_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "x"))
    assert default_cloud_dir() == tmp_path / "x" / "smartlic" / "cloud"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_cloud_dir() == tmp_path / "h" / ".local" / "share" / "smartlic" / "cloud"


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "core.mock_cloud.cli",
                "serve",
                "--port",
                str(port),
                "--data",
                str(tmp_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ},
        )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "cannot listen" in proc.stderr
