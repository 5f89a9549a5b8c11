"""Manage Customer Accounts: Segment Controller and Install Code read-only, Customer ID edited in place."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import Button, DataTable, Static

from core.models import SegmentController
from core.service import LicenseService
from tui.screens.base import ServiceScreen, cursor_key, set_usable, sync_rows, title_text
from tui.widgets.confirm import ChoiceModal
from tui.widgets.edit import EditModal
from tui.widgets.footer import SteadyFooter
from tui.widgets.styles import YELLOW, plain

COLUMNS = [
    ("Segment Controller", "segment", None),
    ("Install Code", "install_code", None),
    ("Customer ID", "customer_id", 36),
    ("Changes", "changes", 10),
]
COLUMN_KEYS = [key for _label, key, _width in COLUMNS]
CUSTOMER_COLUMN = 2
READ_ONLY = {0: "Segment Controller", 1: "Install Code"}


def problem_or_clear(text: str) -> str | None:
    """The service's reason to refuse ``text``; an empty value is allowed (it clears the ID)."""
    return LicenseService.customer_id_problem(text)


class CustomerAccountsScreen(ServiceScreen):
    BINDINGS = [
        Binding("e", "edit", "Edit", id="accounts.edit"),
        Binding("s", "save", "Save Changes", id="accounts.save"),
        Binding("x", "discard", "Discard Changes", id="accounts.discard"),
        Binding("b,escape", "back", "BACK", id="accounts.back"),
    ]

    def __init__(self) -> None:
        super().__init__(id="customer-accounts")
        self.segments: dict[str, SegmentController] = {}
        self.pending: dict[str, str] = {}

    @property
    def has_unsaved(self) -> bool:
        return bool(self.pending)

    def compose(self) -> ComposeResult:
        yield Static(title_text("Manage Customer Accounts"), classes="screen-title")
        table: DataTable = DataTable(id="accounts", cursor_type="cell")
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(id="detail", classes="detail")
        with Horizontal(classes="actions-row"):
            yield Button("Save Changes (s)", id="save", compact=True)
            yield Button("Discard Changes (x)", id="discard", compact=True)
            yield Button("BACK (b)", id="back", compact=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.refresh_data()
        table = self.query_one(DataTable)
        table.cursor_coordinate = Coordinate(0, CUSTOMER_COLUMN)
        table.focus()

    def refresh_data(self) -> None:
        segments = self.guarded(self.service.segments) or []
        self.segments = {s.install_code: s for s in segments}
        self.pending = {k: v for k, v in self.pending.items() if k in self.segments}
        rows = {code: self._cells(seg) for code, seg in self.segments.items()}
        sync_rows(self.query_one(DataTable), COLUMN_KEYS, rows)
        self._update_row_actions()

    def _cells(self, seg: SegmentController) -> list[object]:
        code = seg.install_code
        if code in self.pending:
            value = Text(self.pending[code] or "(cleared)", style=YELLOW)
            changes = Text("● unsaved", style=YELLOW)
        else:
            value = plain(seg.customer_id) if seg.customer_id else Text("(none)", style="dim")
            changes = Text("")
        return [plain(seg.name), plain(code), value, changes]

    def _current(self) -> str | None:
        return cursor_key(self.query_one(DataTable))

    def _update_row_actions(self) -> None:
        code = self._current()
        pending = code in self.pending if code else False
        table = self.query_one(DataTable)
        for button in ("#save", "#discard"):
            set_usable(self.query_one(button), pending, table, hide=True)
        detail = self.query_one("#detail", Static)
        seg = self.segments.get(code) if code else None
        if seg is None:
            detail.update("")
        else:
            column = table.cursor_coordinate.column
            text = Text(f"{seg.name} ({seg.install_code}) · ", style="bold")
            if column in READ_ONLY:
                text.append(f"{READ_ONLY[column]} is read-only.")
            else:
                text.append("Customer ID: Enter or e edits (a paste works).")
            if pending:
                text.append(" Unsaved change: s saves, x discards.", style=YELLOW)
            detail.update(text)
        self.refresh_bindings()

    @on(DataTable.CellHighlighted)
    def _highlighted(self, _event: DataTable.CellHighlighted) -> None:
        self._update_row_actions()

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        self.action_edit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "discard"):
            return self._current() in self.pending
        return True

    # --- actions -----------------------------------------------------------------------------

    def action_edit(self) -> None:
        table = self.query_one(DataTable)
        code = self._current()
        if code is None:
            return
        column = table.cursor_coordinate.column
        if column in READ_ONLY:
            self.notify(
                f"{READ_ONLY[column]} is read-only; only the Customer ID can be edited.",
                severity="warning",
                timeout=4,
            )
            return
        seg = self.segments[code]
        current = self.pending.get(code, str(seg.customer_id) if seg.customer_id else "")

        def done(text: str | None) -> None:
            if text is None:
                return
            saved = str(seg.customer_id) if seg.customer_id else ""
            if text == saved:
                self.pending.pop(code, None)
            else:
                self.pending[code] = text
            self._redraw(code)

        self.app.push_screen(
            EditModal(
                f"Customer ID of {seg.name} ({seg.install_code})",
                current,
                problem=problem_or_clear,
                placeholder="e.g. 2133c667-af41-4518-94df-a2bb3b775330",
                help_text="Enter accepts · Esc cancels · empty clears",
            ),
            done,
        )

    def _redraw(self, code: str) -> None:
        table = self.query_one(DataTable)
        for key, cell in zip(COLUMN_KEYS, self._cells(self.segments[code]), strict=True):
            table.update_cell(code, key, cell, update_width=True)
        self._update_row_actions()

    def save(self, code: str) -> bool:
        seg = self.segments[code]
        text = self.pending[code]
        try:
            updated = self.service.set_customer_id(code, text)
        except Exception as exc:
            # Refused (licenses still active) or invalid: say why and keep the old value.
            self.pending.pop(code, None)
            self._redraw(code)
            self.report_error(exc)
            return False
        self.pending.pop(code, None)
        self.segments[code] = updated
        self._redraw(code)
        self.notify(f"{seg.name}: Customer ID saved.", timeout=3)
        return True

    def action_save(self) -> None:
        code = self._current()
        if code in self.pending:
            self.save(code)

    def action_discard(self) -> None:
        code = self._current()
        if code in self.pending:
            self.pending.pop(code)
            self._redraw(code)
            self.notify("Change discarded.", timeout=3)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        {"save": self.action_save, "discard": self.action_discard, "back": self.action_back}[
            event.button.id or "back"
        ]()

    def action_back(self) -> None:
        self.leave(self.app.pop_screen)

    def leave(self, then: Callable[[], object]) -> None:
        """Run ``then`` once there are no unsaved changes, asking first whether to save or discard."""
        if not self.pending:
            then()
            return
        names = ", ".join(self.segments[c].name for c in self.pending)

        def answered(choice: str | None) -> None:
            if choice == "save":
                if all([self.save(code) for code in list(self.pending)]):
                    then()
            elif choice == "discard":
                self.pending.clear()
                self.refresh_data()
                then()

        self.app.push_screen(
            ChoiceModal(
                "Unsaved changes",
                Text(f"The Customer ID of {names} has unsaved changes. Save them?"),
                [
                    ("stay", "c", "Stay here"),
                    ("save", "s", "Save Changes"),
                    ("discard", "d", "Discard Changes"),
                ],
            ),
            answered,
        )
