"""The selection mark column: a glyph and a colour (unselected blue, selected yellow), as in the seed."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from rich.text import Text

from tui.widgets.styles import BLUE, YELLOW

MARK_ON = "[x]"
MARK_OFF = "[ ]"
MARK_COLUMN = "mark"


def mark(selected: bool) -> Text:
    return Text(MARK_ON, style=YELLOW) if selected else Text(MARK_OFF, style=BLUE)


class Selection:
    """The set of selected row keys of a table with a mark column."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(sorted(self._keys))

    def toggle(self, key: str) -> bool:
        if key in self._keys:
            self._keys.discard(key)
            return False
        self._keys.add(key)
        return True

    def set_all(self, keys: Iterable[Hashable]) -> None:
        self._keys = {str(k) for k in keys}

    def clear(self) -> None:
        self._keys.clear()

    def discard(self, key: str) -> None:
        self._keys.discard(key)

    def keep_only(self, keys: Iterable[str]) -> None:
        self._keys &= set(keys)
