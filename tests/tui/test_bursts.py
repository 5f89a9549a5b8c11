"""Keys that arrive in one burst (a paste, a slow SSH link delivering several at once).

Pilot.press waits after every key, which hides what a burst does: every key reaches the focused
widget before the first one's binding has run. These tests queue them all at once, as the terminal
driver does, and check that nothing runs on a screen the keys were not typed on, and that a dialog
answers once.
"""

from __future__ import annotations

import pytest

from tests.support.tui import burst, settle
from tui.app import SmartlicApp
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.widgets.picker import SegmentPicker

A = "SmartServer-A"


async def _stack(app: SmartlicApp) -> list[str]:
    return [type(screen).__name__ for screen in app.screen_stack]


async def test_keys_typed_ahead_of_back_do_not_run_on_the_screen_under_it(app: SmartlicApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.service.set_customer_id(A, str((await app.service.demo_info()).customer_id))
        await pilot.press("d")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DownloadScreen)
        # b is BACK; the d and Enter after it were typed for Download, where they do nothing.
        burst(app, "b", "d", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ManageLicensesScreen), app.screen
        assert await _stack(app) == ["Screen", "ManageLicensesScreen"]


@pytest.mark.parametrize("answers", [("enter", "escape"), ("escape", "enter"), ("enter", "enter", "escape")])
async def test_a_dialog_answered_twice_in_one_burst_answers_once(
    app: SmartlicApp, answers: tuple[str, ...]
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, SegmentPicker)
        burst(app, *answers)
        await settle(pilot)
        assert app._exception is None and app.return_code is None
        stack = await _stack(app)
        # One answer, and the cancel in the burst is the one: an Enter on an option answers through
        # a message of the list, after the Esc's binding has run. Manage Licenses stays under it.
        assert stack == ["Screen", "ManageLicensesScreen"]


async def test_bursts_of_screen_keys_never_stop_the_app(app: SmartlicApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.service.set_customer_id(A, str((await app.service.demo_info()).customer_id))
        for _ in range(6):
            burst(app, "b", "d", "enter", "escape", "v", "enter", "b", "c", "escape", "d", "enter")
            await settle(pilot)
            await pilot.pause(0.05)
            assert app._exception is None and app.return_code is None
            assert (await _stack(app))[:2] == ["Screen", "ManageLicensesScreen"]
