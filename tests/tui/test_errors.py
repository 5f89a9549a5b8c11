"""Unsaved changes, a cloud that is down, a partial activation, a refused Customer ID change."""

from __future__ import annotations

from uuid import UUID

import pytest
from textual.widgets import DataTable, Input

from core.errors import CloudUnreachable
from tests.support.tui import settle, static_text, toasts
from tui.app import SmartlicApp
from tui.screens.customer_accounts import CustomerAccountsScreen
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.widgets.confirm import ChoiceModal
from tui.widgets.vtable import VirtualTable

SIZE = (80, 24)


async def _type_customer_id(pilot, text: str) -> None:
    await pilot.press("enter")
    await pilot.pause()
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def _open_download(pilot) -> DownloadScreen:
    await pilot.press("d")
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DownloadScreen)
    return pilot.app.screen


async def test_unsaved_changes_prompt(app: SmartlicApp) -> None:
    demo = str((await app.service.demo_info()).customer_id)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("c")
        await pilot.pause()
        await _type_customer_id(pilot, demo)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("escape")  # stays, nothing lost
        await pilot.pause()
        assert isinstance(app.screen, CustomerAccountsScreen) and app.screen.pending
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("x")  # Discard Changes, the same key as on the screen
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
        assert app.service.segment("SmartServer-A").customer_id is None

        await pilot.press("c")
        await pilot.pause()
        await _type_customer_id(pilot, demo)
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("s")  # Save Changes
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
        assert str(app.service.segment("SmartServer-A").customer_id) == demo


async def test_read_only_columns_say_so(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("left", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CustomerAccountsScreen)
        assert "Install Code is read-only" in static_text(pilot, "#status")


async def test_customer_id_change_refused_keeps_the_typed_value(app: SmartlicApp) -> None:
    service = app.service
    demo = str((await service.demo_info()).customer_id)
    service.set_customer_id("SmartServer-A", demo)
    offer = await service.cloud_licenses("SmartServer-A")
    await service.activate("SmartServer-A", [offer.licenses[0].license_id])
    other = "2133c667-af41-4518-94df-a2bb3b775330"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("c")
        await pilot.pause()
        await _type_customer_id(pilot, other)
        await pilot.press("s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CustomerAccountsScreen)
        assert "still has 1 license(s)" in toasts(pilot)
        assert "Transfer to Cloud first" in toasts(pilot)
        assert str(service.segment("SmartServer-A").customer_id) == demo
        code = service.segment("SmartServer-A").install_code
        # The typed value stays pending (x discards it), nothing stored changed.
        assert screen.query_one(DataTable).get_cell(code, "customer_id").plain == other
        assert screen.pending[code].text == other


async def test_cloud_down_then_retry(app: SmartlicApp, monkeypatch: pytest.MonkeyPatch) -> None:
    service = app.service
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    real = service.context.cloud.list_page

    async def down(*_args, **_kwargs):
        raise CloudUnreachable(
            "The license cloud cannot be reached (connection refused).",
            hint="Check the network; nothing was changed.",
        )

    monkeypatch.setattr(service.context.cloud, "list_page", down)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open_download(pilot)
        assert "cannot be reached" in toasts(pilot)
        assert "Press r to retry" in toasts(pilot)
        assert not screen.offer
        assert screen.retry is not None
        # The screen stays usable.
        await pilot.press("a", "n", "down")
        assert isinstance(app.screen, DownloadScreen)
        monkeypatch.setattr(service.context.cloud, "list_page", real)
        await pilot.press("r")
        await settle(pilot)
        assert screen.offer
        assert screen.query_one("#cloud", VirtualTable).row_count == len(screen.offer)


async def test_activation_cloud_down_is_retried(app: SmartlicApp, monkeypatch: pytest.MonkeyPatch) -> None:
    service = app.service
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    real = service.context.cloud.activate

    async def down(*_args, **_kwargs):
        raise CloudUnreachable("The license cloud did not answer in time.")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open_download(pilot)
        monkeypatch.setattr(service.context.cloud, "activate", down)
        await pilot.press("space", "A")
        await settle(pilot)
        assert "did not answer in time" in toasts(pilot)
        assert service.license_rows() == []
        monkeypatch.setattr(service.context.cloud, "activate", real)
        await pilot.press("r")
        await settle(pilot)
        assert len(service.license_rows()) == 1
        assert not screen.selection


async def test_partial_activation_lists_failures(app: SmartlicApp) -> None:
    service = app.service
    demo = str((await service.demo_info()).customer_id)
    service.set_customer_id("SmartServer-A", demo)
    service.set_customer_id("SmartServer-B", demo)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await _open_download(pilot)
        await pilot.press("space", "down", "space")
        taken = UUID(sorted(screen.selection)[0])
        # Another session activates one of them on the other segment meanwhile.
        await service.activate("SmartServer-B", [taken])
        await pilot.press("A")
        await settle(pilot)
        result = static_text(pilot, "#result")
        assert "Activated 1 license(s)" in result
        assert f"FAILED {taken}" in result
        assert str(taken) in screen.offer, "a failed license stays in the list"
        assert len(service.license_rows("SmartServer-A")) == 1


async def test_escape_stops_loading(app: SmartlicApp, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    service = app.service
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))

    async def slow(*_args, **_kwargs):
        await asyncio.sleep(30)

    monkeypatch.setattr(service.context.cloud, "list_page", slow)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DownloadScreen)
        assert screen.query_one("#cloud").loading
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen, "Escape stops the load; it does not leave"
        assert "Loading stopped" in static_text(pilot, "#count")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
