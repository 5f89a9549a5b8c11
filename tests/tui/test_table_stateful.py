"""Download and Devices driven by random keys and filters while the data changes under them.

A hypothesis state machine runs the real app through Textual's Pilot, one event loop per example:
one task on it holds ``run_test`` open and runs the coroutine each rule hands it. Under it,
the service changes: licenses activated and devices provisioned behind the screen's back, lists
that arrive in pages (cloud pages of 3 licenses, device pages of 7 and 11), refreshes.

After every step: the app has not crashed; the cursor is on a visible row, and on the row the user
last put it on whenever that row is visible; the visible rows are exactly those holding the filter;
the counter says how many rows are marked and how many of them the filter hides; and ACTIVATE and
provisioning act exactly on the marked rows (asking first when some are hidden).

Steps: ``make test`` runs EXAMPLES x STEPS (2,000); ``make faults`` sets SMARTLIC_FUZZ_SCALE=10.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import tempfile
from collections.abc import Coroutine
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from rich.text import Text
from textual import events
from textual.pilot import Pilot

from core.errors import SmartlicError
from core.models import Device, DeviceState, LicenseKind, Protocol
from tests.fuzz.fuzz_helpers import fuzz_settings
from tests.support.tui import burst, key_character, make_app, settle, static_text
from tui.screens import devices as devices_module
from tui.screens.devices import DevicesScreen
from tui.screens.download import DownloadScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.screens.marking import MarkingScreen
from tui.widgets.confirm import ConfirmModal

EXAMPLES = 10
STEPS = 200
SEGMENT = "SmartServer-A"
# Words the rows hold (and a few they do not): filters that narrow to some rows, none, or all.
FILTER_WORDS = [
    *("capacity", "mainten", "year", "a-", "lon", "bac", "unlic", "prov", "many", "1", "0", "zq", " ")
]
FILTERS = st.one_of(
    st.sampled_from(FILTER_WORDS),
    st.text(alphabet="abcdef0123456789-", min_size=1, max_size=3),
)
KEY_OF = {" ": "space", "-": "minus"}
MOVES = ["up", "down", "pageup", "pagedown", "home", "end"]
STEPS_RUN = [0]


T = TypeVar("T")


def cell_text(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


class TableMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = Path(tempfile.mkdtemp(prefix="smartlic-stateful-"))
        self.app = make_app(self.dir / "data")
        self.service = self.app.service
        cloud = self.service.context.cloud
        cloud.list_page = partial(cloud.list_page, limit=3)  # type: ignore[method-assign]
        Job = tuple[Coroutine[Any, Any, Any], asyncio.Future[Any]]
        self.jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        ready: asyncio.Future[Pilot] = self.loop.create_future()
        self.driver = self.loop.create_task(self._drive(ready))
        self.pilot = self.loop.run_until_complete(ready)
        self.code = ""
        self.which = "download"
        self.anchor: str | None = None
        """The row the user last put the cursor on (None: not moved since the screen opened)."""

    async def _drive(self, ready: asyncio.Future[Pilot]) -> None:
        """One task holds run_test open and runs every step: code of the steps then runs in the
        app's context (its context variables), as code inside the app does."""
        async with self.app.run_test(size=(80, 24)) as pilot:
            ready.set_result(pilot)
            while (job := await self.jobs.get()) is not None:
                coro, done = job
                try:
                    done.set_result(await coro)
                except Exception as exc:  # handed to the step that ran it
                    done.set_exception(exc)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        done: asyncio.Future[T] = self.loop.create_future()
        self.jobs.put_nowait((coro, done))
        return self.loop.run_until_complete(done)

    def teardown(self) -> None:
        try:
            self.jobs.put_nowait(None)
            # Leaving run_test re-raises an exception the app died of.
            self.loop.run_until_complete(self.driver)
        finally:
            self.loop.run_until_complete(self.service.aclose())
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- the screens ------------------------------------------------------------------------

    @property
    def screen(self) -> MarkingScreen:
        screen = self.app.screen
        assert isinstance(screen, MarkingScreen), f"not Download or Devices: {screen}"
        return screen

    async def _setup(self, first: str, extra_devices: int) -> None:
        service = self.service
        await settle(self.pilot)
        service.set_customer_id(SEGMENT, str((await service.demo_info()).customer_id))
        self.code = service.segment(SEGMENT).install_code
        offer = await service.cloud_licenses(SEGMENT)
        smallest = min((c for c in offer.licenses if c.kind is LicenseKind.CAPACITY), key=lambda c: c.devices)
        await service.activate(SEGMENT, [smallest.license_id])
        with service.context.store.write() as tx:
            tx.put_devices(
                Device(
                    device_id=f"A-MANY-{i:03d}",
                    install_code=self.code,
                    protocol=Protocol.LON,
                    name=f"Many {i}",
                    seq=1000 + i,
                    state=DeviceState.UNLICENSED,
                )
                for i in range(extra_devices)
            )
        await self._open(first, wait=True)

    async def _open(self, which: str, wait: bool) -> None:
        while isinstance(self.app.screen, MarkingScreen | ConfirmModal):
            # Awaited: the screen pushed next has the same id, which must be gone first.
            await self.app.pop_screen()
            await self._sync()
        self.which = which
        screen = DownloadScreen(self.code) if which == "download" else DevicesScreen(self.code)
        self.app.push_screen(screen)
        self.anchor = None
        await self._sync()
        if wait:
            await self._idle()
        self.screen.table.focus()

    async def _idle(self) -> None:
        """Until the list is in: the loader worker done, the Devices pages read."""
        for _ in range(2000):
            await self.app.workers.wait_for_complete()
            await self._sync()
            # Devices reads its next page after a refresh of the screen: let frames happen.
            await asyncio.sleep(0.002)
            screen = self.app.screen
            if not getattr(screen, "streaming", False) and not getattr(screen, "list_loading", False):
                return
        raise AssertionError("the list never finished loading")

    @initialize(first=st.sampled_from(["download", "devices"]), extra=st.integers(0, 40))
    def setup(self, first: str, extra: int) -> None:
        self.run(self._setup(first, extra))

    # --- keys -------------------------------------------------------------------------------

    async def _press(self, *keys: str) -> None:
        """Keys as the terminal driver sends them, each handled before the next.

        Pilot.press waits for the process to look idle (CPU against wall time) twice per key:
        about 90 ms a key on this 2-core machine, too slow for thousands of steps. Waiting until
        every widget of the screen has handled what was queued (three rounds: the key, what the
        key's action posted, what that posted) is enough for the checks, which read state."""
        driver = self.app._driver
        assert driver is not None
        for key in keys:
            event = events.Key(key, key_character(key))
            event.set_sender(self.app)
            driver.send_message(event)
            await self._sync()

    async def _sync(self) -> None:
        """Until every queue of the app and the screen is empty (at most 12 rounds).

        One round of Pilot's wait lets each widget handle what was queued when the round began;
        a key goes app -> table -> each container -> screen -> app (where bindings run), a hop a
        round at worst. A fixed three rounds read the cursor before the last ``down`` of a move
        had run now and then (the table's bindings run at the app), and the next step then moved
        the cursor off the row the test took for the user's: the failure of one run in three."""
        for _ in range(12):
            await self.pilot._wait_for_screen()
            pumps = [self.app, *self.app.screen.walk_children(with_self=True)]
            if all(pump._message_queue.empty() for pump in pumps):
                return

    def _step(self) -> None:
        STEPS_RUN[0] += 1
        if self.code and not isinstance(self.app.screen, MarkingScreen):
            # BACK (b, Escape where the list is empty) left the screen: every rule acts on one.
            self.run(self._open(self.which, True))

    @rule(key=st.sampled_from(MOVES), times=st.integers(1, 3))
    def move(self, key: str, times: int) -> None:
        self._step()
        self.run(self._press(*[key] * times))
        self.anchor = self.screen.table.cursor_key

    @rule(key=st.sampled_from(["left", "right"]), times=st.integers(1, 4))
    def scroll_sideways(self, key: str, times: int) -> None:
        self._step()
        self.run(self._press(*[key] * times))

    @rule(key=st.sampled_from(["space", "a", "n"]))
    def mark(self, key: str) -> None:
        self._step()
        self.run(self._press(key))

    def table_focused(self) -> bool:
        """Typing a filter needs the table's focus (Download hides its table when the list is
        empty; then b and Escape are BACK, as they should be)."""
        screen = self.app.screen
        return isinstance(screen, MarkingScreen) and self.app.focused is screen.table

    # No preconditions on what the app shows: it depends on timing (pages, workers), and
    # hypothesis requires the same choices to offer the same rules. A rule that does not apply
    # is a step that does nothing.

    @rule(text=FILTERS, end=st.sampled_from(["enter", "escape"]))
    def filter(self, text: str, end: str) -> None:
        """Type a filter (over the one there is), then keep it or clear it."""
        self._step()
        if not self.table_focused():
            return
        keys = [KEY_OF.get(ch, ch) for ch in text]
        self.run(self._press("slash", *keys, end))

    @rule(text=FILTERS, moves=st.lists(st.sampled_from(MOVES), max_size=3))
    def filter_in_one_burst(self, text: str, moves: list[str]) -> None:
        """A filter and moves arriving in one packet (a paste, a slow link): the letters go into
        the filter, never to the screen's commands (``a``, ``b``, ``n``...)."""
        self._step()
        if not self.table_focused():
            return
        marks, screen = set(self.screen.selection), self.screen
        keys = ["slash", *[KEY_OF.get(ch, ch) for ch in text], "enter", *moves]
        burst(self.app, *keys)
        self.run(self._sync())
        assert self.app.screen is screen, "a typed letter left the screen"
        assert screen.table.filter_text.endswith(text), "a typed letter did not go into the filter"
        assert set(screen.selection) == marks, "a typed letter changed the marks"
        if moves:
            self.anchor = screen.table.cursor_key

    @rule(backspaces=st.integers(1, 3), more=FILTERS)
    def change_filter(self, backspaces: int, more: str) -> None:
        self._step()
        if not self.table_focused():
            return
        keys = [KEY_OF.get(ch, ch) for ch in more]
        self.run(self._press("slash", *["backspace"] * backspaces, *keys, "enter"))

    @rule(wait=st.booleans())
    def refresh(self, wait: bool) -> None:
        """r: Download loads the list again in pages (maybe still arriving at the next step)."""
        self._step()
        self.run(self._press("r"))
        if wait:
            self.run(self._idle())

    @rule(size=st.sampled_from([(80, 24), (60, 12), (120, 40), (40, 10)]))
    def resize(self, size: tuple[int, int]) -> None:
        self._step()
        self.app.post_message(events.Resize.from_dimensions(size, None))
        self.run(self._sync())

    @rule(which=st.sampled_from(["download", "devices"]), wait=st.booleans())
    def reopen(self, which: str, wait: bool) -> None:
        """Leave and open a screen: Devices streams its rows in pages again."""
        self._step()
        self.run(self._open(which, wait))

    # --- the data changes under the screen ----------------------------------------------------

    @rule(pick=st.integers(0, 1000))
    def activate_behind_its_back(self, pick: int) -> None:
        """A license activated through the service: the screen learns of it on r (or never)."""
        self._step()

        async def activate() -> None:
            offer = await self.service.cloud_licenses(SEGMENT)
            if offer.licenses:
                chosen = offer.licenses[pick % len(offer.licenses)]
                await self.service.activate(SEGMENT, [chosen.license_id])

        self.run(activate())

    @rule(pick=st.integers(0, 1000))
    def provision_behind_its_back(self, pick: int) -> None:
        self._step()
        devices = self.service.devices(SEGMENT)
        with contextlib.suppress(SmartlicError):  # an unlicensed device is refused
            self.service.provision(SEGMENT, [devices[pick % len(devices)].device_id])

    # --- actions on the marks ------------------------------------------------------------------

    def _hidden_marks(self) -> int:
        screen = self.screen
        shown = set(screen.table.visible_keys())
        return sum(1 for key in screen.selection.unordered() if key not in shown)

    async def _act(self, key: str, yes: bool) -> bool:
        """Press the key of an action on the marks; answer the hidden-marks dialog, which must
        come exactly when the filter hides marks; wait for the action. Whether it went ahead."""
        hidden = self._hidden_marks()
        await self._press(key)
        asked = isinstance(self.app.screen, ConfirmModal)
        assert asked == (hidden > 0), f"asked={asked} with {hidden} hidden marks"
        if asked:
            await self._press("y" if yes else "n")
        await self._idle()
        return yes or not asked

    @rule(yes=st.booleans())
    def act_on_marks(self, yes: bool) -> None:
        """ACTIVATE on Download, provision (p) on Devices."""
        self._step()
        screen = self.screen
        if isinstance(screen, DownloadScreen):
            self._activate_marked(screen, yes)
        else:
            assert isinstance(screen, DevicesScreen)
            self._provision_marked(screen, yes)

    def _activate_marked(self, screen: DownloadScreen, yes: bool) -> None:
        marked = set(screen.selection)
        if not marked or screen.list_loading or screen.activating:
            self.run(self._press("A"))
            assert not isinstance(self.app.screen, ConfirmModal), "ACTIVATE ran while it may not"
            return
        before = {str(r.license_id) for r in self.service.license_rows(SEGMENT)}
        went_ahead = self.run(self._act("A", yes))
        after = {str(r.license_id) for r in self.service.license_rows(SEGMENT)}
        if went_ahead:
            assert after - before <= marked, "activated a license that was not marked"
            assert marked <= after, "a marked license was not activated"
            assert not marked & set(screen.offer) and not marked & set(screen.selection)
        else:
            assert after == before and set(screen.selection) == marked

    def _provision_marked(self, screen: DevicesScreen, yes: bool) -> None:
        marked = set(screen.selection)
        before = {d.device_id: d.state for d in self.service.devices(SEGMENT)}
        if marked:
            went_ahead = self.run(self._act("p", yes))
        else:  # p does nothing: nothing may change
            self.run(self._press("p"))
            went_ahead = True
        after = {d.device_id: d.state for d in self.service.devices(SEGMENT)}
        changed = {key for key in after if after[key] is not before.get(key)}
        if went_ahead:
            assert changed <= marked, "provisioned a device that was not marked"
            for key in marked:
                assert after[key] is DeviceState.PROVISIONED or before[key] is DeviceState.UNLICENSED, key
        else:
            assert not changed and set(screen.selection) == marked

    # --- after every step -------------------------------------------------------------------------

    @invariant()
    def consistent(self) -> None:
        if not self.code:
            return
        app = self.app
        assert app._exception is None, f"the app crashed: {app._exception!r}"
        assert app.return_code is None, "the app exited"
        if not isinstance(app.screen, MarkingScreen):
            # A key that is BACK where the list is empty or still loading (b, Escape) left the
            # screen, as it should: Manage Licenses is where BACK goes, and the next reopen returns.
            assert isinstance(app.screen, ManageLicensesScreen), f"left for {app.screen}"
            return
        screen = self.screen
        table = screen.table
        shown = table.visible_keys()
        assert len(shown) == table.row_count
        needle = table.filter_text.casefold()
        keys = table.keys()
        assert len(set(keys)) == len(keys)
        expected = [
            key for key in keys if needle in " ".join(cell_text(c) for c in table.get_cells(key)).casefold()
        ]
        assert shown == expected, "the visible rows are not those holding the filter"
        if shown:
            assert 0 <= table.cursor_row < len(shown)
            assert table.cursor_key == shown[table.cursor_row]
            if self.anchor is not None and self.anchor in set(shown):
                assert table.cursor_key == self.anchor, "the cursor left the row the user put it on"
        else:
            assert table.cursor_key is None
        total = len(screen.offer) if isinstance(screen, DownloadScreen) else len(screen.devices)  # type: ignore[attr-defined]
        hidden = self._hidden_marks()
        counter = f"{len(screen.selection)} of {total} selected"
        if hidden:
            counter += f" ({hidden} hidden by the filter)"
        shown_count = static_text(self.pilot, "#count")
        if isinstance(screen, DownloadScreen) and (screen.list_loading or not screen.loaded):
            return  # the counter says how loading goes
        assert shown_count.startswith(counter + " ·"), f"{shown_count!r} is not {counter!r}"
        if not getattr(screen, "streaming", False):
            assert set(screen.selection) <= set(screen.markable()), "a mark on a row that is gone"


def test_download_and_devices_under_random_keys_and_changing_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_module, "FIRST_PAGE", 7)
    monkeypatch.setattr(devices_module, "CHUNK", 11)
    STEPS_RUN[0] = 0
    base = fuzz_settings(EXAMPLES)
    # No shrinking: an example takes seconds, so shrinking one took more than five minutes; the
    # failing steps are printed as they ran.
    phases = [p for p in base.phases if p is not Phase.shrink]
    machine_settings = settings(base, stateful_step_count=STEPS, phases=phases)
    # Hypothesis ends a run early now and then: run again until the steps promised are done.
    wanted = base.max_examples * STEPS
    while STEPS_RUN[0] < wanted:
        examples = max(1, math.ceil((wanted - STEPS_RUN[0]) / STEPS))
        run_state_machine_as_test(TableMachine, settings=settings(machine_settings, max_examples=examples))
    assert STEPS_RUN[0] >= wanted
