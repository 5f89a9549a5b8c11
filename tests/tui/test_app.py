"""Keys, command palette, keymap, help, notes, refresh after an outside change, no markup injection."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import DataTable

from core.settings import Settings
from tests.support.tui import make_tui_service, settle, static_text, toasts
from tui.app import SmartlicApp
from tui.screens.actions import HOME_ACTIONS
from tui.screens.customer_accounts import CustomerAccountsScreen
from tui.screens.devices import DevicesScreen
from tui.screens.help import HelpScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.widgets.edit import CellEditor

SIZE = (80, 24)


async def _activate_two(service) -> list:
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    offer = await service.cloud_licenses("SmartServer-A")
    ids = [offer.licenses[0].license_id, offer.licenses[1].license_id]
    await service.activate("SmartServer-A", ids)
    return ids


async def test_every_binding_has_an_id() -> None:
    from tui.screens.customer_accounts import CustomerAccountsScreen as Accounts
    from tui.screens.download import DownloadScreen

    for cls in (SmartlicApp, ManageLicensesScreen, Accounts, DownloadScreen, DevicesScreen, HelpScreen):
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding) and binding.id, f"{cls.__name__}: {binding}"


async def test_close_quits(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_footer_shows_transfer_only_with_licenses(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        home = app.screen
        assert home.check_action("transfer", ()) is False
        assert home.check_action("edit_note", ()) is False
        await _activate_two(app.service)
        await pilot.press("r")
        await pilot.pause()
        assert home.check_action("transfer", ()) is True
        assert home.query_one(DataTable).row_count == 2


async def test_command_palette_lists_seed_names(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"Manage Customer")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CustomerAccountsScreen)
    titles = [spec.title for spec in HOME_ACTIONS]
    assert titles == [
        "Manage Customer Accounts",
        "Download Licenses from the Cloud",
        "Add License",
        "Transfer to Cloud",
        "Devices",
        "Edit Notifications",
    ]


async def test_add_license_opens_the_file_dialog(app: SmartlicApp) -> None:
    from tui.widgets.path import PathModal

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        assert "not available yet" not in toasts(pilot)


async def test_keymap_from_settings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = SmartlicApp(make_tui_service(data), Settings(data_dir=data, keys={"accounts": "ctrl+o"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen), "c is remapped away"
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, CustomerAccountsScreen)
    await app.service.aclose()


async def test_help_lists_keys(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(f"{k} {w}" for _t, rows in app.help_sections() for k, w in rows)
        assert "Download Licenses from the Cloud" in text and "TRANSFER LICENSES" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_note_edit_in_place_is_never_markup(app: SmartlicApp) -> None:
    ids = await _activate_two(app.service)
    note = "[bold red]Plant room[/] [link=x]2"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        editor = app.screen.query_one(CellEditor)
        assert editor.column_key == "note" and editor.row_key in {str(i) for i in ids}
        editor.value = note
        await pilot.press("enter")
        await pilot.pause()
        rows = {r.license_id: r for r in app.service.license_rows()}
        edited = [r for r in rows.values() if r.note]
        assert len(edited) == 1 and edited[0].note == note and edited[0].license_id in ids
        table = app.screen.query_one(DataTable)
        assert table.get_cell(str(edited[0].license_id), "note").plain.rstrip("…") in note
        assert note in static_text(pilot, "#detail")
        assert str(edited[0].license_id) in static_text(pilot, "#detail")


async def test_outside_change_shows_after_refresh(app: SmartlicApp, tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        home = app.screen
        assert home.query_one(DataTable).row_count == 0
        # Another session (the CLI) activates licenses on the same store.
        other = make_tui_service(tmp_path / "data")
        await _activate_two(other)
        await other.aclose()
        await pilot.press("r")
        await pilot.pause()
        assert home.query_one(DataTable).row_count == 2
        assert "Capacity" in static_text(pilot, "#summary")


async def test_provision_refuses_unlicensed_with_reason(app: SmartlicApp) -> None:
    service = app.service
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    offer = await service.cloud_licenses("SmartServer-A")
    cap25 = next(c for c in offer.licenses if c.devices == 25 and c.kind.value == "capacity")
    await service.activate("SmartServer-A", [cap25.license_id])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DevicesScreen)
        assert "9 unlicensed" in static_text(pilot, "#counts")
        await pilot.press("a", "p")
        await pilot.pause()
        result = static_text(pilot, "#result")
        assert "Provisioned 25 device(s)" in result
        assert result.count("REFUSED") == 9
        assert "25 provisioned" in static_text(pilot, "#counts")


async def test_start_resumes_an_interrupted_operation(app: SmartlicApp, monkeypatch) -> None:
    from core.views import SyncReport

    calls = []

    async def resume() -> SyncReport:
        calls.append(1)
        return SyncReport(returned=[])

    monkeypatch.setattr(app.service, "journal", lambda: ["unfinished"])
    monkeypatch.setattr(app.service, "resume_if_needed", resume)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert calls == [1]
        assert "Interrupted operations finished" in toasts(pilot)


async def test_unexpected_error_is_logged_not_shown(app: SmartlicApp, monkeypatch, caplog) -> None:
    async def boom(*_args, **_kwargs):
        raise RuntimeError("kaboom")

    app.service.set_customer_id("SmartServer-A", str((await app.service.demo_info()).customer_id))
    monkeypatch.setattr(app.service, "cloud_licenses", boom)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert "Something went wrong (RuntimeError)" in toasts(pilot)
        assert "kaboom" not in toasts(pilot)
        assert any("kaboom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)
