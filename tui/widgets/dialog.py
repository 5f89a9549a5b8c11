"""The base of every dialog: it answers once."""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

Answer = TypeVar("Answer")


class Dialog(ModalScreen[Answer]):
    """A modal screen whose ``dismiss`` acts only while it is the screen on top.

    Textual 8.2's ``dismiss`` pops whatever screen is on top. Two answers to one dialog (an Enter
    and an Esc in one burst of keys, a click while a key's answer was on its way) popped the
    screen under it too, and a third stopped the app ("there must be at least one screen").
    """

    def dismiss(self, result: Answer | None = None) -> AwaitComplete:
        if self is not self.app.screen:  # answered already, or another dialog covers it
            return AwaitComplete.nothing()
        return super().dismiss(result)
