"""The TUI at the trust boundaries: file work in a thread (a FIFO or a hung read never freezes the
app), and a hostile cloud whose escape sequences are shown, never sent to the terminal."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
from textual.widgets import Input

from core.cloud import _problem_error
from core.mock_cloud.faults import HOSTILE_TEXT
from core.service import LicenseService
from tests.support.services import set_embedded_faults
from tests.support.tui import make_app, settle, static_text, wait_for
from tui.app import SmartlicApp
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.widgets.path import PathModal

SIZE = (120, 40)
A, B = "SmartServer-A", "SmartServer-B"
OBEYED = ("\x1b]0;", "\x1b]52;", "\x1b[2J", "\x9b", "\u202e", "\x07")
"""What the hostile text would do if a terminal got it raw: retitle, clipboard, clear, bidi."""


async def test_a_fifo_in_add_license_is_refused_and_esc_still_closes(tmp_path: Path) -> None:
    fifo = tmp_path / "response.json"
    os.mkfifo(fifo)
    app = make_app(tmp_path / "data")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        app.screen.query_one(Input).value = str(fifo)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "FIFO" in static_text(pilot, "#path-problem"), timeout=5)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
    await app.service.aclose()


async def test_the_app_answers_keys_while_a_file_operation_hangs(tmp_path: Path) -> None:
    """A read that hangs (a dead NFS mount, a slow stick) runs in a thread: keys still arrive."""
    app = make_app(tmp_path / "data")
    release = threading.Event()
    started = threading.Event()

    def hanging(path: Path) -> Path:
        started.set()
        release.wait(timeout=10)
        return path

    safety = threading.Timer(8, release.set)  # an app that froze would get its loop back after 8 s
    safety.start()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.push_screen(PathModal("Hang", intro=_text("x"), value="/nowhere", run=hanging))
            await pilot.pause()
            await pilot.press("enter")
            await wait_for(pilot, started.is_set, timeout=5)
            before = time.monotonic()
            await pilot.press("x", "y")  # handled by the event loop while the worker is stuck
            await pilot.pause()
            assert app.screen.query_one(Input).value == "/nowherexy"
            assert not release.is_set() and time.monotonic() - before < 5, "the app froze"
            release.set()
            await settle(pilot)
            assert not isinstance(app.screen, PathModal)
    finally:
        release.set()
        safety.cancel()
        await app.service.aclose()


def _text(value: str):
    from rich.text import Text

    return Text(value)


def terminal_output(app: SmartlicApp) -> str:
    """What the app would write to the terminal for the whole current screen (toasts included)."""
    return app.screen._compositor.render_full_update().render_segments(app.console)


async def set_hostile(service: LicenseService) -> None:
    await set_embedded_faults(service, hostile=True)


async def test_a_hostile_cloud_cannot_drive_the_terminal(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    service = app.service
    demo = str((await service.demo_info()).customer_id)
    service.set_customer_id(A, demo)
    service.set_customer_id(B, demo)
    await set_hostile(service)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        title = app.title
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")  # the segment picker: SmartServer-A
        await settle(pilot)
        download = app.screen
        assert isinstance(download, DownloadScreen) and download.offer
        shown = terminal_output(app)
        # The descriptions carry the attack: it reached the screen as visible text only.
        assert "\\x1b]0;PWNED-TITLE" in shown or "\\x1b]0;PWNED" in static_text(pilot, "#detail")
        assert "<U+202E>" in static_text(pilot, "#detail")
        for sequence in OBEYED:
            assert sequence not in shown, repr(sequence)

        # A refusal reason from the cloud: the first license went to B meanwhile.
        first = next(iter(download.offer))
        taken = await service.activate(B, [_uuid(first)])
        assert taken.activated
        await pilot.press("space", "A")
        await settle(pilot)
        result = static_text(pilot, "#result")
        assert "FAILED" in result and "\\x1b]0;PWNED-TITLE" in result
        toast = [str(n.message) for n in app._notifications if "FAILED" in str(n.message)]
        assert toast and "\\x1b]0;PWNED-TITLE" in toast[0]
        shown = terminal_output(app)
        for sequence in OBEYED:
            assert sequence not in shown, repr(sequence)
        assert app.title == title
    await service.aclose()


async def test_a_hostile_problem_detail_in_a_toast_is_shown_not_obeyed(tmp_path: Path) -> None:
    """A problem document's detail becomes the error's message (core.cloud), then a toast."""
    error = _problem_error(httpx.Response(404, json={"code": "gone", "detail": "Gone." + HOSTILE_TEXT}))
    assert HOSTILE_TEXT in error.message
    app = make_app(tmp_path / "data")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        title = app.title
        app.report_error(error)
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("Gone.\\x1b]0;PWNED-TITLE" in m for m in messages), messages
        shown = terminal_output(app)
        assert "PWNED-TITLE" in shown
        for sequence in OBEYED:
            assert sequence not in shown, repr(sequence)
        assert app.title == title
    await app.service.aclose()


def _uuid(text: str):
    from uuid import UUID

    return UUID(text)


assert all(s in HOSTILE_TEXT for s in OBEYED if s != "\x07")
