"""Every button of every screen and dialog, clicked by its label with the mouse; each click is
checked by what it did (the screen it opened, or the change in the service)."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input

from core.models import DeviceState
from tests.support.scenarios import demo_licenses
from tests.support.tui import open_devices, settle, static_text, toasts, wait_for
from tui.app import SmartlicApp
from tui.screens.customer_accounts import CustomerAccountsScreen
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.screens.notifications import NotificationsScreen
from tui.screens.transfer import OfflineReturnModal, TransferModal
from tui.widgets.confirm import ChoiceModal, ConfirmModal
from tui.widgets.edit import cell_region
from tui.widgets.message import MessageModal
from tui.widgets.path import PathModal
from tui.widgets.picker import SegmentPicker
from tui.widgets.value_dialog import ValueDialog

SIZE = (80, 24)


class Clicks:
    """Clicks buttons by label and remembers, per screen class, which buttons it saw and clicked."""

    def __init__(self, pilot: Pilot) -> None:
        self.pilot = pilot
        self.seen: dict[str, set[str]] = {}
        self.clicked: dict[str, set[str]] = {}

    def _buttons(self) -> list[Button]:
        screen = self.pilot.app.screen
        buttons = list(screen.query(Button))
        self.seen.setdefault(type(screen).__name__, set()).update(str(b.label) for b in buttons)
        return buttons

    async def __call__(self, label: str) -> None:
        await self.pilot.pause()
        matches = [b for b in self._buttons() if str(b.label) == label]
        assert len(matches) == 1, f"one button {label!r} on {self.pilot.app.screen}: {matches}"
        button = matches[0]
        assert not button.disabled and button.display, f"{label!r} cannot be clicked"
        name = type(self.pilot.app.screen).__name__
        self.clicked.setdefault(name, set()).add(label)
        assert await self.pilot.click(button), f"the click on {label!r} landed elsewhere"
        await settle(self.pilot)

    def look(self) -> None:
        """Note the buttons of the screen now shown (including hidden ones)."""
        self._buttons()

    def unclicked(self) -> dict[str, set[str]]:
        return {
            name: labels - self.clicked.get(name, set())
            for name, labels in self.seen.items()
            if labels - self.clicked.get(name, set())
        }


async def click_cell(pilot: Pilot, row_key: str, column_key: str) -> None:
    """A click on one cell of the screen's table, found by its keys (as the in-cell editor is)."""
    table = pilot.app.screen.query_one(DataTable)
    cell = cell_region(table, row_key, column_key)
    offset = (cell.x - table.scroll_offset.x, cell.y - table.scroll_offset.y)
    assert await pilot.click(table, offset=offset)
    await settle(pilot)


