"""A row table that renders only the rows on screen (Textual's Line API), for large lists.

Stock ``DataTable`` builds every row up front (``add_rows`` is O(n) in Python objects and slow past
10,000 rows); this widget keeps one tuple of cells per row and renders the visible lines on demand,
so 100,000 rows cost what 100 do per keystroke. It has what the Download and Devices screens need:
a fixed header, a row cursor, zebra stripes, a selection mark column drawn from a ``Selection``,
horizontal scrolling, rows appended as pages arrive, and filtering by typing ``/`` then text.

Keys: up/down, page up/down, home/end, left/right (scroll), enter (RowSelected), ``/`` filter
(type to narrow, backspace, enter keeps it, escape clears it); a paste goes into the filter.

What holds after every change (rows replaced, appended or gone; filter set, changed or cleared):
the view lists indices of existing rows, in order, exactly those whose text holds the filter; the
cursor is on a visible row, or there is no cursor when no row is visible. It stays on the row the
user put it on while that row is visible; when the row goes (filtered out, not yet streamed back,
removed), it waits on the row now at its place and returns once the row shows again, unless the
user moved it meanwhile.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from core.sanitize import clean
from tui.widgets.marks import MARK_COLUMN, MARK_OFF, Selection, mark

Cell = str | Text
PAD = 1
# The two mark cells, built once: they are only read (no spans, never truncated in place).
_MARKS = {True: mark(True), False: mark(False)}


class LineScrollBar(ScrollBar):
    """Textual's vertical scrollbar, drawn through the Line API with its lines cached.

    The stock bar goes through the rich-renderable pipeline (about as costly as the whole table)
    every time the table scrolls; with 20,000 rows nearly every cursor key scrolls. Same glyphs,
    colours and mouse handling: only how the lines are produced differs.
    """

    def __init__(self, *, thickness: int = 1) -> None:
        super().__init__(vertical=True, name="vertical", thickness=thickness)
        self._bar_key: tuple | None = None
        self._bar_lines: list[Strip] = []

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once per repaint, not per line: render() reads the parent's styles.
        width, height = self.size
        bar = self.render()
        if isinstance(bar, ScrollBarRender):
            key = (width, height, bar.virtual_size, bar.window_size, bar.position, bar.style)
            if key != self._bar_key:
                self._bar_key = key
                self._bar_lines = self._draw(bar, width, height)
        else:  # a custom renderer: draw it the stock way
            self._bar_key = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._bar_key is None:
            return super().render_line(y)
        lines = self._bar_lines
        return lines[y] if 0 <= y < len(lines) else Strip.blank(self.size.width)

    def _draw(self, bar: ScrollBarRender, width: int, height: int) -> list[Strip]:
        style = self.app.console.get_style(bar.style)
        drawn = bar.render_bar(
            size=height,
            virtual_size=bar.virtual_size,
            window_size=bar.window_size,
            position=bar.position,
            thickness=width,
            vertical=True,
            back_color=style.bgcolor or Color.parse("#555555"),
            bar_color=style.color or Color.parse("bright_magenta"),
        )
        # Under the bar's own colours, the widget's style, as the stock render pipeline does.
        base = self.rich_style
        return [Strip([Segment(seg.text, base + seg.style)], width) for seg in drawn.segments]


@dataclass(frozen=True)
class Column:
    label: str
    key: str


class VirtualTable(ScrollView, can_focus=True):
    """Rows by key; the cells of the mark column (``MARK_COLUMN``) come from ``selection``."""

    COMPONENT_CLASSES = {
        "vtable--header",
        "vtable--cursor",
        "vtable--even-row",
        "vtable--odd-row",
        "vtable--filter",
    }
    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .vtable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .vtable--header { background-tint: $foreground 5%; }
        }
        &:dark > .vtable--even-row { background: $surface-darken-1 40%; }
        & > .vtable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .vtable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .vtable--even-row { background: $surface-lighten-1 50%; }
        & > .vtable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .vtable--filter { background: $panel; color: $foreground; text-style: bold; }
    }
    """
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
        Binding("enter", "select", "Select", show=False),
        Binding("slash", "start_filter", "Filter", id="table.filter"),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, layout=False, repaint=False)

    class RowHighlighted(Message):
        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Filtered(Message):
        """The filter text changed: the visible rows are others now."""

        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        selection: Selection | None = None,
        zebra_stripes: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = [Column(label, key) for label, key in columns]
        self.selection = selection
        self.zebra_stripes = zebra_stripes
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: list[tuple[Cell, ...]] = []
        self._widths = [cell_len(c.label) for c in self.columns]
        self._mark_at = next((i for i, c in enumerate(self.columns) if c.key == MARK_COLUMN), None)
        if self._mark_at is not None:
            self._widths[self._mark_at] = max(self._widths[self._mark_at], cell_len(MARK_OFF))
        self._view: list[int] | None = None  # row indices that pass the filter; None: all rows
        self._haystack: list[str] | None = None  # per row, its text for the filter; built on demand
        self.view_version = 0
        """Bumped whenever the visible rows may have changed (rows or filter): a cache key."""
        self._wanted: str | None = None  # the user's row while it is not visible (see _anchor)
        self.filter_text = ""
        self.filtering = False  # typing goes to the filter
        self._line_cache: dict[tuple, Strip] = {}
        self._row_styles: dict[tuple[int, bool], tuple[Style, Style | None]] = {}
        self._styles: dict[str, Style] = {}

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's own property, creating a LineScrollBar instead of a stock ScrollBar."""
        if self._vertical_scrollbar is None:
            self._vertical_scrollbar = LineScrollBar(thickness=self.scrollbar_size_vertical)
            self._vertical_scrollbar.display = False
            self.app._start_widget(self, self._vertical_scrollbar)
        return self._vertical_scrollbar

    # --- data --------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys) if self._view is None else len(self._view)

    @property
    def total_count(self) -> int:
        return len(self._keys)

    @property
    def cursor_key(self) -> str | None:
        return self._key_at(self.cursor_row)

    def _key_at(self, row: int) -> str | None:
        if not 0 <= row < self.row_count:
            return None
        return self._keys[row if self._view is None else self._view[row]]

    def keys(self) -> list[str]:
        return list(self._keys)

    def visible_keys(self) -> list[str]:
        """The keys of the rows the filter lets through, in order (every key without a filter)."""
        if self._view is None:
            return list(self._keys)
        keys = self._keys
        return [keys[i] for i in self._view]

    def is_visible(self, key: str) -> bool:
        return self._row_of_anywhere(key) is not None

    def get_cells(self, key: str) -> tuple[Cell, ...]:
        return self._cells[self._index[key]]

    def set_rows(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        """Show exactly ``rows`` (key -> cells without the mark column); the cursor keeps its row."""
        current = self._anchor()
        self._keys, self._cells, self._index = [], [], {}
        self._haystack = None
        self._widths = [cell_len(c.label) for c in self.columns]
        if self._mark_at is not None:
            self._widths[self._mark_at] = max(self._widths[self._mark_at], cell_len(MARK_OFF))
        self._append(rows)
        self._refilter(keep=current)

    def append_rows(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        """Add rows after the others (a page that arrived); rows already shown are replaced."""
        fresh = {k: v for k, v in rows.items() if k not in self._index}
        replaced = rows.keys() - fresh.keys()
        for key in replaced:
            index = self._index[key]
            self._cells[index] = self._with_mark(rows[key])
            if self._haystack is not None:
                self._haystack[index] = _haystack(self._cells[index])
        current = self._anchor()
        start = len(self._keys)
        self._append(fresh)
        if replaced and self.filter_text:
            # A replaced row may pass the filter now, or no longer: filter every row again.
            self._refilter(keep=current)
            return
        if self._view is not None and self.filter_text:
            self._ensure_haystack()
            assert self._haystack is not None
            needle = self.filter_text.casefold()
            self._view.extend(i for i in range(start, len(self._keys)) if needle in self._haystack[i])
        self._after_change(keep=current)

    def _with_mark(self, cells: Sequence[Cell]) -> tuple[Cell, ...]:
        if self._mark_at is None:
            return tuple(cells)
        return (*cells[: self._mark_at], "", *cells[self._mark_at :])

    def _append(self, rows: Mapping[str, Sequence[Cell]]) -> None:
        if not rows:
            return
        start = len(self._keys)
        new_cells = [self._with_mark(cells) for cells in rows.values()]
        self._keys.extend(rows)
        self._index.update((key, start + i) for i, key in enumerate(rows))
        self._cells.extend(new_cells)
        for col, _column in enumerate(self.columns):
            if col == self._mark_at:
                continue
            values = [cells[col] for cells in new_cells]
            plain = [v for v in values if isinstance(v, str)]
            width = 0
            if plain:
                width = max(map(len, plain)) if all(map(str.isascii, plain)) else max(map(cell_len, plain))
            styled = [v.cell_len for v in values if isinstance(v, Text)]
            self._widths[col] = max(self._widths[col], width, max(styled, default=0))
        if self._haystack is not None:
            self._haystack.extend(_haystack(cells) for cells in new_cells)

    def refresh_key(self, key: str) -> None:
        """Repaint the row of ``key`` (after its mark changed, say) if it is on screen."""
        row = self._row_of(key)
        if row is not None:
            # No cache to drop: a line's cache key holds its mark, so the new mark is a new line.
            self.refresh_line(row + 1)

    def refresh_marks(self) -> None:
        """Repaint every visible row (after select all / none)."""
        self._line_cache.clear()
        self.refresh()

    def _row_of(self, key: str) -> int | None:
        index = self._index.get(key)
        if index is None:
            return None
        if self._view is None:
            return index
        # Only rows on screen matter for repainting: look there, not through the whole view.
        top = self.scroll_offset.y
        for row in range(top, min(self.row_count, top + self.size.height)):
            if self._view[row] == index:
                return row
        return None

    # --- filtering -----------------------------------------------------------------------------

    def _ensure_haystack(self) -> None:
        if self._haystack is None:
            self._haystack = [_haystack(cells) for cells in self._cells]

    def set_filter(self, text: str) -> None:
        current = self._anchor()
        narrower = bool(self.filter_text) and text.startswith(self.filter_text) and self._view is not None
        previous = self._view
        self.filter_text = text
        self._refilter(keep=current, within=previous if narrower else None)
        self.post_message(self.Filtered(self))

    def _refilter(self, keep: str | None, within: list[int] | None = None) -> None:
        if not self.filter_text:
            self._view = None
        else:
            self._ensure_haystack()
            assert self._haystack is not None
            needle = self.filter_text.casefold()
            hay = self._haystack
            candidates = within if within is not None else range(len(hay))
            self._view = [i for i in candidates if needle in hay[i]]
        self._after_change(keep=keep)

    def _anchor(self) -> str | None:
        """The row the cursor belongs on: the one the user last put it on, while it is hidden or
        not (yet) in (a reload streams it back, a filter hides it), else the cursor's row."""
        return self._wanted if self._wanted is not None else self.cursor_key

    def _after_change(self, keep: str | None) -> None:
        self.view_version += 1
        self._line_cache.clear()
        self._update_virtual_size()
        row = self._row_of_anywhere(keep) if keep is not None else None
        self._move_cursor(row if row is not None else min(self.cursor_row, max(0, self.row_count - 1)))
        # Not there: the cursor waits on the row now at its place, and goes back to ``keep`` as
        # soon as that row is visible again, unless the user moves it first.
        self._wanted = keep if row is None else None
        self.refresh()

    def _row_of_anywhere(self, key: str) -> int | None:
        index = self._index.get(key)
        if index is None:
            return None
        if self._view is None:
            return index
        at = bisect.bisect_left(self._view, index)
        return at if at < len(self._view) and self._view[at] == index else None

    def action_start_filter(self) -> None:
        self.filtering = True
        self._bar_changed()

    def _bar_changed(self) -> None:
        """The filter bar came or went: one body line less or more, so the cursor may need a scroll."""
        self._update_virtual_size()
        self._scroll_cursor_into_view()
        self.refresh()

    async def _on_key(self, event: events.Key) -> None:
        if not self.filtering:
            if event.key == "slash":
                # Here, not only through the binding: a binding runs once the key has bubbled up
                # to the app, and by then this widget may have handled the keys typed after it (a
                # paste, a burst over a slow link), which then ran as commands (``a``: all marked).
                self.action_start_filter()
                event.stop()
                event.prevent_default()
            return
        if event.key == "escape":
            self.filtering = False
            self.set_filter("")
        elif event.key == "enter":
            self.filtering = False
            self._bar_changed()
        elif event.key == "backspace":
            self.set_filter(self.filter_text[:-1])
        elif event.is_printable and event.character:
            self.set_filter(self.filter_text + event.character)
        else:
            return  # cursor keys still move while filtering
        event.stop()
        event.prevent_default()

    def _on_paste(self, event: events.Paste) -> None:
        """A paste (a License ID copied from the portal, say) goes into the filter, opening it."""
        event.stop()
        line = clean(event.text.splitlines()[0]) if event.text.strip() else ""
        if not line:
            return
        if not self.filtering:
            self.action_start_filter()
        self.set_filter(self.filter_text + line)

    # --- cursor --------------------------------------------------------------------------------

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1 - self._bar_lines)

    @property
    def _bar_lines(self) -> int:
        return 1 if self.filtering or self.filter_text else 0

    def _move_cursor(self, row: int) -> None:
        row = max(0, min(row, self.row_count - 1)) if self.row_count else 0
        old = self.cursor_row
        self.cursor_row = row
        if old != row:
            self.refresh_line(old + 1)
            self.refresh_line(row + 1)
        self._scroll_cursor_into_view()
        self.post_message(self.RowHighlighted(self, self.cursor_key))

    def _user_move(self, row: int) -> None:
        self._wanted = None
        self._move_cursor(row)

    def _scroll_cursor_into_view(self) -> None:
        top = self.scroll_offset.y
        height = self._body_height
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self._user_move(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self._user_move(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self._user_move(self.cursor_row - self._body_height)

    def action_page_down(self) -> None:
        self._user_move(self.cursor_row + self._body_height)

    def action_first(self) -> None:
        self._user_move(0)

    def action_last(self) -> None:
        self._user_move(self.row_count - 1)

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    async def _on_click(self, event: events.Click) -> None:
        row = self.scroll_offset.y + event.y - 1
        if event.y >= 1 and 0 <= row < self.row_count:
            self._user_move(row)
            if event.chain > 1:
                self.action_select()

    # --- rendering -----------------------------------------------------------------------------

    def _update_virtual_size(self) -> None:
        width = sum(w + 2 * PAD for w in self._widths)
        self.virtual_size = Size(width, self.row_count + 1 + self._bar_lines)

    def on_mount(self) -> None:
        self._update_virtual_size()

    def on_resize(self) -> None:
        self._line_cache.clear()
        self._scroll_cursor_into_view()

    def _on_focus(self, _event: events.Focus) -> None:
        self._restyle()

    def _on_blur(self, _event: events.Blur) -> None:
        self._restyle()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def _restyle(self) -> None:
        """The widget's styles changed (focus, theme, CSS): drop every line and style built from them."""
        self._line_cache.clear()
        self._row_styles.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        # Called once per visible line on every scroll, so everything shared between lines
        # (region, styles, the header) is computed once and cached, and a row's strip is built
        # at its final width in one go instead of through crop/extend copies.
        region = self.scrollable_content_region
        width = region.width
        # Rounded, as Textual rounds when it decides to repaint: truncating instead drew lines
        # of one screen at two offsets while a sideways scroll was between two columns.
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            return self._header_line(scroll_x, width)
        bar_lines = self._bar_lines
        body = max(1, region.height - 1 - bar_lines)
        if bar_lines and y == body + 1:
            return self._filter_strip(width)
        row = scroll_y + y - 1
        key = self._key_at(row)
        if key is None or y > body:
            return Strip.blank(width, self.rich_style)
        selected = self.selection is not None and key in self.selection
        cursor = row == self.cursor_row
        cache_key = (key, row % 2, cursor, selected, scroll_x, width)
        strip = self._line_cache.get(cache_key)
        if strip is None:
            if len(self._line_cache) > 400:
                self._line_cache.clear()
            style, on_top = self._row_style(row, cursor)
            segments = self._row_segments(self._cells[self._index[key]], selected, style, on_top)
            strip = self._fit_strip(segments, scroll_x, width, style)
            self._line_cache[cache_key] = strip
        return strip

    def _fit_strip(self, segments: list[Segment], scroll_x: int, width: int, style: Style) -> Strip:
        """The row's segments as one strip exactly ``width`` cells wide, scrolled by ``scroll_x``."""
        total = sum(self._widths) + 2 * PAD * len(self._widths)
        if scroll_x == 0 and total <= width:
            if total < width:
                segments.append(Segment(" " * (width - total), style))
            # Neighbouring cells of one style as one segment: Textual's per-line work on every
            # scroll (filters, division into the screen's chops) grows with segments, not cells.
            return Strip(Segment.simplify(segments), width)
        return Strip(segments, total).crop(scroll_x, scroll_x + width).extend_cell_length(width, style)

    def _header_line(self, scroll_x: int, width: int) -> Strip:
        cache_key = ("header", scroll_x, width)
        strip = self._line_cache.get(cache_key)
        if strip is None:
            style = self.rich_style + self._style("vtable--header")
            segments = [
                Segment(_fit(column.label, col_width), style)
                for column, col_width in zip(self.columns, self._widths, strict=True)
            ]
            strip = self._line_cache[cache_key] = self._fit_strip(segments, scroll_x, width, style)
        return strip

    def _style(self, component: str) -> Style:
        return self.get_component_rich_style(component)

    def _row_style(self, row: int, cursor: bool) -> tuple[Style, Style | None]:
        """The row's base style and, on the cursor row, the cursor style laid over styled cells."""
        cache_key = (row % 2, cursor)
        styles = self._row_styles.get(cache_key)
        if styles is None:
            base = self.rich_style
            if self.zebra_stripes:
                base = base + self._style("vtable--even-row" if row % 2 else "vtable--odd-row")
            on_top = self._style("vtable--cursor") if cursor else None
            if on_top is not None:
                base = base + on_top
            styles = self._row_styles[cache_key] = (base, on_top)
        return styles

    def _text_style(self, style: str | Style) -> Style:
        if isinstance(style, Style):
            return style
        parsed = self._styles.get(style)
        if parsed is None:
            parsed = self._styles[style] = self.app.console.get_style(style)
        return parsed

    def _row_segments(
        self, cells: tuple[Cell, ...], selected: bool, style: Style, on_top: Style | None = None
    ) -> list[Segment]:
        segments: list[Segment] = []
        for col, (cell, width) in enumerate(zip(cells, self._widths, strict=True)):
            if col == self._mark_at:
                cell = _MARKS[selected]
            if isinstance(cell, Text):
                base = style + self._text_style(cell.style) if cell.style else style
                if on_top is not None:
                    base = base + on_top
                if not cell.spans:
                    segments.append(Segment(_fit(cell.plain, width), base))
                    continue
                text = cell.copy()
                text.truncate(width, overflow="ellipsis", pad=True)
                segments.append(Segment(" " * PAD, base))
                for segment in text.render(self.app.console):
                    segments.append(Segment(segment.text, base + segment.style if segment.style else base))
                segments.append(Segment(" " * PAD, base))
            else:
                segments.append(Segment(_fit(cell, width), style))
        return segments

    def _filter_strip(self, width: int) -> Strip:
        style = self.rich_style + self._style("vtable--filter")
        cursor = "█" if self.filtering else ""
        text = f" /{self.filter_text}{cursor}  {self.row_count:,} of {self.total_count:,} rows"
        hint = "  (enter keeps, esc clears)" if self.filtering else "  (/ to change)"
        return Strip([Segment(_fit_plain(text + hint, width), style)])


def _fit(text: str, width: int) -> str:
    """One padded cell: the text cut or padded to ``width`` cells, with the cell padding."""
    pad = " " * PAD
    text = clean(text)
    if text.isascii():
        if len(text) > width:
            text = text[: max(0, width - 1)] + "…"
        return pad + text.ljust(width) + pad
    cut = Text(text)
    cut.truncate(width, overflow="ellipsis", pad=True)
    return pad + cut.plain + " " * max(0, width - cut.cell_len) + pad


def _fit_plain(text: str, width: int) -> str:
    cut = Text(text)
    cut.truncate(width, overflow="ellipsis", pad=True)
    return cut.plain


def _haystack(cells: Iterable[Cell]) -> str:
    return " ".join(c.plain if isinstance(c, Text) else c for c in cells).casefold()
