"""Colours and marks shared by every screen. State is always a word or a glyph too, never colour alone."""

from __future__ import annotations

from rich.text import Text

from core.models import DeviceState, StatusLevel
from core.sanitize import clean

PURPLE = "bold #b77ee0"
BLUE = "bold #5f9fff"
GREEN = "bold #4fbf5f"
YELLOW = "bold #e0b030"
RED = "bold #ff5f5f"

STATE_STYLE = {
    DeviceState.UNLICENSED: PURPLE,
    DeviceState.UNPROVISIONED: BLUE,
    DeviceState.PROVISIONED: GREEN,
}
LEVEL_STYLE = {StatusLevel.OK: "", StatusLevel.WARNING: YELLOW, StatusLevel.ERROR: RED}


def plain(value: object, style: str = "") -> Text:
    """Outside text (names, notes, reasons) on one line: never parsed as markup, and its control and
    bidi characters shown as visible escapes (core.sanitize), so it cannot drive the terminal."""
    return Text(clean("" if value is None else str(value)), style=style)


def prose(value: object, style: str = "") -> Text:
    """Like ``plain``, for a message whose own line breaks are kept."""
    return Text(clean("" if value is None else str(value), multiline=True), style=style)


def state_text(state: DeviceState) -> Text:
    return Text(state.value, style=STATE_STYLE[state])


def status_text(status: str, level: StatusLevel) -> Text:
    return Text(status, style=LEVEL_STYLE.get(level, ""))
