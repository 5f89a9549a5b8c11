"""Manage Customer Accounts: Segment Controller and Install Code read-only, Customer ID edited in place.

The Customer ID is typed in its own cell (tui.widgets.edit.CellEditor). While a row's change is
pending, Save Changes (✔) and Discard Changes (✖) appear on that row right of the Customer ID
column, as the seed has them; s and x do the same for the highlighted row. A save is
compare-and-set: it names the value the edit started from, so an edit overtaken by another session
is never saved silently (tui.widgets.conflict asks what to keep).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import Button, DataTable, Static

from core.errors import ChangedMeanwhile
from core.models import SegmentController
from core.service import LicenseService
from tui.screens.base import ServiceScreen, cursor_key, sync_rows, title_text
from tui.widgets.confirm import ChoiceModal
from tui.widgets.conflict import KEEP_MINE, TAKE_THEIRS, conflict_modal
from tui.widgets.edit import CellEditor, EditableTable
from tui.widgets.footer import SteadyFooter
from tui.widgets.styles import GREEN, RED, YELLOW, plain

SAVE, DISCARD = "✔", "✖"
COLUMNS = [
    ("Segment Controller", "segment", None),
    ("Install Code", "install_code", None),
    ("Customer ID", "customer_id", 36),
    # The row's Save Changes and Discard Changes, shown while its change is pending (clickable).
    ("", "save", 1),
    ("", "discard", 1),
]
COLUMN_KEYS = [key for _label, key, _width in COLUMNS]
CUSTOMER_COLUMN = 2
READ_ONLY = {0: "Segment Controller", 1: "Install Code"}
PLACEHOLDER = "paste it from the License Partner Portal"


def problem_or_clear(text: str) -> str | None:
    """The service's reason to refuse ``text``; an empty value is allowed (it clears the ID)."""
    return LicenseService.customer_id_problem(text)


def id_text(seg: SegmentController) -> str:
    return str(seg.customer_id) if seg.customer_id else ""


@dataclass
class Pending:
    text: str
    """What the user typed ("" clears the ID)."""
    base: str
    """The stored value the edit started from: the save is refused if the store no longer has it."""


class AccountsTable(EditableTable):
    """The accounts table: one click on a pending row's ✔ or ✖ acts, as a button's click would
    (a DataTable selects a cell only on the second click; the first moves its cursor there)."""

    EDIT_KEYS: ClassVar[dict[str, str]] = {"enter": "activate_cell", "e": "edit"}

    async def _on_click(self, event: events.Click) -> None:
        before = self.cursor_coordinate
        await super()._on_click(event)
        moved = self.cursor_coordinate != before
        if moved and self.row_count and COLUMN_KEYS[self.cursor_column] in ("save", "discard"):
            self.action_select_cursor()


