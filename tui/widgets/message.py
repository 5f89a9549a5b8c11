"""A message that stays until it is read: the result of a file operation (paths, next steps)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from tui.widgets.dialog import Dialog
from tui.widgets.styles import plain


class MessageModal(Dialog[None]):
    """Title, a scrollable body and OK. Enter, Escape or q closes it."""

    DEFAULT_CSS = """
    MessageModal { align: center middle; }
    MessageModal #message-scroll { height: auto; max-height: 16; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="message.close"),
        Binding("up", "scroll_body(-1)", show=False, id="message.up"),
        Binding("down", "scroll_body(1)", show=False, id="message.down"),
        Binding("pageup", "scroll_body(-10)", show=False, id="message.pageup"),
        Binding("pagedown", "scroll_body(10)", show=False, id="message.pagedown"),
    ]

    def __init__(self, title: str, body: Text, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.title_text, style="bold"), classes="dialog-title")
            with VerticalScroll(id="message-scroll"):
                yield Static(self.body, id="message-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_scroll_body(self, lines: int) -> None:
        scroll = self.query_one("#message-scroll", VerticalScroll)
        scroll.scroll_to(y=scroll.scroll_y + lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
