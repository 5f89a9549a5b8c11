"""A real SSH client whose every output byte goes through a pyte terminal emulator."""

from __future__ import annotations

import asyncio
import colorsys
import contextlib
import re
from collections import Counter
from collections.abc import Callable

import asyncssh
import pyte

from tests.ssh.server import DEFAULT_TERM, SmartlicSshServer

SIZE = (80, 24)
TIMEOUT = 20.0
"""Seconds any one wait may take: generous for a slow, shared CI box; waits end as soon as the
screen shows what they wait for."""

# What a terminal sends for each key (xterm, normal cursor mode: Textual parses both forms).
KEYS = {
    "enter": b"\r",
    "escape": b"\x1b",
    "space": b" ",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "up": b"\x1b[A",
    "down": b"\x1b[B",
    "right": b"\x1b[C",
    "left": b"\x1b[D",
    "f1": b"\x1bOP",
    "ctrl+q": b"\x11",
}


class SshTerminal:
    """One SSH session with a PTY of SIZE; the screen is what a user's terminal would show."""

    def __init__(self, conn: asyncssh.SSHClientConnection, process: asyncssh.SSHClientProcess) -> None:
        self.conn = conn
        self.process = process
        self.screen = pyte.Screen(*SIZE)
        self.stream = pyte.ByteStream(self.screen)
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: SmartlicSshServer, term: str = DEFAULT_TERM) -> SshTerminal:
        conn = await asyncssh.connect(
            "127.0.0.1",
            server.port,
            username="operator",
            known_hosts=server.known_hosts(),
            client_keys=[server.client_key],
            agent_path=None,
            config=[],
            preferred_auth="publickey",
        )
        try:
            process = await conn.create_process(
                request_pty="force", term_type=term, term_size=SIZE, encoding=None
            )
        except BaseException:
            conn.abort()
            raise
        return cls(conn, process)

    async def _read(self) -> None:
        with contextlib.suppress(asyncssh.Error, OSError):
            while data := await self.process.stdout.read(65536):
                self.stream.feed(data)
                self._changed.set()
        self._changed.set()

    # --- reading the screen -------------------------------------------------------------------

    def screen_text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        return list(self.screen.display)

    async def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        """Wait for output until ``condition()`` holds on the emulated screen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            left = deadline - loop.time()
            if left <= 0 or self._reader.done():
                raise AssertionError(f"{what}: not on the screen after {timeout:.0f} s:\n{self.dump()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        await self.wait_until(lambda: text in self.screen_text(), repr(text), timeout)

    def title(self) -> str:
        """The screen's title line (the top row; a modal leaves it in place)."""
        return self.screen.display[0].strip()

    async def wait_title(self, title: str, timeout: float = TIMEOUT) -> None:
        """Wait until the screen called ``title`` is shown (text elsewhere, a toast say, won't do)."""
        await self.wait_until(lambda: self.title().startswith(title), f"the {title!r} screen", timeout)

    async def wait_gone(self, text: str, timeout: float = TIMEOUT) -> None:
        await self.wait_until(lambda: text not in self.screen_text(), f"{text!r} gone", timeout)

    def dump(self) -> str:
        return "\n".join(f"{y:2}|{line}|" for y, line in enumerate(self.screen.display))

    def find(self, text: str) -> list[tuple[int, int]]:
        """(row, column) of every occurrence of ``text`` that starts a word ("provisioned" is not
        found inside "unprovisioned")."""
        pattern = re.compile(r"(?<![A-Za-z])" + re.escape(text))
        return [
            (y, match.start())
            for y, line in enumerate(self.screen.display)
            for match in pattern.finditer(line)
        ]

    def colours(self, text: str) -> list[str]:
        """The foreground colour of the first cell of every occurrence of ``text``."""
        return [self.screen.buffer[y][x].fg for y, x in self.find(text)]

    def colours_off_cursor(self, text: str) -> list[str]:
        """As colours(), but not on the cursor row of a table (its own colours cover the cell's):
        the cells on the background most of the occurrences share."""
        cells = [self.screen.buffer[y][x] for y, x in self.find(text)]
        if not cells:
            return []
        common = Counter(cell.bg for cell in cells).most_common(1)[0][0]
        return [cell.fg for cell in cells if cell.bg == common]

    def line_with(self, text: str) -> str:
        return next((line for line in self.screen.display if text in line), "")

    # --- typing -------------------------------------------------------------------------------

    def send(self, *keys: str) -> None:
        """Named keys (``enter``, ``escape``, ``down``, ``space``, …) or literal text ("A" is shift+a)."""
        for key in keys:
            self.process.stdin.write(KEYS.get(key, key.encode()))

    def paste(self, text: str) -> None:
        """A paste as a terminal sends it with bracketed paste on (Textual turns it on)."""
        self.process.stdin.write(b"\x1b[200~" + text.encode() + b"\x1b[201~")

    def resize(self, cols: int, rows: int) -> None:
        """The user resizes the terminal window: the emulator, and a window-change to the server."""
        self.screen.resize(rows, cols)
        self.process.change_terminal_size(cols, rows)

    # --- ending -------------------------------------------------------------------------------

    async def wait_exit(self, timeout: float = TIMEOUT) -> int | None:
        """The remote exit status once the session ends by itself."""
        await asyncio.wait_for(self.process.wait_closed(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return self.process.exit_status

    def drop(self) -> None:
        """The link dies: close the client's transport with no SSH goodbye."""
        self.conn.abort()

    async def close(self) -> None:
        self.conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.wait_closed(), 10)
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


def hue_of(colour: str) -> tuple[float, float] | None:
    """(hue in degrees, saturation) of a pyte colour given as hex, else None."""
    if len(colour) != 6:
        return None
    try:
        r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return None
    hue, _lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    return hue * 360, saturation


def _named_or_hue(colour: str, names: set[str], low: float, high: float) -> bool:
    if colour in names:
        return True
    hs = hue_of(colour)
    return hs is not None and low <= hs[0] <= high and hs[1] >= 0.25


def is_purple(colour: str) -> bool:
    return _named_or_hue(colour, {"magenta", "brightmagenta"}, 260, 330)


def is_blue(colour: str) -> bool:
    return _named_or_hue(colour, {"blue", "brightblue"}, 200, 250)


def is_yellow(colour: str) -> bool:
    return _named_or_hue(colour, {"brown", "brightbrown", "yellow", "brightyellow"}, 35, 65)


def is_green(colour: str) -> bool:
    return _named_or_hue(colour, {"green", "brightgreen"}, 90, 150)


def assert_colour(
    term: SshTerminal, text: str, looks: Callable[[str], bool], *, on_cursor_row: bool = False
) -> None:
    """Every occurrence of ``text`` (but on a table's cursor row) is drawn in a colour that ``looks``
    right; there is at least one."""
    colours = term.colours(text) if on_cursor_row else term.colours_off_cursor(text)
    assert colours, f"{text!r} is not on the screen:\n{term.dump()}"
    assert all(looks(c) for c in colours), f"{text!r} is drawn in {colours}, not {looks.__name__[3:]}"
