"""Settings a hostile or careless environment hands smartlic: one line naming the setting, exit 2.

Run as `smartlic` in a child process (under a memory limit where a file could be endless), so
that what is tested is what a technician sees.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest


def smartlic_with(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    def limit_memory() -> None:
        cap = 1024**3  # what reading /dev/zero whole would pass in a second
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("SMARTLIC_")}
    base |= {"XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "SMARTLIC_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *(args or ("status",))],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        preexec_fn=limit_memory,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("smartlic: "), done.stderr
    assert "Traceback" not in done.stderr and "Unexpected error" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_an_empty_data_dir_is_refused_not_the_current_directory(tmp_path: Path) -> None:
    done = smartlic_with({"SMARTLIC_DATA_DIR": ""}, tmp_path)
    assert_one_line(done, "SMARTLIC_DATA_DIR", "empty")
    assert not (tmp_path / "smartlic.db").exists()


def test_a_data_dir_that_is_a_file_exits_2(tmp_path: Path) -> None:
    plain = tmp_path / "a-file"
    plain.write_text("not a folder")
    done = smartlic_with({"SMARTLIC_DATA_DIR": str(plain)}, tmp_path)
    assert_one_line(done, "SMARTLIC_DATA_DIR", "not a directory")
    assert plain.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "not a valid URL"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://127.0.0.1:0", "port 0"),
        ("https://:8443", "no host"),
        ("https://cloud example.net", "spaces"),
    ],
)
def test_a_cloud_url_httpx_cannot_use_is_refused_at_start(tmp_path: Path, url: str, why: str) -> None:
    assert_one_line(smartlic_with({"SMARTLIC_CLOUD_URL": url}, tmp_path), "SMARTLIC_CLOUD_URL", why)


@pytest.mark.parametrize("special", ["zero_device", "fifo", "folder"])
def test_a_settings_file_that_is_not_a_file_is_one_line(
    tmp_path: Path, special: str, request: pytest.FixtureRequest
) -> None:
    if special == "folder":
        path = tmp_path / "conf.d"
        path.mkdir()
    else:
        path = request.getfixturevalue(special)
    done = smartlic_with({"SMARTLIC_CONFIG": str(path)}, tmp_path)  # /dev/zero: read until killed before
    assert_one_line(done, "SMARTLIC_CONFIG", str(path))
    assert "MemoryError" not in done.stderr


def test_a_huge_settings_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "config.toml"
    with open(big, "wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse
    assert_one_line(smartlic_with({"SMARTLIC_CONFIG": str(big)}, tmp_path), "SMARTLIC_CONFIG", "too large")


def test_a_settings_file_still_works(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("\ufeffexpiring_days = 30\n", encoding="utf-8")  # a BOM, as Notepad writes
    done = smartlic_with({"SMARTLIC_CONFIG": str(config)}, tmp_path, "status", "--json")
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == ""
