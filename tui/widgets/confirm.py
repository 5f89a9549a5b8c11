"""Modals: a yes/no confirmation with a safe default focus, and a three-way choice."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from tui.widgets.dialog import Dialog
from tui.widgets.styles import plain


class ConfirmModal(Dialog[bool]):
    """``True`` only on an explicit yes (the y key or a click on the yes button).

    The No button has the default focus, so Enter on the freshly opened dialog answers no.
    """

    DEFAULT_CSS = """
    ConfirmModal { align: center middle; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
        Binding("left,right", "app.focus_previous", show=False),
    ]

    def __init__(
        self,
        title: str,
        body: Text,
        *,
        yes: str = "Yes",
        no: str = "Cancel",
        details: Text | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.body = body
        self.details = details
        self.yes_label = yes
        self.no_label = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.title_text, style="bold"), classes="dialog-title")
            if self.details is not None:
                with VerticalScroll(classes="dialog-details"):
                    yield Static(self.details)
            yield Static(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.no_label} (n)", id="no", variant="primary")
                yield Button(f"{self.yes_label} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ChoiceModal(Dialog[str | None]):
    """Pick one of a few answers by key or button; Escape (and the first button) is the safe one."""

    DEFAULT_CSS = """
    ChoiceModal { align: center middle; }
    """
    BINDINGS = [Binding("escape", "choose('')", "Cancel", id="choice.cancel")]

    def __init__(
        self, title: str, body: Text, choices: list[tuple[str, str, str]], *, id: str | None = None
    ) -> None:
        """``choices``: (answer, key, label); the first is focused."""
        super().__init__(id=id)
        self.title_text = title
        self.body = body
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.title_text, style="bold"), classes="dialog-title")
            yield Static(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                for answer, key, label in self.choices:
                    yield Button(f"{label} ({key})", id=f"choice-{answer}")

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    def on_key(self, event) -> None:
        for answer, key, _label in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(answer or None)
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        answer = (event.button.id or "").removeprefix("choice-")
        self.dismiss(answer or None)

    def action_choose(self, answer: str) -> None:
        self.dismiss(answer or None)
