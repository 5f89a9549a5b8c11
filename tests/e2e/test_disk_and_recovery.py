"""A full disk and a damaged store, through the real `smartlic` command line and a cloud process.

The full disk is a real one where this machine lets root mount a tiny tmpfs (the store on it, the
disk then filled up); elsewhere the store's writer is made to fail with SQLITE_FULL instead (a
sitecustomize put first on the CLI's PYTHONPATH, see ``inject_full_disk``).
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cloud_process import running_cloud, smartlic

A = "SmartServer-A"
TRACEBACK = ("Traceback", "Logging error")


@pytest.fixture
def cloud(tmp_path):
    with running_cloud(tmp_path / "cloud") as proc:
        yield proc


@contextlib.contextmanager
def small_disk(where: Path, *, mount: bool = True) -> Iterator[Path | None]:
    """A 4 MiB tmpfs at ``where``, or None when this machine does not allow mounting one."""
    where.mkdir(parents=True)
    if not mount:
        yield None
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


INJECTED = """
import sqlite3

from core.store import tx


def _full(self, sql, rows):
    raise sqlite3.OperationalError("database or disk is full")


tx.Tx._run_many = _full
"""


def inject_full_disk(env: dict[str, str], folder: Path) -> None:
    """Every batched store write fails as on a full disk, in the CLI processes run with ``env``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(INJECTED)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
            os.fsync(out.fileno())
    return filler


def env_for(data: Path, cloud) -> dict[str, str]:
    env = {"SMARTLIC_DATA_DIR": str(data), "SMARTLIC_CLOUD_URL": cloud.url, "SMARTLIC_RETRIES": "0"}
    assert smartlic(env, "trust", "add", str(cloud.public_key)).returncode == 0
    assert smartlic(env, "accounts", "set", A, cloud.demo_customer_id).returncode == 0
    return env


def ids_offered(env: dict[str, str], n: int) -> list[str]:
    done = smartlic(env, "cloud-licenses", A, "--json")
    assert done.returncode == 0, done.stderr
    return [x["license_id"] for x in json.loads(done.stdout)["licenses"] if x["kind"] == "capacity"][:n]


@pytest.mark.parametrize("how", ["tmpfs", "injected"])
def test_a_full_disk_tells_the_truth_and_reads_still_work(how: str, tmp_path: Path, cloud) -> None:
    """tmpfs: the disk fills before the command (nothing can be journaled, the cloud is not
    asked); injected: the journal is written, the cloud binds, then storing the licenses fails."""
    with small_disk(tmp_path / "disk", mount=how == "tmpfs") as disk:
        data = (disk or tmp_path) / "data"
        env = env_for(data, cloud)
        ids = ids_offered(env, 3)
        assert smartlic(env, "activate", A, ids[0]).returncode == 0
        if disk is not None:
            filler = fill(disk)
        else:  # no tmpfs here: store writes fail as SQLite fails on a full disk
            inject_full_disk(env, tmp_path / "inject")
        failed = smartlic(env, "activate", A, *ids[1:])
        for command in (("licenses",), ("status",), ("accounts",), ("audit",)):
            read = smartlic(env, *command)
            assert read.returncode in (0, 1), read.stderr  # status exits 1 on warnings only
            assert not any(t in read.stderr + read.stdout for t in TRACEBACK), read.stderr
            assert "aside" not in read.stderr and "fresh" not in read.stderr
        listed = smartlic(env, "licenses", "--json")
        assert [r["license_id"] for r in json.loads(listed.stdout)["licenses"]] == [ids[0]]
        if disk is not None:
            filler.unlink()
        else:
            del env["PYTHONPATH"]
        healed = smartlic(env, "sync", "--json")
        assert healed.returncode == 0, healed.stderr
        listed = smartlic(env, "licenses", "--json")
        offered_now = set(ids_offered(env, 100))
    assert failed.returncode == 1
    assert not any(t in failed.stderr for t in TRACEBACK), failed.stderr
    assert "full" in failed.stderr and "smartlic sync" in failed.stderr
    assert "aside" not in failed.stderr and "fresh" not in failed.stderr
    # Either the journal could not be written (the cloud was never asked) or the cloud bound the
    # licenses and the message says so; in both cases sync leaves device and cloud agreeing.
    assert ("The cloud activated" in failed.stderr) or ("the store was not changed" in failed.stderr)
    if how == "injected":
        assert "The cloud activated 2 license(s)" in failed.stderr, failed.stderr
    after = {r["license_id"] for r in json.loads(listed.stdout)["licenses"]}
    assert set(ids) <= after | offered_now and not (after & offered_now)


