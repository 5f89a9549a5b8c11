"""The Line-API table of Download and Devices: cursor, marks, filter by typing, streaming pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from itertools import pairwise

from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from tests.support.tui import burst
from tui.widgets.marks import MARK_COLUMN, Selection
from tui.widgets.vtable import Cell, VirtualTable

COLUMNS = [("Sel", MARK_COLUMN), ("Device", "device"), ("Name", "name")]


class TableApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.selection = Selection()
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, selection=self.selection, id="t")

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self.highlighted.append(event.key)


@asynccontextmanager
async def shown(
    content: dict[str, Sequence[Cell]], app: TableApp | None = None
) -> AsyncIterator[tuple[TableApp, Pilot, VirtualTable]]:
    """A focused table holding ``content``, in a 60×12 terminal."""
    app = app or TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows(content)
        table.focus()
        yield app, pilot, table


def rows(count: int, start: int = 0) -> dict[str, Sequence[Cell]]:
    return {f"D-{i:05d}": (f"D-{i:05d}", f"Device {i}") for i in range(start, start + count)}


async def test_cursor_marks_and_paging_over_many_rows() -> None:
    async with shown(rows(100_000)) as (app, pilot, table):
        await pilot.pause()
        assert table.row_count == 100_000
        await pilot.press("down", "down", "pagedown", "end")
        assert table.cursor_key == "D-99999"
        assert table.scroll_y >= 99_980
        app.selection.toggle("D-99999")
        table.refresh_key("D-99999")
        await pilot.pause()
        line = table.render_line(table.cursor_row - int(table.scroll_y) + 1).text
        assert "[x]" in line and "D-99999" in line
        await pilot.press("home")
        assert table.cursor_key == "D-00000"
        assert app.highlighted[-1] == "D-00000"


async def test_filter_by_typing_narrows_and_escape_clears() -> None:
    async with shown(rows(1000)) as (_app, pilot, table):
        await pilot.press("slash", "9", "9")
        assert table.filtering and table.filter_text == "99"
        assert table.row_count == sum(1 for key in rows(1000) if "99" in key.casefold())
        await pilot.press("9")
        assert {table._key_at(i) for i in range(table.row_count)} == {"D-00999"}
        await pilot.press("backspace")
        assert table.filter_text == "99"
        await pilot.press("enter")
        assert not table.filtering and table.filter_text == "99"
        # Keys are keys again once the filter is kept: 'a' is not typed into it.
        await pilot.press("a")
        assert table.filter_text == "99"
        await pilot.press("slash", "escape")
        assert table.filter_text == "" and table.row_count == 1000


async def test_pages_append_and_keep_the_cursor_row() -> None:
    async with shown(rows(10)) as (_app, pilot, table):
        await pilot.press("down", "down")
        table.append_rows(rows(10, start=10))
        await pilot.pause()
        assert table.row_count == 20 and table.cursor_key == "D-00002"
        table.set_rows({k: v for k, v in rows(20).items() if k != "D-00001"})
        assert table.cursor_key == "D-00002"


async def test_line_scrollbar_draws_what_the_stock_scrollbar_draws() -> None:
    from textual.widget import Widget

    from tui.widgets.vtable import LineScrollBar

    async with shown(rows(5000)) as (_app, pilot, table):
        for keys in ([], ["pagedown"] * 3, ["end"]):
            await pilot.press(*keys)
            await pilot.pause()
            bar = table.vertical_scrollbar
            assert isinstance(bar, LineScrollBar) and bar.display
            ours = bar.render_lines(bar.size.region)
            stock = [Widget.render_line(bar, y) for y in range(bar.size.height)]
            assert [list(strip) for strip in ours] == [list(strip) for strip in stock]


async def test_segments_of_one_style_are_joined_and_the_row_fills_the_width() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows(rows(3))
        await pilot.pause()
        strip = table.render_line(2)
        assert strip.cell_length == table.scrollable_content_region.width
        styles = [segment.style for segment in strip]
        assert all(a != b for a, b in pairwise(styles))
        assert "D-00001" in strip.text


def screen_lines(pilot: Pilot, table: VirtualTable) -> list[str]:
    """The table's lines as the screen shows them now (cached lines included)."""
    strips = pilot.app.screen._compositor.render_strips()
    top = table.region.y
    return [strip.text for strip in strips[top : top + table.region.height]]


