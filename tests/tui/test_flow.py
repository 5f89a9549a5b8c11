"""The seed's whole flow, driven by keys; each step checks the screen and the service."""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, Input

from core.models import DeviceState
from tests.support.tui import settle, static_text
from tui.app import SmartlicApp
from tui.screens.customer_accounts import CustomerAccountsScreen
from tui.screens.devices import DevicesScreen
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.screens.transfer import TransferModal
from tui.widgets.edit import CellEditor
from tui.widgets.picker import SegmentPicker

SIZE = (80, 24)


async def test_seed_flow(app: SmartlicApp) -> None:
    service = app.service
    demo = str((await service.demo_info()).customer_id)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ManageLicensesScreen)
        assert "No device capacity" in static_text(pilot, "#banner")

        # Manage Customer Accounts: an invalid ID is refused with its reason.
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CustomerAccountsScreen)
        await pilot.press("enter")
        await pilot.pause()
        # Typed in the cell itself: the editor lies over the Customer ID cell, not in a dialog.
        editor = app.screen.query_one(CellEditor)
        assert editor.key == (service.segment("SmartServer-A").install_code, "customer_id")
        table_region = app.screen.query_one(DataTable).content_region
        assert editor.region.y == table_region.y + 1, "on the first row, under the header"
        await pilot.press(*"not-a-uuid")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query(CellEditor), "an invalid Customer ID must not be accepted"
        assert "only 0-9, a-f and dashes" in static_text(pilot, "#status")
        assert service.segment("SmartServer-A").customer_id is None

        # Then the demo Customer ID, pasted with spaces around it.
        field = app.screen.query_one(Input)
        field.value = ""
        field.post_message(events.Paste(f"  {demo}  "))
        await pilot.pause()
        assert "Customer ID has" not in static_text(pilot, "#status")
        await pilot.press("enter")
        await pilot.pause()
        accounts = app.screen
        assert isinstance(accounts, CustomerAccountsScreen)
        code = service.segment("SmartServer-A").install_code
        assert {k: p.text for k, p in accounts.pending.items()} == {code: demo}
        table = accounts.query_one(DataTable)
        assert table.get_cell(code, "save").plain and table.get_cell(code, "discard").plain
        assert service.segment("SmartServer-A").customer_id is None, "not saved before Save Changes"
        await pilot.press("s")
        await pilot.pause()
        assert str(service.segment("SmartServer-A").customer_id) == demo
        assert not accounts.pending
        assert not table.get_cell(code, "save").plain
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)

        # Download: pick segment A, select 3 licenses, ACTIVATE.
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, SegmentPicker)
        await pilot.press("enter")
        await settle(pilot)
        download = app.screen
        assert isinstance(download, DownloadScreen)
        offered = len(download.offer)
        assert offered >= 3
        assert download.query_one("#activate").disabled
        await pilot.press("space", "down", "space", "down", "space")
        await pilot.pause()
        assert static_text(pilot, "#count").startswith(f"3 of {offered} selected")
        assert not download.query_one("#activate").disabled
        chosen = set(download.selection)
        await pilot.press("A")
        await settle(pilot)
        active = {str(r.license_id) for r in service.license_rows()}
        assert active == chosen
        assert not chosen & set(download.offer), "activated rows leave the list"
        assert "Activated 3 license(s)" in static_text(pilot, "#result")
        devices = service.devices("SmartServer-A")
        assert all(d.state is DeviceState.UNPROVISIONED for d in devices)

        await pilot.press("b")
        await pilot.pause()
        home = app.screen
        assert isinstance(home, ManageLicensesScreen)
        table = home.query_one(DataTable)
        assert {k.value for k in table.rows} == chosen

        # Devices: provision every licensed one.
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DevicesScreen)
        assert "34 unprovisioned" in static_text(pilot, "#counts")
        await pilot.press("P")
        await pilot.pause()
        assert all(d.state is DeviceState.PROVISIONED for d in service.devices("SmartServer-A"))
        assert "34 provisioned" in static_text(pilot, "#counts")
        await pilot.press("b")
        await pilot.pause()

        # Transfer to Cloud: Enter on the opened dialog cancels; n cancels; y transfers.
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TransferModal)
        assert app.screen.focused is not None and app.screen.focused.id == "no"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
        assert len(service.license_rows()) == 3
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert len(service.license_rows()) == 3
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert service.license_rows() == []
        assert all(d.state is DeviceState.UNLICENSED for d in service.devices("SmartServer-A"))
        assert home.query_one(DataTable).row_count == 0
        assert "34 unlicensed" in static_text(pilot, "#summary")
        assert "Transferred 3 license(s)" in static_text(pilot, "#status")

        # The licenses are back in the Download list.
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert chosen <= set(app.screen.offer)
