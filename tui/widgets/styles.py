"""Colours and marks shared by every screen. State is always a word or a glyph too, never colour alone."""

from __future__ import annotations

from rich.text import Text

from core.models import DeviceState, StatusLevel
from core.sanitize import clean

# Each colour is chosen so that its nearest colour in 16 and 256 colours is still that hue
# (tests/tui/test_styles.py checks Rich's downgrade): #b77ee0, say, became light grey (7) under
# TERM=xterm, where purple (unlicensed) must stay magenta.
PURPLE = "bold #af5fd7"  # 256: 134; 16: bright magenta (13)
BLUE = "bold #5f9fff"  # 256: 75; 16: bright blue (12)
GREEN = "bold #4fbf5f"  # 256: 71; 16: bright green (10)
YELLOW = "bold #e0b030"  # 256: 179; 16: bright yellow (11)
RED = "bold #ff5f5f"  # 256: 203; 16: bright red (9)

STATE_STYLE = {
    DeviceState.UNLICENSED: PURPLE,
    DeviceState.UNPROVISIONED: BLUE,
    DeviceState.PROVISIONED: GREEN,
}
LEVEL_STYLE = {StatusLevel.OK: "", StatusLevel.WARNING: YELLOW, StatusLevel.ERROR: RED}


SHORT_ID = 8
"""A UUID is shown by its first 8 characters where space is short; the full one is in a detail line."""


def short_id(value: object) -> str:
    """``2133c667…`` for ``2133c667-af41-4518-94df-a2bb3b775330``."""
    text = str(value)
    return text if len(text) <= SHORT_ID else text[:SHORT_ID] + "…"


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
