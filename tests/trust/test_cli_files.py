"""The file trust boundary through both command lines: `-o` targets, `--force`, inputs that are not
regular files or are too large, a BOM'd response file. Every refusal is one line and exit 2, and a
refused `offline return` leaves the licenses active."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import A, Cli


@pytest.fixture
def licensed(run: Cli) -> list[str]:
    """SmartServer-A with its demo Customer ID and two active capacity licenses."""
    customer = run.json("demo-info")["customer_id"]
    run("accounts", "set", A, customer)
    offer = run.json("cloud-licenses", A)["licenses"]
    ids = [lic["license_id"] for lic in offer if lic["kind"] == "capacity"][:2]
    run("activate", A, *ids)
    return ids


def test_offline_return_to_a_folder_is_refused_before_licenses_leave(
    run: Cli, licensed: list[str], tmp_path: Path
) -> None:
    folder = tmp_path / "receipts"
    folder.mkdir()
    run("offline", "return", A, "-o", str(folder), code=2)
    assert "is a folder" in run.err
    assert sorted(run.active()) == sorted(licensed)
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob("*.tmp"))


def test_offline_return_to_an_existing_file_needs_force(
    run: Cli, licensed: list[str], tmp_path: Path
) -> None:
    receipt = tmp_path / "receipt.json"
    receipt.write_text("an older receipt")
    refused = run.json("offline", "return", A, "-o", str(receipt), code=2)
    assert refused["error"]["code"] == "target_exists" and "--force" in run.err
    assert receipt.read_text() == "an older receipt"
    assert sorted(run.active()) == sorted(licensed)

    done = run.json("offline", "return", A, "-o", str(receipt), "--force")
    assert done["file"] == str(receipt) and run.active() == []
    assert json.loads(receipt.read_text())["payload"]["receipt_id"] == done["receipt"]["receipt_id"]
    assert stat.S_IMODE(receipt.stat().st_mode) == 0o600


def test_a_device_at_the_output_is_never_replaced(run: Cli, licensed: list[str], null_device: Path) -> None:
    for extra in ((), ("--force",)):
        run("offline", "return", A, "-o", str(null_device), *extra, code=2)
        assert "is a device" in run.err
        run("diagnostics", "-o", str(null_device), *extra, code=2)
    assert stat.S_ISCHR(os.lstat(null_device).st_mode)
    assert sorted(run.active()) == sorted(licensed)


def test_symlinks_at_the_output_and_at_output_tmp(run: Cli, licensed: list[str], tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "request.json"
    link.symlink_to(victim)
    run("offline", "request", A, "-o", str(link), "--force", code=2)
    assert "symbolic link" in run.err

    target = tmp_path / "bundle.json"
    (tmp_path / "bundle.json.tmp").symlink_to(victim)
    out = run("diagnostics", "-o", str(target))
    assert str(target) in out
    assert victim.read_text() == "precious" and (tmp_path / "bundle.json.tmp").is_symlink()
    assert json.loads(target.read_text())["store"]["read_only"] is False
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_fifo_at_the_output_is_refused(run: Cli, licensed: list[str], fifo: Path) -> None:
    run("offline", "request", A, "-o", str(fifo), "--force", code=2)
    assert "FIFO" in run.err and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_portal_fulfil_output_is_checked_before_fulfilling(
    run: Cli, licensed: list[str], tmp_path: Path
) -> None:
    request = tmp_path / "request.json"
    run("offline", "request", "SmartServer-B", "-o", str(request), code=1)  # B has no Customer ID
    customer = run.json("demo-info")["customer_id"]
    run("accounts", "set", "SmartServer-B", customer)
    run("offline", "request", "SmartServer-B", "-o", str(request))
    free = [lic["license_id"] for lic in run.json("cloud-licenses", "SmartServer-B")["licenses"]]
    existing = tmp_path / "response.json"
    existing.write_text("keep me")
    run.cloud("portal", "fulfil", str(request), "--license", free[0], "-o", str(existing), code=2)
    assert "exists already" in run.err and existing.read_text() == "keep me"
    assert free[0] in {lic["license_id"] for lic in run.json("cloud-licenses", "SmartServer-B")["licenses"]}
    run.cloud("portal", "fulfil", str(request), "--license", free[0], "-o", str(existing), "--force")
    assert json.loads(existing.read_text())["payload"]["request_id"]


def test_a_response_file_with_a_bom_is_accepted(run: Cli, tmp_path: Path) -> None:
    customer = run.json("demo-info")["customer_id"]
    run("accounts", "set", A, customer)
    wanted = run.json("cloud-licenses", A)["licenses"][0]["license_id"]
    request, response = tmp_path / "request.json", tmp_path / "response.json"
    run("offline", "request", A, "-o", str(request))
    run.cloud("portal", "fulfil", str(request), "--license", wanted, "-o", str(response))
    response.write_bytes(b"\xef\xbb\xbf" + response.read_bytes())  # saved by Notepad
    assert run.json("add-license", str(response))["added"] == [wanted]


def test_oversized_and_special_inputs_are_refused(
    run: Cli, licensed: list[str], tmp_path: Path, zero_device: Path
) -> None:
    big = tmp_path / "big.json"
    with open(big, "wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GB that take no disk
    run("add-license", str(big), code=2)
    assert "too large" in run.err
    run.cloud("portal", "fulfil", str(big), "--license", licensed[0], "-o", str(tmp_path / "r.json"), code=2)
    assert "too large" in run.err
    run("trust", "add", str(big), code=2)
    assert "too large" in run.err
    run("add-license", str(tmp_path), code=2)
    assert "is a folder" in run.err
    run("trust", "add", str(zero_device), code=2)
    assert "is a device" in run.err


# --- in a child process: a memory limit, and a FIFO that would block a plain open -------------


def limited_smartlic(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    def limit_memory() -> None:
        cap = 1024**3  # what reading /dev/zero whole would pass in a second
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        env={**os.environ, "SMARTLIC_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_memory,
    )


@pytest.mark.parametrize("command", [("add-license",), ("trust", "add")])
def test_dev_zero_under_a_memory_limit_is_one_clear_line(
    command: tuple[str, ...], data_dir: Path, zero_device: Path
) -> None:
    done = limited_smartlic(data_dir, *command, str(zero_device))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("smartlic: ")
    assert "is a device" in done.stderr and "MemoryError" not in done.stderr


@pytest.mark.parametrize("command", [("add-license",), ("trust", "add")])
def test_a_fifo_as_input_does_not_block(command: tuple[str, ...], data_dir: Path, fifo: Path) -> None:
    done = limited_smartlic(data_dir, *command, str(fifo))  # a blocked open would hit the timeout
    assert done.returncode == 2, done.stderr
    assert "FIFO" in done.stderr and done.stderr.count("\n") == 1
