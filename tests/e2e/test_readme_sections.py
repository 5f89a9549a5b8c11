"""The README's "Notifications" and "Many controllers" walkthroughs, run as written: every ```sh block
of the section, in order, by bash, with `.venv/bin` holding this checkout's commands."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from tests.notify.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIMS = {
    "smartlic": "-m tui.cli",
    "smartlic-cloud": "-m core.mock_cloud.cli",
    "python": "",
}


def section_blocks(title: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)


def checkout(tmp_path: Path) -> Path:
    """A working folder whose `.venv/bin` runs this checkout with the test's interpreter."""
    work = tmp_path / "checkout"
    bin_dir = work / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    commands = {name: f'"{sys.executable}" {module}' for name, module in SHIMS.items()}
    # Installed beside the interpreter by the dev extra (ansible-core), as in `make`'s .venv.
    commands["ansible-playbook"] = f'"{Path(sys.executable).parent / "ansible-playbook"}"'
    for name, command in commands.items():
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    for folder in ("contrib",):
        (work / folder).symlink_to(ROOT / folder)
    return work


def run_section(tmp_path: Path, title: str, replace: dict[str, str], timeout: float = 120) -> str:
    blocks = section_blocks(title)
    assert blocks, f"the README has no sh block under {title}"
    # A server a block starts in the background never outlives the run, even when a step fails.
    script = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + "\n".join(blocks)
    for old, new in replace.items():
        assert old in script
        script = script.replace(old, new)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=checkout(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    return output


def test_notifications_walkthrough(tmp_path) -> None:
    output = run_section(tmp_path, "Notifications", {"8025": str(free_port())})
    assert "sent a test message by email" in output
    assert "would send by email: SmartServer-A: 25-device maintenance, 1-year expires in 20 days" in output
    assert "sent 1 notice(s) by email" in output
    assert output.count("Nothing new to send.") == 1
    # The test mail server printed both messages it received.
    assert "Subject: smartlic on" in output and "test message" in output
    assert output.count("To: facility@example.net") == 2
