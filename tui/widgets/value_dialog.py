"""Edit one free-standing value (not a table cell: those are typed in place, tui.widgets.edit) in a
small dialog, with its problem shown while typing."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from tui.widgets.dialog import Dialog
from tui.widgets.styles import plain

Problem = Callable[[str], str | None]


class ValueDialog(Dialog[str | None]):
    """Returns the new text (spaces trimmed) on Enter, or None on Escape (nothing changes)."""

    DEFAULT_CSS = """
    ValueDialog { align: center middle; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="edit.cancel")]

    def __init__(
        self,
        title: str,
        value: str,
        *,
        problem: Problem | None = None,
        placeholder: str = "",
        help_text: str = "Enter accepts · Esc cancels",
        max_length: int = 0,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.problem = problem
        self.placeholder = placeholder
        self.help_text = help_text
        self.max_length = max_length

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog edit-dialog"):
            yield Static(plain(self.title_text, style="bold"), classes="dialog-title")
            yield Input(
                self.value,
                placeholder=self.placeholder,
                id="edit-input",
                max_length=self.max_length,
                select_on_focus=False,
            )
            yield Static("", id="edit-problem", classes="problem")
            yield Static(self.help_text, classes="dialog-help")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        self._check(field.value)

    def _check(self, text: str) -> str | None:
        problem = self.problem(text) if self.problem else None
        label = self.query_one("#edit-problem", Static)
        label.update(plain(problem or "", style="bold #ff5f5f"))
        self.query_one(Input).set_class(problem is not None, "-invalid")
        return problem

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if self._check(text) is None:
            self.dismiss(text)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
