"""Edit one table cell in place: an Input laid over the cell's own region, keyed by (row, column).

DataTable has no cell editing (Textual 8.2). The editor is found again by its row and column keys,
never by a coordinate, so a row that moves (a refresh, a sort) keeps its edit. Shared by Manage
Customer Accounts (Customer ID) and Manage Licenses (Note).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.binding import Binding
from textual.geometry import Offset, Region
from textual.widgets import DataTable, Input

Problem = Callable[[str], str | None]
"""Why a text would be refused (shown while typing), or None."""
Done = Callable[[str | None], None]
"""Called once: the trimmed text on Enter (or when focus leaves with a valid text), None on Esc."""
ShowProblem = Callable[[str | None], None]

EDITOR_LAYER = "cell-editor"


def cell_region(table: DataTable, row_key: str, column_key: str) -> Region:
    """The cell's region inside the table's content, before scrolling (no row labels are used)."""
    coordinate = table.get_cell_coordinate(row_key, column_key)
    x = sum(c.get_render_width(table) for c in table.ordered_columns[: coordinate.column])
    y = sum(r.height for r in table.ordered_rows[: coordinate.row])
    if table.show_header:
        y += table.header_height
    column = table.ordered_columns[coordinate.column]
    return Region(x, y, column.get_render_width(table), table.ordered_rows[coordinate.row].height)


class EditableTable(DataTable):
    """A DataTable whose cells are typed in by a ``CellEditor``.

    The keys that open an editor (``EDIT_KEYS``: key -> the screen's action) run here, as the
    table reads them, and not as bindings: a binding runs only once its key has bubbled up to the
    app, and by then the table has read the keys typed after it (a paste, a burst over a slow
    link), which ran as the screen's commands (``b``: BACK) instead of going into the cell. For
    the same reason, keys the table still reads while its editor is open (typed before the editor
    had the focus) go to the editor, in order.
    """

    EDIT_KEYS: ClassVar[dict[str, str]] = {}
    editor: CellEditor | None = None

    async def _on_key(self, event: events.Key) -> None:
        editor = self.editor
        if editor is not None:
            event.stop()
            event.prevent_default()
            editor.post_message(events.Key(event.key, event.character))
            return
        action = self.EDIT_KEYS.get(event.key)
        # Not run (the screen's check_action says no): the key goes on to the bindings as usual.
        if action is not None and await self.app.run_action(action, self.screen):
            event.stop()
            event.prevent_default()
        # Else nothing: Textual calls the _on_key of each class of the MRO (DataTable's next).


class CellEditor(Input):
    """Typing happens in the cell itself; the table below keeps showing every other cell."""

    DEFAULT_CSS = f"""
    CellEditor, CellEditor.-textual-compact {{
        layer: {EDITOR_LAYER};
        height: 1;
        padding: 0 1;  /* the cell's own padding: the text stays where the cell showed it */
        border: none;
        background: $boost;
        &.-invalid {{ text-style: bold; color: $text-error; }}
    }}
    """
    BINDINGS = [
        Binding("escape", "restore", "Restore the cell", id="edit.restore"),
    ]

    def __init__(
        self,
        table: DataTable,
        row_key: str,
        column_key: str,
        value: str,
        *,
        done: Done,
        problem: Problem | None = None,
        show_problem: ShowProblem | None = None,
        placeholder: str = "",
        max_length: int = 0,
        min_width: int = 0,
    ) -> None:
        """``min_width``: a cell narrower than this (a column that gave way) gets an editor this wide,
        grown leftwards from the cell's right edge, so the text being typed stays readable."""
        super().__init__(
            value,
            placeholder=placeholder,
            max_length=max_length,
            select_on_focus=False,
            compact=True,
            id="cell-editor",
        )
        self.table = table
        self.key = (row_key, column_key)
        """Which cell this edits: found again by its keys after rows move, never by a coordinate."""
        self.min_width = min_width
        self._done, self._problem, self._show_problem = done, problem, show_problem
        self._finished = False
        if isinstance(table, EditableTable):
            table.editor = self

    @property
    def row_key(self) -> str:
        return self.key[0]

    @property
    def column_key(self) -> str:
        return self.key[1]

    def on_mount(self) -> None:
        self.table.scroll_to_region(cell_region(self.table, *self.key), animate=False, force=True)
        self.place()
        self.call_after_refresh(self.place)
        self.focus()
        self.cursor_position = len(self.value)
        self.check(self.value)

    async def _on_key(self, event: events.Key) -> None:
        if not self.has_focus and not event.is_printable:
            # A key the table passed on, typed before this editor had the focus: its binding
            # (Enter submits, Esc restores, Backspace deletes) runs here, as the app would run it
            # for the focused editor; up there it would be the table's (Enter: select the cell).
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                event.stop()
                event.prevent_default()
                await self.run_action(binding.action)
                return
        # Else Input's own _on_key runs next (Textual calls each class's in turn).

    def place(self) -> None:
        """Lay the editor over its cell (call again after the table scrolled or was resized)."""
        try:
            cell = cell_region(self.table, *self.key)
        except Exception:  # the row went away (a refresh): nothing left to edit
            self.finish(None)
            return
        content = self.table.content_region
        scroll = self.table.scroll_offset
        x = content.x + cell.x - scroll.x
        width = max(4, min(cell.width, content.right - x))
        if width < self.min_width:
            right = x + width
            width = min(self.min_width, right - content.x)
            x = right - width
        self.styles.width = width
        self.absolute_offset = Offset(x, content.y + cell.y - scroll.y)
        self.refresh(layout=True)

    def check(self, text: str) -> str | None:
        problem = self._problem(text) if self._problem else None
        self.set_class(problem is not None, "-invalid")
        if self._show_problem is not None:
            self._show_problem(problem)
        return problem

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self.check(text) is None:
            self.finish(text)
        else:
            self.app.bell()

    def action_restore(self) -> None:
        self.finish(None)

    def on_blur(self) -> None:
        # Focus went elsewhere (a click, a dialog): a valid text stays pending, an invalid one goes.
        if not self._finished:
            text = self.value.strip()
            self.finish(text if self.check(text) is None else None)

    def finish(self, text: str | None) -> None:
        if self._finished:
            return
        self._finished = True
        if self._show_problem is not None:
            self._show_problem(None)
        table, screen = self.table, self.screen
        if isinstance(table, EditableTable) and table.editor is self:
            table.editor = None
        self.remove()
        if table.is_attached:
            table.focus()
        # Run on the screen, not in this widget's handler: the editor is going away, and a dialog
        # pushed from ``done`` would hand its answer to a removed widget (push_screen's callback
        # goes to the message pump that is running).
        screen.call_later(self._done, text)
