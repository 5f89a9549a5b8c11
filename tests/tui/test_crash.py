"""An exception that no handler catches: one line on the terminal, the traceback in the log file,
and a non-zero exit code (it was a full traceback with locals on screen, and exit code 0)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.support.tui import SIZE, make_app
from tui.app import run_app
from tui.screens.manage_licenses import ManageLicensesScreen


def test_an_escaping_exception_is_one_line_logged_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog
) -> None:
    def broken(_screen: ManageLicensesScreen) -> None:
        raise RuntimeError("a bug in a key handler")

    monkeypatch.setattr(ManageLicensesScreen, "action_warnings", broken)
    app = make_app(tmp_path / "data")

    async def press_w(pilot: Pilot) -> None:
        await pilot.pause()
        await pilot.press("w")

    try:
        with caplog.at_level(logging.ERROR, logger="smartlic.tui"):
            code = run_app(app, headless=True, size=SIZE, auto_pilot=press_w)
    finally:
        asyncio.run(app.service.aclose())

    assert code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        f"smartlic stopped on an unexpected error (RuntimeError); the details are in {app.settings.log_path}."
    ], err
    assert "Traceback" not in err
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1 and logged[0].exc_info[1].args == ("a bug in a key handler",)


def test_a_clean_quit_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(tmp_path / "data")

    async def quit_app(pilot: Pilot) -> None:
        await pilot.pause()
        await pilot.press("q")

    try:
        assert run_app(app, headless=True, size=SIZE, auto_pilot=quit_app) == 0
    finally:
        asyncio.run(app.service.aclose())
    assert capsys.readouterr().err == ""
