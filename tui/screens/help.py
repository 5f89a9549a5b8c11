"""The help screen: every key of every screen, with the keymap applied."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from tui.widgets.dialog import Dialog

Section = tuple[str, list[tuple[str, str]]]


class HelpScreen(Dialog[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help-dialog"):
            yield Static(Text("smartlic — keys", style="bold"), classes="dialog-title")
            with VerticalScroll(id="help-body"):
                for title, rows in self.sections:
                    table = Table.grid(padding=(0, 2))
                    table.add_column(style="bold", min_width=12)
                    table.add_column()
                    for keys, what in rows:
                        table.add_row(Text(keys), Text(what))
                    yield Static(Text(title, style="bold underline"))
                    yield Static(table, classes="help-section")
            yield Static("Esc, q or ? closes · ctrl+p lists every action", classes="dialog-help")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
