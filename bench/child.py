"""One measurement in a fresh process (start-up, peak RSS and terminal bytes need one each).

``python -m bench.child MODE ARGS`` prints one JSON line last. Only the standard library is imported
before the mode runs, so start-up figures count the imports of what is measured and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

T0 = time.perf_counter()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict) -> None:
    print(json.dumps(result), flush=True)


class Drift:
    """The event loop's longest stall: how late a 10 ms timer running in the loop wakes up.

    A plain asyncio task, so it sees whatever blocks the loop (Textual's message pumps share it).
    ``reset()`` starts a new phase; ``worst`` is the longest lateness since then, in seconds.
    """

    PERIOD = 0.01

    def __init__(self) -> None:
        self.worst = 0.0
        self._phase = 0
        self._task: asyncio.Task | None = None

    def start(self) -> Drift:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def reset(self) -> None:
        self.worst = 0.0
        self._phase += 1  # the wait under way began before: it belongs to the phase before

    async def _run(self) -> None:
        while True:
            before, phase = time.perf_counter(), self._phase
            await asyncio.sleep(self.PERIOD)
            if phase == self._phase:
                self.worst = max(self.worst, time.perf_counter() - before - self.PERIOD)

    def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return self.worst


# --- start-up ----------------------------------------------------------------------------------


def startup_bare(size: tuple[int, int], first_key: bool = False) -> None:
    """The baseline: a bare Textual app (Header, an empty DataTable, Footer) painted under run_test.

    ``first_key``: READY once a key (``c``) has pushed a second screen (Header, DataTable, Footer)
    and it is painted, the bare app's equivalent of Manage Customer Accounts.
    """
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widgets import DataTable, Footer, Header

    class Second(Screen):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

    class Bare(App):
        BINDINGS = [Binding("c", "second", "Second")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def action_second(self) -> None:
            self.push_screen(Second(id="second"))

    async def main() -> None:
        app = Bare()
        drift = Drift().start()
        painted = _paint_probe(app, lambda: True)
        async with app.run_test(size=size) as pilot:
            await _ready(app, pilot, painted, drift, "second" if first_key else None)

    asyncio.run(main())


def startup_ours(data_dir: str, size: tuple[int, int], first_key: bool = False) -> None:
    """smartlic as `smartlic` starts it (parser, settings, logging, service, app) until Manage
    Licenses is painted with its rows; ``first_key``: until ``c`` shows Manage Customer Accounts."""
    import os

    os.environ["SMARTLIC_DATA_DIR"] = data_dir
    from tui import cli

    args = cli.parse_args([])
    assert args.command is None
    settings = cli.load_settings()
    cli._setup_logging(settings)
    from textual.widgets import DataTable

    from core.wiring import build_service
    from tui.app import SmartlicApp

    service = build_service(settings, face="tui")
    app = SmartlicApp(service, settings)

    def home_has_rows() -> bool:
        table = app.screen.query_one("#licenses", DataTable)
        return app.screen.id == "manage-licenses" and table.row_count > 0

    async def main() -> None:
        drift = Drift().start()
        painted = _paint_probe(app, home_has_rows)
        async with app.run_test(size=size) as pilot:
            await _ready(app, pilot, painted, drift, "customer-accounts" if first_key else None)
        await service.aclose()

    asyncio.run(main())


HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "cryptography",
    "httpx",
    "httpcore",
    "pydantic_settings",
    "importlib.metadata",
    "argparse",
    "core.mock_cloud",
    "anyio",
)


def _heavy_modules() -> set[str]:
    return {name for name in HEAVY if name in sys.modules}


async def _ready(app, pilot, painted: list, drift: Drift, key_screen: str | None) -> None:
    """Wait for the first paint; with ``key_screen``, then press ``c`` and wait until that screen
    is painted. Prints READY (the parent's clock stops there), then the JSON line."""
    while painted[0] is None:
        await pilot.pause(0.005)
    stall = drift.stop()
    if key_screen is not None:
        painted[0] = None
        app._paint_ready = lambda: app.screen.id == key_screen
        await pilot.press("c")
        while painted[0] is None:
            await pilot.pause(0.005)
    print("READY", flush=True)
    emit(
        {"painted": painted[0] - T0, "stall": stall, "rss_mb": rss_mb(), "modules": sorted(_heavy_modules())}
    )


def _paint_probe(app, ready) -> list:
    """Wrap ``app._display``: records the time of the first paint after ``ready()`` holds."""
    painted: list = [None]
    real = app._display
    app._paint_ready = ready  # replaceable: the next thing to wait for (the first key's screen)

    def display(screen, renderable) -> None:
        real(screen, renderable)
        if painted[0] is None and renderable is not None:
            try:
                ok = app._paint_ready()
            except Exception:
                ok = False
            if ok:
                painted[0] = time.perf_counter()

    app._display = display
    return painted


# --- large lists -------------------------------------------------------------------------------


def lists(
    screen_name: str, data_dir: str, install_code: str, expected: int, size: tuple[int, int], presses: int
) -> None:
    from bench.data import service_for, settings_for
    from core.cloud import CloudClient
    from tui.app import SmartlicApp
    from tui.screens.devices import DevicesScreen
    from tui.screens.download import DownloadScreen

    pages: list[float] = []

    class TimedCloud(CloudClient):
        """Notes when each page of the cloud's list arrives."""

        async def list_page(self, *args, **kwargs):
            page = await super().list_page(*args, **kwargs)
            pages.append(time.perf_counter())
            return page

    service = service_for(Path(data_dir), cloud_type=TimedCloud)
    app = SmartlicApp(service, settings_for(Path(data_dir)))
    app.animation_level = "none"
    table_id = "#cloud" if screen_name == "download" else "#device-table"

    def table():
        return app.screen.query_one(table_id)

    def rows() -> int:
        try:
            return table().row_count if app.screen.id == screen_name else 0
        except Exception:
            return 0

    async def main() -> dict:
        painted = _paint_probe(app, lambda: rows() > 0)
        drift = Drift().start()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            painted[0] = None
            start = time.perf_counter()
            drift.reset()
            app.push_screen(
                DownloadScreen(install_code) if screen_name == "download" else DevicesScreen(install_code)
            )
            while rows() < expected:
                await pilot.pause(0.002)
            loaded = time.perf_counter() - start
            stall = drift.stop()
            await pilot.pause()
            first_paint = painted[0] - start
            table().focus()
            keys = ["down", "space", "pagedown"]
            # CPU time, not wall time: Pilot waits for idle (>= 2 x 20 ms of sleep) after every key.
            # A 100-row list reaches its end after a few page-downs, and there the keys would cost
            # it nothing; so, untimed, it goes back to the top first: both lists scroll alike.
            cpu, pressed = 0.0, 0
            while pressed < presses:
                if table().cursor_row + size[1] >= table().row_count:
                    await pilot.press("home")
                    await pilot.pause()
                group = keys[: presses - pressed]
                t = time.process_time()
                await pilot.press(*group)
                cpu += time.process_time() - t
                pressed += len(group)
            per_key = cpu / presses
            per_filter_key = None
            matched = None
            if hasattr(table(), "filter_text"):
                await pilot.press("slash")
                await pilot.pause()
                times = []
                for key in ["4", "2", "backspace", "backspace", "a"]:
                    t = time.process_time()
                    await pilot.press(key)
                    await pilot.pause()
                    times.append(time.process_time() - t)
                matched = table().row_count
                per_filter_key = sorted(times)[len(times) // 2]
            return {
                "first_paint": first_paint,
                "loaded": loaded,
                "stall": stall,
                "pages": len(pages),
                "first_page": (pages[0] - start) if pages else None,
                "last_page": (pages[-1] - start) if pages else None,
                "per_key": per_key,
                "per_filter_key": per_filter_key,
                "matched": matched,
                "rows": rows(),
                "rss_mb": rss_mb(),
            }

    result = asyncio.run(main())
    asyncio.run(service.aclose())
    emit(result)


# --- terminal bytes ----------------------------------------------------------------------------


def terminal(which: str, data_dir: str, size: tuple[int, int]) -> None:
    """Bytes written to the terminal: Textual's headless driver, made to count what it is given.

    Both apps are measured alike: start-up, one forced full repaint (the unit "full paint"), and
    opening and closing a modal. ``bare`` is a bare Textual app with a stock ModalScreen; ``ours``
    also does 50 cursor moves.
    """
    from textual.drivers.headless_driver import HeadlessDriver

    written = [0]

    class CountingDriver(HeadlessDriver):
        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            written[0] += len(data.encode("utf-8"))

    service = None
    if which == "bare":
        app = _bare_modal_app()
    else:
        from bench.data import service_for, settings_for
        from tui.app import SmartlicApp

        service = service_for(Path(data_dir))
        app = SmartlicApp(service, settings_for(Path(data_dir)))
    app.animation_level = "none"
    app.driver_class = CountingDriver

    async def main() -> dict:
        async with app.run_test(headless=False, size=size) as pilot:

            async def settle() -> int:
                for _ in range(5):
                    await pilot.pause(0.02)
                count, written[0] = written[0], 0
                return count

            result = {"startup": await settle()}
            app.screen.refresh(repaint=True, layout=True)
            result["full_paint"] = await settle()
            if which != "bare":
                await pilot.press(*(["down", "up"] * 25))
                result["cursor50"] = await settle()
            await pilot.press("t")
            result["modal_open"] = await settle()
            result["modal_screen"] = app.screen.__class__.__name__
            await pilot.press("escape")
            result["modal_close"] = await settle()
            result["modal"] = result["modal_open"] + result["modal_close"]
            return result

    result = asyncio.run(main())
    if service is not None:
        asyncio.run(service.aclose())
    emit(result)


def _bare_modal_app():
    """The baseline for terminal bytes: a bare app (Header, DataTable, Footer) and a stock modal."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.containers import Horizontal, Vertical
    from textual.screen import ModalScreen
    from textual.widgets import Button, DataTable, Footer, Header, Static

    class Confirm(ModalScreen[bool]):
        DEFAULT_CSS = "Confirm { align: center middle; } Confirm > Vertical { width: 60; height: auto; }"
        BINDINGS = [Binding("escape", "dismiss", "No")]

        def compose(self) -> ComposeResult:
            with Vertical():
                yield Static("Transfer to Cloud?")
                with Horizontal():
                    yield Button("Cancel", id="no")
                    yield Button("Transfer", id="yes")

        def on_mount(self) -> None:
            self.query_one("#no").focus()

    class Bare(App):
        BINDINGS = [Binding("t", "confirm", "Transfer")]

        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("License ID", "Description", "Status")
            table.add_rows([(f"license-{i:04}", "Capacity license, 50 devices", "Active") for i in range(40)])
            table.focus()

        def action_confirm(self) -> None:
            self.push_screen(Confirm())

    return Bare()


def _size(text: str) -> tuple[int, int]:
    width, height = text.split("x")
    return int(width), int(height)


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "startup-bare":
        startup_bare(_size(args[0]))
    elif mode == "startup-ours":
        startup_ours(args[0], _size(args[1]))
    elif mode == "firstkey-bare":
        startup_bare(_size(args[0]), first_key=True)
    elif mode == "firstkey-ours":
        startup_ours(args[0], _size(args[1]), first_key=True)
    elif mode == "stalls":
        from bench.stalls import stalls

        emit(stalls(Path(args[0]), args[1], _size(args[2])))
    elif mode == "writer":
        from bench.stalls import writer

        writer(Path(args[0]), float(args[1]))
    elif mode == "lists":
        lists(args[0], args[1], args[2], int(args[3]), _size(args[4]), int(args[5]))
    elif mode == "terminal":
        terminal(args[0], args[1], _size(args[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
