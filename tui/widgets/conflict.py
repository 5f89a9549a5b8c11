"""The dialog after a compare-and-set save was refused: another session saved another value."""

from __future__ import annotations

from rich.text import Text

from tui.widgets.confirm import ChoiceModal
from tui.widgets.styles import YELLOW

KEEP_MINE = "mine"
TAKE_THEIRS = "theirs"


def conflict_modal(what: str, mine: str, theirs: str) -> ChoiceModal:
    """Answers KEEP_MINE (save again over the other value, deliberately), TAKE_THEIRS, or None."""
    body = Text(f"{what} was changed in another session since you began editing; nothing was saved.\n\n")
    body.append("Stored now: ", style="bold")
    body.append(theirs or "(none)", style=YELLOW)
    body.append("\nYours:      ", style="bold")
    body.append(mine or "(none)")
    return ChoiceModal(
        "Changed meanwhile",
        body,
        [
            ("", "c", "Decide later"),
            (KEEP_MINE, "k", "Keep mine"),
            (TAKE_THEIRS, "t", "Take theirs"),
        ],
        id="conflict",
    )
