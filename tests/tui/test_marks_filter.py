"""Marks under a filter: a and n act on the rows shown, the counter says what an action will act
on, and an action that includes marked rows the filter hides asks first (Cancel focused)."""

from __future__ import annotations

from textual.widgets import Button

from core.models import DeviceState
from tests.support.tui import open_devices, settle, static_text
from tui.app import SmartlicApp
from tui.screens.download import DownloadScreen
from tui.widgets.confirm import ConfirmModal
from tui.widgets.vtable import VirtualTable

SIZE = (80, 24)


async def open_download(app: SmartlicApp, pilot) -> tuple[DownloadScreen, VirtualTable]:
    service = app.service
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    await settle(pilot)
    await pilot.press("d")
    await pilot.pause()
    await pilot.press("enter")  # the segment picker: SmartServer-A
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, DownloadScreen)
    return screen, screen.query_one(VirtualTable)


def shown_keys(table: VirtualTable) -> set[str]:
    return set(table.visible_keys())


async def test_download_marks_act_on_what_the_filter_shows(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen, table = await open_download(app, pilot)
        total = len(screen.offer)
        await pilot.press("slash", *"maintenance", "enter")
        maintenance = shown_keys(table)
        assert 0 < len(maintenance) < total
        await pilot.press("a")
        assert set(screen.selection) == maintenance
        assert static_text(pilot, "#count").startswith(f"{len(maintenance)} of {total} selected ·")

        await pilot.press("slash", "escape")  # clears the filter: the marks stay
        assert static_text(pilot, "#count").startswith(f"{len(maintenance)} of {total} selected ·")
        await pilot.press("slash", *"capacity", "enter")
        hidden = len(maintenance)
        count = static_text(pilot, "#count")
        assert count.startswith(f"{hidden} of {total} selected ({hidden} hidden by the filter)"), count
        capacity = shown_keys(table)
        await pilot.press("a")
        assert set(screen.selection) == maintenance | capacity
        await pilot.press("n")
        assert set(screen.selection) == maintenance, "n unmarks only the rows shown"

        # ACTIVATE with hidden marks asks; Enter answers Cancel (the focused button).
        await pilot.press("space")
        marked = set(screen.selection)
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.focused is app.screen.query_one("#no", Button)
        await pilot.press("enter")
        await pilot.pause()
        assert app.service.license_rows() == []
        assert set(screen.selection) == marked

        await pilot.press("A")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        active = {str(r.license_id) for r in app.service.license_rows()}
        assert active == marked, "ACTIVATE acts exactly on the marked rows, hidden ones included"
        assert not set(screen.offer) & marked
        assert table.cursor_key is None or table.cursor_key in shown_keys(table)


async def test_download_without_hidden_marks_activates_at_once(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen, _table = await open_download(app, pilot)
        await pilot.press("slash", *"capacity", "enter", "space", "down", "space")
        marked = set(screen.selection)
        assert len(marked) == 2 and static_text(pilot, "#count").startswith("2 of ")
        await pilot.press("A")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmModal)
        assert {str(r.license_id) for r in app.service.license_rows()} == marked


async def test_devices_provision_with_hidden_marks_asks_first(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_devices(pilot)
        code = screen.install_code
        table = screen.query_one(VirtualTable)
        licensed = [d.device_id for d in app.service.devices(code) if d.state is DeviceState.UNPROVISIONED]
        first, second = licensed[0], licensed[1]
        await pilot.press("slash", *first.lower(), "enter")
        assert shown_keys(table) == {first}
        await pilot.press("a", "slash", "escape", "slash", *second.lower(), "enter", "space")
        assert set(screen.selection) == {first, second}
        assert "(1 hidden by the filter)" in static_text(pilot, "#count")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        provisioned = {d.device_id for d in app.service.devices(code) if d.state is DeviceState.PROVISIONED}
        assert provisioned == {first, second}