def visible(table: VirtualTable) -> list[str]:
    return [table._key_at(row) for row in range(table.row_count)]  # type: ignore[misc]


async def test_rows_replaced_under_a_filter_are_filtered_again() -> None:
    """Download, /capacity, Enter, r: the list came again under the filter and drawing it raised
    IndexError (the filter's text index kept the old rows)."""
    async with shown(rows(50)) as (_app, pilot, table):
        await pilot.press("slash", "1", "enter")
        before = visible(table)
        assert before and all("1" in key for key in before)
        table.set_rows(rows(50))
        await pilot.pause()
        assert visible(table) == before
        table.set_rows(rows(20))
        await pilot.press("end")
        assert table.cursor_key == max(k for k in rows(20) if "1" in k)
        assert all(table.render_line(y) is not None for y in range(table.size.height))
        table.set_rows({})
        await pilot.press("end", "home", "down")
        assert table.cursor_key is None and table.row_count == 0


async def test_a_replaced_row_joins_or_leaves_the_filter() -> None:
    async with shown(rows(10)) as (_app, pilot, table):
        await pilot.press("slash", *"device 3", "enter")
        assert visible(table) == ["D-00003"]
        table.append_rows({"D-00004": ("D-00004", "device 3 too"), "D-00003": ("D-00003", "gone")})
        await pilot.pause()
        assert visible(table) == ["D-00004"] and table.cursor_key == "D-00004"


async def test_a_sideways_scroll_between_two_columns_draws_every_line_at_one_offset() -> None:
    """A scroll animates through fractions: the rows drawn at 0.6 and the rows drawn at 1.0 must
    agree (they did not: one column apart, as the screen repaints on the rounded value)."""
    app = TableApp()
    async with app.run_test(size=(20, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_rows(rows(8))
        table.focus()
        await pilot.pause()
        table.scroll_x = 0.6
        await pilot.pause()
        table.scroll_x = 1.0
        await pilot.press("down")  # repaints two rows only
        await pilot.pause()
        lines = screen_lines(pilot, table)
        assert lines[0].startswith("Sel  Device")
        for line in lines[1:9]:
            assert line.startswith("[ ]  D-0000"), lines


async def test_the_cursor_goes_back_to_its_row_when_it_shows_again() -> None:
    """A filter that hides the cursor's row, or a reload that streams it back a page later:
    the cursor waits on a neighbour and returns, unless the user moved it meanwhile."""
    async with shown(rows(30)) as (_app, pilot, table):
        await pilot.press(*["down"] * 12)
        assert table.cursor_key == "D-00012"
        await pilot.press("slash", "9")
        assert table.cursor_key is not None and "9" in table.cursor_key
        await pilot.press("escape")
        assert table.cursor_key == "D-00012"
        table.set_rows(rows(5))
        assert table.cursor_key == "D-00004"
        table.append_rows(rows(10, start=5))
        assert table.cursor_key == "D-00012"
        table.set_rows(rows(5))
        await pilot.press("up")
        table.append_rows(rows(10, start=5))
        assert table.cursor_key == "D-00003"


async def test_keys_typed_in_one_burst_after_slash_go_to_the_filter() -> None:
    """'/' starts the filter before the next key is read: a paste or a burst over a slow link
    ("/cap" in one packet) filters, and its letters never run as the screen's commands."""
    marked: list[str] = []

    class MarkingApp(TableApp):
        BINDINGS = [("a", "mark_all", "All")]

        def action_mark_all(self) -> None:
            marked.append("a")

    async with shown(rows(1000), MarkingApp()) as (app, pilot, table):
        await pilot.pause()
        burst(app, "slash", "9", "a", "9", "enter")
        await pilot.pause()
        await pilot.pause()
        assert table.filter_text == "9a9" and not table.filtering
        assert marked == []


async def test_a_paste_goes_into_the_filter() -> None:
    async with shown(rows(1000)) as (app, pilot, table):
        app.post_message(events.Paste("D-0099\nsecond line ignored"))
        await pilot.pause()
        assert table.filtering and table.filter_text == "D-0099"
        assert table.visible_keys() == [f"D-0099{i}" for i in range(10)]
        app.post_message(events.Paste("1"))
        await pilot.pause()
        assert table.visible_keys() == ["D-00991"]
        app.post_message(events.Paste("\x1b]0;owned\x07"))
        await pilot.pause()
        assert "\x1b" not in table.filter_text
