"""What Download and Devices share: a VirtualTable whose rows are marked with space, a and n.

The one place of the marking rules: ``a`` and ``n`` act on the rows the filter shows, the counter
says how many marks an action will act on and how many of them the filter hides, and an action on
the marks asks first when some of them are hidden.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection
from dataclasses import dataclass

from rich.text import Text
from textual import on

from tui.screens.base import ServiceScreen
from tui.widgets.confirm import ConfirmModal
from tui.widgets.marks import Selection
from tui.widgets.vtable import VirtualTable


@dataclass(frozen=True)
class MarkCount:
    marked: int
    """Every marked row: what an action on the marks acts on."""
    hidden: int
    """Of those, the rows the filter hides."""

    def text(self, total: int) -> str:
        """``3 of 11 selected (2 hidden by the filter)``."""
        line = f"{self.marked} of {total} selected"
        if self.hidden:
            line += f" ({self.hidden} hidden by the filter)"
        return line


class MarkingScreen(ServiceScreen):
    selection: Selection
    _hidden_cache: tuple[tuple[int, int], int] | None = None
    """((table view version, selection version), marks hidden by the filter then)."""

    def markable(self) -> Collection[str]:
        """The row keys that can carry a mark."""
        raise NotImplementedError

    def marking_allowed(self) -> bool:
        """False while an operation on the marked rows is running."""
        return True

    def _count(self) -> None:
        """Show how many rows are marked (``mark_count().text(...)``)."""
        raise NotImplementedError

    @property
    def table(self) -> VirtualTable:
        return self.query_one(VirtualTable)

    def mark_count(self) -> MarkCount:
        """How many rows are marked, and how many of them the filter hides.

        The hidden count costs a look-up per mark, so it is kept until the marks or the visible
        rows change: a toggle (always of a visible row) keeps it, so space stays O(1).
        """
        table = self.table
        key = (table.view_version, self.selection.version)
        if self._hidden_cache is None or self._hidden_cache[0] != key:
            hidden = 0
            if table.filter_text:
                hidden = sum(1 for k in self.selection.unordered() if not table.is_visible(k))
            self._hidden_cache = (key, hidden)
        return MarkCount(len(self.selection), self._hidden_cache[1])

    def list_loaded(self) -> None:
        """Every row is in. Freeze what is alive now out of the garbage collector's view: a full
        collection otherwise walks the 100,000-row list (and all the rest) every few keys, about
        0.2 s each time. Nothing is lost: unreachable objects still go by reference counting,
        and leaving the screen unfreezes, so cycles made meanwhile are collected then."""
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()

    @on(VirtualTable.RowSelected)
    def _selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self.action_toggle_mark()

    @on(VirtualTable.Filtered)
    def _filtered(self, event: VirtualTable.Filtered) -> None:
        event.stop()
        self._count()

    def action_toggle_mark(self) -> None:
        table = self.table
        key = table.cursor_key
        if key is None or not self.marking_allowed() or key not in self.markable():
            return
        before = (table.view_version, self.selection.version)
        self.selection.toggle(key)
        if self._hidden_cache is not None and self._hidden_cache[0] == before:
            # The cursor row is visible: the hidden count stays what it was.
            self._hidden_cache = ((table.view_version, self.selection.version), self._hidden_cache[1])
        table.refresh_key(key)
        self._count()

    def action_select_all(self) -> None:
        """Mark every row the filter shows; marks on hidden rows stay as they are."""
        if self.marking_allowed():
            markable = self.markable()
            self.selection.add_all(k for k in self.table.visible_keys() if k in markable)
            self._remarked()

    def action_select_none(self) -> None:
        """Unmark every row the filter shows; marks on hidden rows stay as they are."""
        if self.marking_allowed():
            table = self.table
            if table.filter_text:
                self.selection.remove_all(table.visible_keys())
            else:
                self.selection.clear()
            self._remarked()

    def _remarked(self) -> None:
        self.table.refresh_marks()
        self._count()

    def act_on_marks(self, title: str, verb: str, act: Callable[[list[str]], object]) -> None:
        """Run ``act`` on every marked row, as the counter says; when the filter hides some of
        them, say so and run it only after an explicit yes (Cancel has the focus)."""
        keys = list(self.selection)
        count = self.mark_count()
        if not count.hidden:
            act(keys)
            return
        body = Text(
            f"{count.marked} row(s) are marked, and the filter hides {count.hidden} of them. "
            f"{verb} acts on all {count.marked}, the hidden ones too. Clear the filter (/, then Esc) "
            "to see them first."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                act(keys)
            else:
                self.notify(f"{title} cancelled; nothing changed.", timeout=3)

        self.app.push_screen(
            ConfirmModal(
                f"{title} — {count.hidden} marked row(s) hidden",
                body,
                yes=f"{verb} {count.marked}",
                id="hidden-marks-modal",
            ),
            answered,
        )
