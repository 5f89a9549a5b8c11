"""A terminal that goes away without a SIGHUP reaching smartlic: it still exits.

``make run`` is how the README starts the TUI, and GNU make, the session's leader then, takes the
terminal's SIGHUP without passing it on to smartlic. The test puts smartlic under such a leader in a
PTY, closes the PTY (the link dies) and checks that smartlic is gone soon after.
"""

from __future__ import annotations

import asyncio
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from tests.ssh.helpers import process_running
from tests.ssh.server import REPO_ROOT, _take_terminal, session_env, set_window_size, smartlic_command

GONE_WITHIN = 2.0
# A session leader like make: it ignores SIGHUP, runs its command and waits for it.
LEADER = (
    "import signal, subprocess, sys\n"
    "signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
    "default = lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL)\n"
    "sys.exit(subprocess.call(sys.argv[1:], preexec_fn=default))\n"
)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


async def test_smartlic_exits_when_its_terminal_closes_and_no_sighup_comes(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    set_window_size(slave, 80, 24)
    leader = subprocess.Popen(
        [sys.executable, "-c", LEADER, *smartlic_command()],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=session_env(tmp_path / "data", "xterm-256color"),
        cwd=str(REPO_ROOT),
        preexec_fn=_take_terminal,
    )
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 60
        while b"Close (q)" not in seen.replace(b"\x1b", b"") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            try:
                seen += os.read(master, 65536) if _readable(master) else b""
            except OSError:
                break
        assert b"Manage Licenses" in seen, seen[-500:]
        (pid,) = _children(leader.pid)
        os.close(master)  # the link dies: the terminal is hung up
        master = -1
        end = time.monotonic() + GONE_WITHIN
        while process_running(pid) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        assert not process_running(pid), f"smartlic (pid {pid}) still runs {GONE_WITHIN} s after the hang-up"
        # Its exit status is of no use: writing the terminal's reset to a hung-up terminal fails.
        leader.wait(timeout=5)
    finally:
        if master >= 0:
            os.close(master)
        if leader.poll() is None:
            leader.kill()
            leader.wait()


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0)[0])