async def test_every_home_button_opens_its_screen(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await demo_licenses(pilot)
        click = Clicks(pilot)
        click.look()

        await click("Manage Customer Accounts (c)")
        assert isinstance(app.screen, CustomerAccountsScreen)
        await pilot.press("b")
        for label, purpose in [
            ("Download Licenses from the Cloud (d)", "Download Licenses from the Cloud"),
            ("Transfer to Cloud (t)", "Transfer to Cloud"),
            ("Devices (v)", "Devices"),
        ]:
            await click(label)
            assert isinstance(app.screen, SegmentPicker) and app.screen.purpose == purpose
            await pilot.press("escape")
        await click("Edit Notifications (n)")
        assert isinstance(app.screen, NotificationsScreen)
        await pilot.press("b")
        assert isinstance(app.screen, ManageLicensesScreen)
        await click("Add License (l)")
        assert isinstance(app.screen, PathModal)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
        await click("Close (q)")
        assert app.return_code == 0
        assert click.unclicked() == {}


async def test_edit_notifications_buttons(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NotificationsScreen)
        click = Clicks(pilot)
        for label in ("Edit Recipients (e)", "Edit Thresholds (h)"):
            await click(label)
            assert isinstance(app.screen, ValueDialog), label
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
        await click("Use Settings File (u)")
        assert app.screen is screen
        await click("Send Test Message (t)")
        await wait_for(pilot, lambda: bool(toasts(pilot)) or bool(static_text(pilot, "#notify-problem")))
        await click("BACK (b)")
        assert isinstance(app.screen, ManageLicensesScreen)
        assert click.unclicked() == {}


async def test_customer_accounts_buttons_and_the_unsaved_changes_dialog(app: SmartlicApp) -> None:
    service = app.service
    demo = str((await service.demo_info()).customer_id)

    async def pend(pilot: Pilot) -> None:
        await pilot.press("enter")
        await pilot.pause()
        pilot.app.screen.query_one(Input).value = demo
        await pilot.press("enter")
        await pilot.pause()

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        click = Clicks(pilot)
        await pilot.press("c")
        await pilot.pause()
        accounts = app.screen
        assert isinstance(accounts, CustomerAccountsScreen)
        # Save Changes and Discard Changes are the ✔ and ✖ cells of the pending row.
        code = service.segment("SmartServer-A").install_code
        await pend(pilot)
        await click_cell(pilot, code, "discard")
        assert not accounts.pending and service.segment("SmartServer-A").customer_id is None
        await pend(pilot)
        await click_cell(pilot, code, "save")
        assert str(service.segment("SmartServer-A").customer_id) == demo

        await pilot.press("down")
        await pend(pilot)
        await click("BACK (b)")
        assert isinstance(app.screen, ChoiceModal)
        await click("Stay here (c)")
        assert app.screen is accounts and accounts.pending
        await click("BACK (b)")
        await click("Discard Changes (x)")
        assert isinstance(app.screen, ManageLicensesScreen)
        assert service.segment("SmartServer-B").customer_id is None

        await pilot.press("c")
        await pilot.pause()
        await pilot.press("down")
        await pend(pilot)
        await click("BACK (b)")
        await click("Save Changes (s)")
        assert isinstance(app.screen, ManageLicensesScreen)
        assert str(service.segment("SmartServer-B").customer_id) == demo
        assert click.unclicked() == {}


async def test_download_buttons_and_the_hidden_marks_dialog(app: SmartlicApp) -> None:
    service = app.service
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        click = Clicks(pilot)
        await pilot.press("d", "enter")
        await settle(pilot)
        download = app.screen
        assert isinstance(download, DownloadScreen)
        await pilot.press("space")
        first = set(download.selection)
        await click("ACTIVATE (A)")
        assert {str(r.license_id) for r in service.license_rows()} == first
        # ACTIVATE is disabled now (no mark): the focus went back to the table, not to BACK.
        assert app.focused is download.table

        await pilot.press("space", "slash", *"maintenance", "enter")
        marked = set(download.selection)
        assert not marked <= set(download.table.visible_keys()), "a mark must be hidden"
        await click("ACTIVATE (A)")
        assert isinstance(app.screen, ConfirmModal)
        await click("Cancel (n)")
        assert app.screen is download
        assert {str(r.license_id) for r in service.license_rows()} == first
        await click("ACTIVATE (A)")
        await click(f"ACTIVATE {len(marked)} (y)")
        assert {str(r.license_id) for r in service.license_rows()} == first | marked
        await click("BACK (b)")
        assert isinstance(app.screen, ManageLicensesScreen)
        assert click.unclicked() == {}


async def test_devices_buttons(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_devices(pilot)
        code = screen.install_code
        click = Clicks(pilot)
        await pilot.press("space")
        marked = set(screen.selection)

        def provisioned() -> set[str]:
            return {d.device_id for d in app.service.devices(code) if d.state is DeviceState.PROVISIONED}

        await click("Provision selected (p)")
        assert provisioned() == marked
        await click("Provision all (P)")
        licensed = {d.device_id for d in app.service.devices(code) if d.state is not DeviceState.UNLICENSED}
        assert provisioned() == licensed and len(licensed) > 1
        await click("BACK (b)")
        assert isinstance(app.screen, ManageLicensesScreen)
        assert click.unclicked() == {}


async def test_transfer_and_offline_return_dialogs(app: SmartlicApp, tmp_path: Path) -> None:
    service = app.service
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await demo_licenses(pilot)
        click = Clicks(pilot)
        before = len(service.license_rows("SmartServer-A"))
        await pilot.press("t", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TransferModal)
        await click("Cancel (n)")
        assert len(service.license_rows("SmartServer-A")) == before > 0
        await pilot.press("t", "enter")
        await pilot.pause()
        await click("TRANSFER LICENSES (y)")
        assert service.license_rows("SmartServer-A") == []

        receipt = tmp_path / "receipt.json"
        for answer in ("Cancel (n)", "RETURN LICENSES (y)"):
            await pilot.press("x")
            await pilot.pause()
            app.screen.query_one(Input).value = str(receipt)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, OfflineReturnModal)
            await click(answer)
        assert service.license_rows("SmartServer-B") == [] and receipt.exists()
        assert isinstance(app.screen, MessageModal)
        await click("OK (Enter)")
        assert isinstance(app.screen, ManageLicensesScreen)
        assert click.unclicked() == {}