def test_recover_keeps_install_codes_customer_ids_and_keys(tmp_path: Path, cloud) -> None:
    data = tmp_path / "data"
    env = env_for(data, cloud)
    ids = ids_offered(env, 2)
    assert smartlic(env, "activate", A, *ids).returncode == 0
    accounts = json.loads(smartlic(env, "accounts", "--json").stdout)["segments"]
    assert smartlic(env, "recover").returncode == 1  # a healthy store is not rebuilt
    db = data / "smartlic.db"
    # Damage the licenses table's pages (the segments table, page 2, stays readable).
    with open(db, "r+b") as handle:
        handle.seek(5 * 4096)
        handle.write(b"garbage!" * 512)
    broken = smartlic(env, "licenses")
    assert broken.returncode == 1 and "smartlic recover" in broken.stderr
    assert "aside" not in broken.stderr and "fresh" not in broken.stderr
    done = smartlic(env, "recover")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Restored 2 license(s)" in done.stdout
    assert json.loads(smartlic(env, "accounts", "--json").stdout)["segments"] == accounts
    listed = json.loads(smartlic(env, "licenses", "--json").stdout)["licenses"]
    assert sorted(r["license_id"] for r in listed) == sorted(ids)
    backups = [p for p in data.iterdir() if p.name.startswith("smartlic.db.damaged-")]
    assert backups, "the damaged store is kept"
    assert json.loads(smartlic(env, "audit", "verify", "--json").stdout)["ok"]


def test_offline_cancel_return_on_the_command_line(tmp_path: Path, cloud) -> None:
    env = env_for(tmp_path / "data", cloud)
    ids = ids_offered(env, 1)
    request, response, receipt = (tmp_path / f"{n}.json" for n in ("request", "response", "receipt"))
    assert smartlic(env, "offline", "request", A, "-o", str(request)).returncode == 0
    fulfil = ["portal", "fulfil", str(request), "--license", ids[0], "-o", str(response)]
    fulfilled = subprocess.run(
        [*_cloud_cli(), *fulfil, "--data", str(tmp_path / "cloud")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )
    assert fulfilled.returncode == 0, fulfilled.stderr
    assert smartlic(env, "add-license", str(response)).returncode == 0
    assert smartlic(env, "offline", "return", A, "-o", str(receipt)).returncode == 0
    synced = json.loads(smartlic(env, "sync", "--json").stdout)
    assert synced["adopted"] == []
    cancelled = smartlic(env, "offline", "cancel-return", A, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["restored"] == ids
    assert uuid.UUID(json.loads(smartlic(env, "licenses", "--json").stdout)["licenses"][0]["license_id"])


def _cloud_cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "core.mock_cloud.cli"]


def test_no_hint_advises_losing_the_install_codes() -> None:
    """No string the code shows (docstrings and comments aside) says to move the store aside,
    delete it or start fresh: a fresh store makes new install codes and has no Customer IDs."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.joinpath("core").rglob("*.py"), *root.joinpath("tui").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value.lower()
                for words in ("aside", "start fresh", "fresh store", "delete the store", "delete the data"):
                    if words in text:
                        offenders.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    assert not offenders, offenders
