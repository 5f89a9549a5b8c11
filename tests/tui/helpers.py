"""Helpers for Pilot tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.screens.devices import DevicesScreen


async def settle(pilot: Pilot) -> None:
    """Wait for running workers and the screen updates they cause."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    steps = int(timeout / 0.05)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


async def open_devices(pilot: Pilot, segment: str = "SmartServer-A") -> DevicesScreen:
    """Devices of ``segment``, with the screenshots' demo licenses (some devices licensed)."""
    from tui.screens.devices import DevicesScreen
    from tui.screenshots import _demo_licenses

    app = pilot.app
    await settle(pilot)
    await _demo_licenses(pilot)
    screen = DevicesScreen(app.service.segment(segment).install_code)  # type: ignore[attr-defined]
    app.push_screen(screen)
    await settle(pilot)
    return screen


def static_text(pilot: Pilot, selector: str) -> str:
    content = pilot.app.screen.query_one(selector, Static).content
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, str):
        return content
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.export_text()


def toasts(pilot: Pilot) -> str:
    """The text of every notification shown so far."""
    return "\n".join(
        n.message.plain if isinstance(n.message, Text) else str(n.message) for n in pilot.app._notifications
    )
