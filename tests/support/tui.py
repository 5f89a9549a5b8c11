"""The app on the embedded demo (fixed clock, seeded data, no animation) and Pilot helpers."""

from __future__ import annotations

import io
import random
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import App
from textual.keys import REPLACED_KEYS, _get_unicode_name_from_key
from textual.pilot import Pilot
from textual.widgets import Input, Static

from core.service import LicenseService
from core.settings import Settings
from core.wiring import build_service
from tests.support.clock import fixed_clock
from tests.support.services import make_service
from tui.app import SmartlicApp

if TYPE_CHECKING:
    from tui.screens.devices import DevicesScreen

SIZE = (80, 24)


def make_tui_service(data_dir: Path) -> LicenseService:
    return make_service(data_dir, face="tui")


def make_app(data_dir: Path) -> SmartlicApp:
    """The app as `make run` opens it, with the fixed clock and no animation.

    The settings come from these values alone, never the environment or a settings file, so that
    screenshots made outside pytest do not depend on who makes them.
    """
    settings = Settings.from_values(data_dir=data_dir, retries=0)
    service = build_service(settings, face="tui", clock=fixed_clock, rng=random.Random(42))
    app = SmartlicApp(service, settings)
    app.animation_level = "none"
    return app


def _steady_cursor(self: Input) -> None:
    self._cursor_visible = True


@contextmanager
def no_cursor_blink() -> Iterator[None]:
    """A cursor that never blinks, as Harlequin's tests do: a snapshot must not catch it mid-blink."""
    original = Input._toggle_cursor
    Input._toggle_cursor = _steady_cursor  # type: ignore[method-assign]
    try:
        yield
    finally:
        Input._toggle_cursor = original  # type: ignore[method-assign]


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


async def open_devices(pilot: Pilot, segment: str = "SmartServer-A") -> DevicesScreen:
    """Devices of ``segment``, with the screenshots' demo licenses (some devices licensed)."""
    from tests.support.scenarios import demo_licenses
    from tui.screens.devices import DevicesScreen

    app = pilot.app
    assert isinstance(app, SmartlicApp)
    await settle(pilot)
    await demo_licenses(pilot)
    screen = DevicesScreen(app.service.segment(segment).install_code)
    app.push_screen(screen)
    await settle(pilot)
    return screen


def burst(app: App[Any], *keys: str) -> None:
    """Keys as a terminal delivers a paste or a burst over a slow link: all queued at once, none
    handled before the next arrives (Pilot.press waits after each key, which hides races)."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        event = events.Key(key, key_character(key))
        event.set_sender(app)
        driver.send_message(event)


def key_character(key: str) -> str | None:
    """The character a key types, worked out as Pilot.press does (``minus`` types ``-``)."""
    try:
        return unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
    except KeyError:
        return key if len(key) == 1 else None
