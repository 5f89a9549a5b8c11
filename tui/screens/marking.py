"""What Download and Devices share: a VirtualTable whose rows are marked with space, a and n."""

from __future__ import annotations

import gc
from collections.abc import Collection

from textual import on

from tui.screens.base import ServiceScreen
from tui.widgets.marks import Selection
from tui.widgets.vtable import VirtualTable


class MarkingScreen(ServiceScreen):
    selection: Selection

    def markable(self) -> Collection[str]:
        """The row keys that can carry a mark."""
        raise NotImplementedError

    def marking_allowed(self) -> bool:
        """False while an operation on the marked rows is running."""
        return True

    def _count(self) -> None:
        """Show how many rows are marked."""
        raise NotImplementedError

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
        self.action_toggle()

    def action_toggle(self) -> None:
        table = self.query_one(VirtualTable)
        key = table.cursor_key
        if key is None or not self.marking_allowed() or key not in self.markable():
            return
        self.selection.toggle(key)
        table.refresh_key(key)
        self._count()

    def action_select_all(self) -> None:
        if self.marking_allowed():
            self.selection.set_all(self.markable())
            self._remarked()

    def action_select_none(self) -> None:
        if self.marking_allowed():
            self.selection.clear()
            self._remarked()

    def _remarked(self) -> None:
        self.query_one(VirtualTable).refresh_marks()
        self._count()
