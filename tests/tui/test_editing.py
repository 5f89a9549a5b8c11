"""In-cell editing, compare-and-set saves with two sessions, and the small promises of each screen."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from textual.widgets import DataTable, Static

from core.service import LicenseService
from tests.support.tui import burst, make_tui_service, settle, static_text, toasts, wait_for
from tui.app import SmartlicApp
from tui.screens.customer_accounts import PLACEHOLDER, CustomerAccountsScreen
from tui.screens.devices import DevicesScreen
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import COLUMN_KEYS, ManageLicensesScreen
from tui.widgets.confirm import ChoiceModal
from tui.widgets.edit import CellEditor

SIZE = (80, 24)
A = "SmartServer-A"


async def _open_accounts_editor(pilot) -> CellEditor:
    await pilot.press("c")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    return pilot.app.screen.query_one(CellEditor)


async def test_escape_restores_the_cell_and_enter_keeps_it_pending(app: SmartlicApp) -> None:
    demo = str((await app.service.demo_info()).customer_id)
    async with app.run_test(size=SIZE) as pilot:
        editor = await _open_accounts_editor(pilot)
        assert editor.placeholder == PLACEHOLDER and "-" not in PLACEHOLDER, "no UUID-looking example"
        await pilot.press(*"abc")
        await pilot.press("escape")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CustomerAccountsScreen), "Esc closes the editor, not the screen"
        code = app.service.segment(A).install_code
        assert not screen.query(CellEditor) and not screen.pending
        assert screen.query_one(DataTable).get_cell(code, "customer_id").plain == "(none)"

        editor = await _open_accounts_editor(pilot)
        editor.value = demo
        await pilot.press("enter")
        await pilot.pause()
        assert screen.pending[code].text == demo and app.service.segment(A).customer_id is None
        # The row's Discard Changes cell, right of the Customer ID: Enter on it discards.
        await pilot.press("right", "right", "enter")
        await pilot.pause()
        assert not screen.pending


async def test_save_cell_saves_and_an_unknown_id_warns_at_once(app: SmartlicApp) -> None:
    unknown = str(uuid4())
    async with app.run_test(size=SIZE) as pilot:
        editor = await _open_accounts_editor(pilot)
        editor.value = unknown
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("right", "enter")  # the Save Changes cell
        await settle(pilot)
        assert str(app.service.segment(A).customer_id) == unknown
        await wait_for(pilot, lambda: "does not know" in static_text(pilot, "#status"))


async def test_demo_customer_id_is_hinted(app: SmartlicApp) -> None:
    demo = str((await app.service.demo_info()).customer_id)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await settle(pilot)
        assert demo in static_text(pilot, "#hint")


async def _second_session(app: SmartlicApp) -> LicenseService:
    """Another service on the same data dir: another terminal on the same controller."""
    return make_tui_service(Path(app.settings.data_dir))


async def test_overtaken_customer_id_asks_and_can_keep_mine(app: SmartlicApp) -> None:
    mine, theirs = str(uuid4()), str(uuid4())
    other = await _second_session(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            editor = await _open_accounts_editor(pilot)
            editor.value = mine
            await pilot.press("enter")
            await pilot.pause()
            other.set_customer_id(A, theirs)  # meanwhile, in the other session
            await pilot.press("s")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, ChoiceModal) and dialog.id == "conflict"
            body = str(dialog.query_one(".dialog-body", Static).content)
            assert theirs in body and mine in body
            assert str(app.service.segment(A).customer_id) == theirs, "nothing saved silently"
            await pilot.press("k")  # keep mine: save again over theirs, deliberately
            await settle(pilot)
            assert str(other.segment(A).customer_id) == mine
    finally:
        await other.aclose()


async def test_overtaken_customer_id_can_take_theirs(app: SmartlicApp) -> None:
    theirs = str(uuid4())
    other = await _second_session(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            editor = await _open_accounts_editor(pilot)
            editor.value = str(uuid4())
            await pilot.press("enter")
            await pilot.pause()
            other.set_customer_id(A, theirs)
            await pilot.press("s")
            await pilot.pause()
            await pilot.press("t")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, CustomerAccountsScreen) and not screen.pending
            code = app.service.segment(A).install_code
            assert screen.query_one(DataTable).get_cell(code, "customer_id").plain == theirs
    finally:
        await other.aclose()


async def _one_license(service: LicenseService) -> str:
    service.set_customer_id(A, str((await service.demo_info()).customer_id))
    offer = await service.cloud_licenses(A)
    await service.activate(A, [offer.licenses[0].license_id])
    return str(offer.licenses[0].license_id)


async def test_overtaken_note_is_not_saved_silently(app: SmartlicApp) -> None:
    from uuid import UUID

    license_id = await _one_license(app.service)
    other = await _second_session(app)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("e")
            await pilot.pause()
            editor = app.screen.query_one(CellEditor)
            assert editor.key == (license_id, "note")
            other.set_note(UUID(license_id), "Plant room")
            editor.value = "Rack B"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ChoiceModal)
            assert [r.note for r in app.service.license_rows()] == ["Plant room"]
            await pilot.press("k")
            await pilot.pause()
            assert [r.note for r in other.license_rows()] == ["Rack B"]
    finally:
        await other.aclose()


@pytest.mark.parametrize("size", [SIZE, (60, 20)], ids=["80x24", "60x20"])
async def test_all_six_columns_show_at_80_and_60(app: SmartlicApp, size: tuple[int, int]) -> None:
    license_id = await _one_license(app.service)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert [c.key.value for c in table.ordered_columns] == COLUMN_KEYS
        right = sum(c.get_render_width(table) for c in table.ordered_columns)
        if size == SIZE:
            assert right <= table.size.width, "no column is off-screen at 80 columns"
        assert table.get_cell(license_id, "license_id").plain == license_id[:8] + "…"
        assert license_id in static_text(pilot, "#detail"), "the whole ID is in the detail line"


async def test_keys_without_licenses_say_why(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert "nothing to transfer" in toasts(pilot)
        assert isinstance(app.screen, ManageLicensesScreen)


async def test_provision_all_without_licensed_devices_says_so(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DevicesScreen)
        await pilot.press("P")
        await pilot.pause()
        assert "No device is licensed" in toasts(pilot)


@pytest.mark.parametrize(
    ("keys", "screen"),
    [("c", CustomerAccountsScreen), ("d", DownloadScreen), ("v", DevicesScreen)],
    ids=["accounts", "download", "devices"],
)
async def test_q_closes_from_every_screen(app: SmartlicApp, keys: str, screen: type) -> None:
    app.service.set_customer_id(A, str((await app.service.demo_info()).customer_id))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(keys)
        await pilot.pause()
        if keys != "c":
            await pilot.press("enter")  # the segment picker
        await settle(pilot)
        assert isinstance(app.screen, screen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0, screen


async def test_q_with_an_unsaved_customer_id_asks_first(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        editor = await _open_accounts_editor(pilot)
        editor.value = str(uuid4())
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal) and app.screen.id == "unsaved"
        assert app.return_code is None


async def test_empty_home_stops_asking_for_a_customer_id_once_set(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Set a Customer ID" in static_text(pilot, "#empty")
        demo = str((await app.service.demo_info()).customer_id)
        app.service.set_customer_id(A, demo)
        app.service.set_customer_id("SmartServer-B", demo)
        await pilot.press("r")
        await pilot.pause()
        assert "Set a Customer ID" not in static_text(pilot, "#empty")
        assert "Download Licenses from the Cloud (d)" in static_text(pilot, "#empty")


async def test_segment_picker_keeps_one_line_per_segment_at_80(app: SmartlicApp) -> None:
    from textual.widgets import OptionList

    from tui.widgets.picker import SegmentPicker

    demo = str((await app.service.demo_info()).customer_id)
    app.service.set_customer_id(A, demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, SegmentPicker)
        options = app.screen.query_one(OptionList)
        assert options.option_count == 2
        prompt = str(options.get_option_at_index(0).prompt)
        assert demo[:8] in prompt and demo not in prompt
        assert options.content_region.height == 2, "one line each: the ID does not wrap"


async def test_a_customer_id_typed_in_one_burst_after_enter_goes_into_the_cell(app: SmartlicApp) -> None:
    """Enter and the ID in one packet (a fast typist, a slow link): every character lands in the
    cell, in order, and none runs as a command of the screen (the demo ID holds a ``b``: BACK)."""
    demo = str((await app.service.demo_info()).customer_id)
    assert "b" in demo
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        burst(app, "enter", *demo, "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CustomerAccountsScreen), f"a typed key left the screen: {screen}"
        code = app.service.segment(A).install_code
        assert screen.pending[code].text == demo
        assert not screen.query(CellEditor)
        await pilot.press("s")
        await settle(pilot)
        assert str(app.service.segment(A).customer_id) == demo


async def test_a_note_typed_in_one_burst_after_e_goes_into_the_cell(app: SmartlicApp) -> None:
    license_id = await _one_license(app.service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # "c", "d" and "t" are commands of Manage Licenses; backspace and Esc are the editor's.
        burst(app, "e", *"cd", "space", "t", "backspace", "x", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ManageLicensesScreen), f"a typed key opened {app.screen}"
        assert [(str(r.license_id), r.note) for r in app.service.license_rows()] == [(license_id, "cd x")]


async def test_the_unknown_id_warning_is_whole_at_60_columns(app: SmartlicApp) -> None:
    """The status line wraps up to four lines: at 60×20 the warning ends with what to do."""
    unknown = str(uuid4())
    async with app.run_test(size=(60, 20)) as pilot:
        editor = await _open_accounts_editor(pilot)
        editor.value = unknown
        await pilot.press("enter", "s")
        await settle(pilot)
        await wait_for(pilot, lambda: "does not know" in static_text(pilot, "#status"))
        status = app.screen.query_one("#status")
        assert status.size.height == status.virtual_size.height, "the status line is cut"
        rendered = " ".join(line.text.strip() for line in status.render_lines(status.region.reset_offset))
        assert rendered.rstrip().endswith(static_text(pilot, "#status").split()[-1])
