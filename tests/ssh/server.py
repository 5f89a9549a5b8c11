"""A real SSH server for tests: each session runs `smartlic` in its own PTY, as sshd would.

The PTY is the child's controlling terminal (setsid + TIOCSCTTY), so when the client goes away and
the server closes the PTY master, the kernel hangs the terminal up and the app gets SIGHUP, exactly
as under sshd. Window changes from the client are forwarded with TIOCSWINSZ (the kernel then sends
SIGWINCH to the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TERM = "xterm-256color"


def smartlic_command() -> list[str]:
    """The venv's `smartlic` console script, or the same entry point through the interpreter."""
    script = Path(sys.executable).with_name("smartlic")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tui.cli"]


def set_window_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _take_terminal() -> None:
    """In the child, before exec: a new session whose controlling terminal is the PTY (fd 0)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def session_env(data_dir: Path, term: str) -> dict[str, str]:
    """A login's small environment, as sshd gives it: no COLORTERM or NO_COLOR leaks in from the
    test runner, so TERM alone decides the colour depth."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TERM": term,
        "PYTHONPATH": str(REPO_ROOT),
        "SMARTLIC_DATA_DIR": str(data_dir),
    }
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "TZ"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@dataclass
class SmartlicSshServer:
    """An asyncssh server on 127.0.0.1 with a free port; every session is one `smartlic` in a PTY."""

    data_dir: Path
    host_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519"))
    client_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519"))
    children: list[asyncio.subprocess.Process] = field(default_factory=list)
    connections: list[asyncssh.SSHServerConnection] = field(default_factory=list)
    port: int = 0
    _acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self) -> None:
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            authorized_client_keys=authorized,
            server_factory=lambda: _Server(self.connections),
            process_factory=self._session,
            encoding=None,
            line_editor=False,
            allow_scp=False,
        )
        self.port = self._acceptor.get_port()

    def known_hosts(self) -> asyncssh.SSHKnownHosts:
        line = self.host_key.export_public_key().decode().strip()
        return asyncssh.import_known_hosts(f"[127.0.0.1]:{self.port} {line}\n")

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children]

    async def stop(self) -> None:
        """Kill what is still running (a failed test), reap it, and close the listener."""
        for child in self.children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
        for child in self.children:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 10)
        # The listener's close leaves accepted connections open: close them first.
        for conn in self.connections:
            conn.close()
        for conn in self.connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.wait_closed(), 10)
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        cols, rows, _, _ = process.term_size
        term = process.term_type or DEFAULT_TERM
        master, slave = pty.openpty()
        try:
            set_window_size(slave, cols or 80, rows or 24)
            child = await asyncio.create_subprocess_exec(
                *smartlic_command(),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=session_env(self.data_dir, term),
                cwd=str(self.data_dir.parent),
                preexec_fn=_take_terminal,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.children.append(child)
        code = await _bridge(process, master, child)
        with contextlib.suppress(Exception):
            process.exit(code if code >= 0 else 128 - code)


class _Server(asyncssh.SSHServer):
    """Public-key logins only (the keys the server was given); remembers each connection."""

    def __init__(self, connections: list[asyncssh.SSHServerConnection]) -> None:
        self._connections = connections

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connections.append(conn)


async def _bridge(process: asyncssh.SSHServerProcess, master: int, child: asyncio.subprocess.Process) -> int:
    """Copy bytes between the SSH channel and the PTY until either side ends, then hang up."""
    loop = asyncio.get_running_loop()
    output_ended = asyncio.Event()

    def on_output() -> None:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the app closed its terminal (it exited)
            data = b""
        if not data:
            loop.remove_reader(master)
            output_ended.set()
            return
        with contextlib.suppress(Exception):  # the channel may already be gone
            process.stdout.write(data)

    loop.add_reader(master, on_output)
    input_task = asyncio.create_task(_forward_input(process, master))
    output_task = asyncio.create_task(output_ended.wait())
    try:
        await asyncio.wait({input_task, output_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(master)
        input_task.cancel()
        output_task.cancel()
        # Closing the master is the hang-up: the kernel sends SIGHUP to the app's session.
        os.close(master)
    return await child.wait()


async def _forward_input(process: asyncssh.SSHServerProcess, master: int) -> None:
    while True:
        try:
            data = await process.stdin.read(65536)
        except asyncssh.TerminalSizeChanged as change:
            set_window_size(master, change.width, change.height)
            continue
        except (asyncssh.BreakReceived, asyncssh.SignalReceived):
            continue
        except (asyncssh.Error, OSError):
            return
        if not data:
            return
        os.write(master, data)