class CustomerAccountsScreen(ServiceScreen):
    BINDINGS = [
        Binding("e", "edit", "Edit", id="accounts.edit"),
        # Short footer words and BACK only on its button: the footer fits 60 columns.
        Binding("s", "save", "Save", id="accounts.save", tooltip="Save Changes"),
        Binding("x", "discard", "Discard", id="accounts.discard", tooltip="Discard Changes"),
        Binding("b,escape", "back", "BACK", id="accounts.back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="customer-accounts")
        self.segments: dict[str, SegmentController] = {}
        self.pending: dict[str, Pending] = {}
        self.demo_hint: Text | None = None

    @property
    def has_unsaved(self) -> bool:
        return bool(self.pending)

    def compose(self) -> ComposeResult:
        yield Static(title_text("Manage Customer Accounts"), classes="screen-title")
        table: DataTable = AccountsTable(id="accounts", cursor_type="cell")
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(id="hint", classes="detail")
        yield Static(id="detail", classes="detail")
        yield Static(id="status", classes="status")
        with Horizontal(classes="actions-row"):
            yield Button("BACK (b)", id="back", compact=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one("#hint").display = False
        self.refresh_data()
        table = self.query_one(DataTable)
        table.cursor_coordinate = Coordinate(0, CUSTOMER_COLUMN)
        table.focus()
        if self.smartlic.settings.cloud_url is None:
            self.load_demo_hint()

    @work(exclusive=True, exit_on_error=False, group="demo-hint")
    async def load_demo_hint(self) -> None:
        """The embedded demo: show its Customer ID, so a first try needs no portal."""
        info = await self.service.demo_info()
        hint = Text("Demo cloud: its Customer ID is ", style="dim")
        hint.append(str(info.customer_id), style="bold")
        hint.append(" (smartlic demo-info prints it).", style="dim")
        widget = self.query_one("#hint", Static)
        widget.update(hint)
        widget.display = True

    def refresh_data(self) -> None:
        segments = self.guarded(self.service.segments) or []
        self.segments = {s.install_code: s for s in segments}
        self.pending = {k: v for k, v in self.pending.items() if k in self.segments}
        rows = {code: self._cells(seg) for code, seg in self.segments.items()}
        sync_rows(self.query_one(DataTable), COLUMN_KEYS, rows)
        self._update_row_actions()

    def _cells(self, seg: SegmentController) -> list[object]:
        code = seg.install_code
        change = self.pending.get(code)
        if change is not None:
            value = plain(change.text or "(cleared)", style=YELLOW)
            save, discard = Text(SAVE, style=GREEN), Text(DISCARD, style=RED)
        else:
            value = plain(seg.customer_id) if seg.customer_id else Text("(none)", style="dim")
            save, discard = Text(""), Text("")
        return [plain(seg.name), plain(code), value, save, discard]

    def _current(self) -> str | None:
        return cursor_key(self.query_one(DataTable))

    def _editor(self) -> CellEditor | None:
        editors = self.query(CellEditor)
        return editors.first() if editors else None

    def _update_row_actions(self) -> None:
        code = self._current()
        pending = code in self.pending if code else False
        table = self.query_one(DataTable)
        detail = self.query_one("#detail", Static)
        seg = self.segments.get(code) if code else None
        if seg is None:
            detail.update("")
        else:
            column = table.cursor_coordinate.column
            text = plain(f"{seg.name} ({seg.install_code}) · ", style="bold")
            if column in READ_ONLY:
                text.append(f"{READ_ONLY[column]} is read-only.")
            elif pending:
                text.append(
                    # The CMS's own words for the row's two cells.
                    f"Unsaved: {SAVE} Save Changes (s) · {DISCARD} Discard Changes (x) · Enter edits.",
                    style=YELLOW,
                )
            else:
                text.append("Customer ID: Enter or e types it in its cell (a paste works).")
            detail.update(text)
        self.refresh_bindings()

    def say(self, text: str | Text, style: str = "") -> None:
        """The result of the last action, on the screen's own status line (no toast over buttons)."""
        self.query_one("#status", Static).update(text if isinstance(text, Text) else Text(text, style=style))

    @on(DataTable.CellHighlighted)
    def _highlighted(self, _event: DataTable.CellHighlighted) -> None:
        self._update_row_actions()

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        """A click on a cell (Enter is the table's: action_activate_cell). The clicked cell, not
        the cursor's: the first of a double click's two selections moves the cursor back."""
        event.stop()
        self._activate(event.cell_key.row_key.value, event.cell_key.column_key.value)

    def action_activate_cell(self) -> None:
        """Enter: ✔ saves and ✖ discards a pending row; any other cell is typed in."""
        table = self.query_one(DataTable)
        column = COLUMN_KEYS[table.cursor_coordinate.column] if table.row_count else None
        self._activate(self._current(), column)

    def _activate(self, code: str | None, column: str | None) -> None:
        if code is not None and column in ("save", "discard"):
            if code in self.pending:
                (self.save if column == "save" else self.discard)(code)
            # The cells go away with the change: the cursor goes back to the Customer ID.
            table = self.query_one(DataTable)
            table.cursor_coordinate = Coordinate(table.cursor_row, CUSTOMER_COLUMN)
            return
        self.action_edit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "discard"):
            return self._current() in self.pending
        return True

    # --- editing in the cell -----------------------------------------------------------------

    def action_edit(self) -> None:
        table = self.query_one(DataTable)
        code = self._current()
        if code is None or self._editor() is not None:
            return
        column = table.cursor_coordinate.column
        if column in READ_ONLY:
            self.say(f"{READ_ONLY[column]} is read-only; only the Customer ID can be edited.", YELLOW)
            return
        seg = self.segments[code]
        change = self.pending.get(code)
        base = change.base if change else id_text(seg)

        def done(text: str | None) -> None:
            self.say("")
            if text is None:  # Esc: the cell shows what it showed before
                self._redraw(code)
                return
            if text == base and id_text(self.segments[code]) == base:
                self.pending.pop(code, None)
            else:
                self.pending[code] = Pending(text, base)
            self._redraw(code)

        table.cursor_coordinate = Coordinate(table.cursor_coordinate.row, CUSTOMER_COLUMN)
        self.mount(
            CellEditor(
                table,
                code,
                "customer_id",
                change.text if change else id_text(seg),
                done=done,
                problem=problem_or_clear,
                show_problem=self._show_problem,
                placeholder=PLACEHOLDER,
            )
        )

    def _show_problem(self, problem: str | None) -> None:
        if problem:
            self.say(problem, RED)
        else:
            self.say("Enter keeps it (then s saves) · Esc restores the cell · empty clears the ID.")

    def on_resize(self) -> None:
        editor = self._editor()
        if editor is not None:
            editor.place()

    def _redraw(self, code: str) -> None:
        table = self.query_one(DataTable)
        for key, cell in zip(COLUMN_KEYS, self._cells(self.segments[code]), strict=True):
            table.update_cell(code, key, cell, update_width=True)
        self._update_row_actions()

    # --- saving ------------------------------------------------------------------------------

    def save(self, code: str, *, over: str | None = None, then: Callable[[], object] | None = None) -> bool:
        """Save the pending change; ``over``: the other session's value the user chose to replace."""
        seg = self.segments[code]
        change = self.pending[code]
        try:
            updated = self.service.set_customer_id(
                code, change.text, expected=change.base if over is None else over
            )
        except ChangedMeanwhile as exc:
            self._ask_conflict(code, exc.stored, then)
            return False
        except Exception as exc:
            # Refused (licenses still active) or invalid: say why; the typed value stays pending.
            self.report_error(exc)
            self.say(f"{seg.name}: not saved; your value is still pending (x discards it).", RED)
            return False
        self.pending.pop(code, None)
        self.segments[code] = updated
        self._redraw(code)
        self.say(f"{seg.name}: Customer ID saved.", GREEN)
        if updated.customer_id is not None:
            self.check_known(code)
        if then is not None:
            then()
        return True

    def _ask_conflict(self, code: str, stored: str, then: Callable[[], object] | None) -> None:
        seg = self.segments[code]
        change = self.pending[code]
        self.refresh_data()

        def answered(choice: str | None) -> None:
            if choice == KEEP_MINE:
                self.save(code, over=stored, then=then)
            elif choice == TAKE_THEIRS:
                self.pending.pop(code, None)
                self.refresh_data()
                self.say(f"{seg.name}: took the stored Customer ID.")
                if then is not None:
                    then()
            else:
                self.say(f"{seg.name}: your value is still pending; the stored one is {stored or '(none)'}.")

        self.app.push_screen(conflict_modal(f"The Customer ID of {seg.name}", change.text, stored), answered)

    @work(exclusive=False, exit_on_error=False, group="check-customer")
    async def check_known(self, code: str) -> None:
        """Ask the cloud whether it knows the new ID at once, not only at Download."""
        warning = await self.service.customer_id_warning(code)
        if warning:
            self.say(f"⚠ {warning}", YELLOW)

    def action_save(self) -> None:
        code = self._current()
        if code in self.pending:
            self.save(code)

    def discard(self, code: str) -> None:
        self.pending.pop(code, None)
        self._redraw(code)
        self.say("Change discarded.")

    def action_discard(self) -> None:
        code = self._current()
        if code in self.pending:
            self.discard(code)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def action_back(self) -> None:
        self.leave(self.app.pop_screen)

    def leave(self, then: Callable[[], object]) -> None:
        """Run ``then`` once there are no unsaved changes, asking first whether to save or discard."""
        if not self.pending:
            then()
            return
        names = ", ".join(self.segments[c].name for c in self.pending)

        def save_next() -> None:
            # One at a time: a conflict dialog for one row waits for its answer before the next.
            if not self.pending:
                then()
                return
            self.save(next(iter(self.pending)), then=save_next)

        def answered(choice: str | None) -> None:
            if choice == "save":
                save_next()
            elif choice == "discard":
                self.pending.clear()
                self.refresh_data()
                then()

        self.app.push_screen(
            ChoiceModal(
                "Unsaved changes",
                plain(f"The Customer ID of {names} has unsaved changes. Save them?"),
                [
                    ("stay", "c", "Stay here"),
                    ("save", "s", "Save Changes"),
                    ("discard", "x", "Discard Changes"),
                ],
                id="unsaved",
            ),
            answered,
        )
