"""The selection mark column: a glyph and a colour (unselected blue, selected yellow), as in the seed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.text import Text

from tui.widgets.styles import BLUE, YELLOW

MARK_ON = "[x]"
MARK_OFF = "[ ]"
MARK_COLUMN = "mark"


def mark(selected: bool) -> Text:
    return Text(MARK_ON, style=YELLOW) if selected else Text(MARK_OFF, style=BLUE)


class Selection:
    """The set of selected row keys of a table with a mark column.

    ``version`` changes with every change of the set, so a count derived from it (how many marks
    the filter hides) can be cached until the marks or the visible rows change.
    """

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self.version = 0

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys))

    def unordered(self) -> Iterator[str]:
        """The keys without sorting them: for counting."""
        return iter(self._keys)

    def _changed(self) -> None:
        self.version += 1

    def toggle(self, key: str) -> bool:
        self._changed()
        if key in self._keys:
            self._keys.discard(key)
            return False
        self._keys.add(key)
        return True

    def add_all(self, keys: Iterable[str]) -> None:
        self._changed()
        self._keys.update(keys)

    def remove_all(self, keys: Iterable[str]) -> None:
        self._changed()
        self._keys.difference_update(keys)

    def clear(self) -> None:
        self._changed()
        self._keys.clear()

    def discard(self, key: str) -> None:
        self._changed()
        self._keys.discard(key)

    def keep_only(self, keys: Iterable[str]) -> None:
        self._changed()
        self._keys &= set(keys)
