"""Columns that give way in a stated order, so a table fits 80 (and 60) columns without losing one.

Each column has the width it would like (its longest cell or label) and the least it may shrink to
while still being understood. When the table is too narrow, the columns shrink one after another in
the table's ``give_way`` order, each only as far as needed and never below its least width; a cell
cut short ends in "…" (the screen's detail line shows it whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

CELL_PADDING = 1
"""DataTable's cell_padding: each column takes this much on either side."""


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    label: str
    least: int
    """The narrowest this column may become."""
    short_label: str = ""
    """The label once the column is narrower than ``label``."""


def fit_widths(
    specs: Sequence[ColumnSpec], wanted: dict[str, int], available: int, give_way: Sequence[str]
) -> dict[str, int]:
    """Content widths (padding excluded) for ``available`` cells of table width.

    ``wanted``: each column's natural content width. Columns in ``give_way`` shrink in that order.
    """
    widths = {s.key: max(wanted.get(s.key, 0), cell_len(s.label)) for s in specs}
    least = {s.key: min(widths[s.key], max(s.least, cell_len(s.short_label))) for s in specs}
    room = available - 2 * CELL_PADDING * len(specs)
    excess = sum(widths.values()) - room
    for key in give_way:
        if excess <= 0:
            break
        cut = min(excess, widths[key] - least[key])
        widths[key] -= cut
        excess -= cut
    return widths


def label_for(spec: ColumnSpec, width: int) -> Text:
    label = spec.label if cell_len(spec.label) <= width or not spec.short_label else spec.short_label
    return fit_cell(Text(label), width)


def fit_cell(text: Text, width: int) -> Text:
    """``text`` cut to ``width`` cells, ending in "…" when cut."""
    if text.cell_len <= width:
        return text
    cut = text.copy()
    cut.truncate(width, overflow="ellipsis")
    return cut
