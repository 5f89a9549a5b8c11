"""Device states and marks keep their hue in 16, 256 and true colour, and their words without colour."""

from __future__ import annotations

import io
import re

import pytest
from rich.color import Color, ColorSystem
from rich.console import Console
from rich.style import Style

from core.models import DeviceState
from tui.widgets.marks import mark
from tui.widgets.styles import BLUE, GREEN, PURPLE, RED, YELLOW, state_text

# The ANSI numbers a hue may become in 16 colours: normal or bright.
MAGENTA, ANSI_BLUE, ANSI_GREEN, ANSI_YELLOW, ANSI_RED = {5, 13}, {4, 12}, {2, 10}, {3, 11}, {1, 9}
EXPECTED = [
    (PURPLE, MAGENTA),
    (BLUE, ANSI_BLUE),
    (GREEN, ANSI_GREEN),
    (YELLOW, ANSI_YELLOW),
    (RED, ANSI_RED),
]


def _color(style: str) -> Color:
    color = Style.parse(style).color
    assert color is not None
    return color


@pytest.mark.parametrize(("style", "allowed"), EXPECTED, ids=lambda x: str(x))
def test_16_colour_downgrade_keeps_the_hue(style: str, allowed: set[int]) -> None:
    assert _color(style).downgrade(ColorSystem.STANDARD).number in allowed


def test_every_hue_stays_distinct_in_16_and_256_colours() -> None:
    for system in (ColorSystem.STANDARD, ColorSystem.EIGHT_BIT):
        numbers = [_color(style).downgrade(system).number for style, _ in EXPECTED]
        assert len(set(numbers)) == len(numbers), (system, numbers)


def test_states_and_marks_use_the_checked_colours() -> None:
    assert state_text(DeviceState.UNLICENSED).style == PURPLE
    assert state_text(DeviceState.UNPROVISIONED).style == BLUE
    assert state_text(DeviceState.PROVISIONED).style == GREEN
    assert mark(False).style == BLUE and mark(True).style == YELLOW


def test_without_colour_the_words_and_glyphs_carry_the_meaning() -> None:
    console = Console(file=io.StringIO(), no_color=True, color_system="standard", width=80)
    with console.capture() as capture:
        for state in DeviceState:
            console.print(state_text(state))
        console.print(mark(False), mark(True))
    raw = capture.get()
    assert not re.search(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;)", raw), "no foreground colour under NO_COLOR"
    out = re.sub(r"\x1b\[[0-9;]*m", "", raw)
    for word in ("unlicensed", "unprovisioned", "provisioned"):
        assert word in out
    assert "[ ] [x]" in out
