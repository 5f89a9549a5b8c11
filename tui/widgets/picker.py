"""Pick a segment controller when there is more than one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from core.models import SegmentController
from tui.widgets.dialog import Dialog
from tui.widgets.styles import plain, short_id


class SegmentPicker(Dialog[str | None]):
    """Returns the install code of the chosen segment, or None on Escape."""

    DEFAULT_CSS = """
    SegmentPicker { align: center middle; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, purpose: str, segments: list[SegmentController], default: str | None = None) -> None:
        super().__init__()
        self.purpose = purpose
        self.segments = segments
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(f"{self.purpose}: which segment controller?", style="bold"))
            options = []
            for seg in self.segments:
                label = plain(f"{seg.name}  ({seg.install_code})  ")
                # The short ID keeps the line on one row in the 80-column dialog.
                label.append(
                    f"Customer ID {short_id(seg.customer_id)}" if seg.customer_id else "no Customer ID",
                    style="dim",
                )
                options.append(Option(label, id=seg.install_code))
            yield OptionList(*options, id="segment-options")
            yield Static("Enter chooses · Esc cancels", classes="dialog-help")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        codes = [s.install_code for s in self.segments]
        options.highlighted = codes.index(self.default) if self.default in codes else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
