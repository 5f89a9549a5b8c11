"""Download Licenses from the Cloud, for one segment controller."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from uuid import UUID

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, ProgressBar, Static
from textual.worker import Worker, WorkerState

from core.models import CloudLicense
from tui.screens.base import set_usable, title_text
from tui.screens.marking import MarkingScreen
from tui.widgets.footer import SteadyFooter
from tui.widgets.marks import MARK_COLUMN, Selection
from tui.widgets.styles import RED, plain, prose, short_id
from tui.widgets.vtable import VirtualTable

# What the screen keeps of one offered license: (transfer date as text, "" if none; description).
# Plain tuples of str, which the garbage collector stops tracking: with 100,000 CloudLicense models
# kept instead, every full collection walked them all, and one ran every few keys.
Offered = tuple[str, str]

# No Segment Controller column: on this screen it repeats one install code, which the title names.
# License IDs show their first 8 characters (the detail line has the whole ID), so the Description
# keeps its count and kind at 80 columns.
COLUMNS = [
    ("Sel", MARK_COLUMN),
    ("License ID", "license_id"),
    ("Transfer Date", "transfer_date"),
    ("Description", "description"),
]


class DownloadScreen(MarkingScreen):
    BINDINGS = [
        # space, a and n are named on the count line, BACK on its button: off the footer, which then
        # fits 80 columns.
        Binding("space", "toggle_mark", "Select", id="download.toggle", show=False),
        Binding("a", "select_all", "All", id="download.all", show=False),
        Binding("n", "select_none", "None", id="download.none", show=False),
        Binding("A", "activate", "ACTIVATE", id="download.activate"),
        Binding("escape", "cancel_or_back", "Back/Stop", id="download.escape"),
        Binding("b", "back", "BACK", id="download.back", show=False),
    ]

    def __init__(self, install_code: str) -> None:
        super().__init__(id="download")
        self.install_code = install_code
        self.offer: dict[str, Offered] = {}
        self.selection = Selection()
        self.loader: Worker | None = None
        self.activating = False
        self.loaded = False

    def compose(self) -> ComposeResult:
        seg = self.service.segment(self.install_code)
        yield Static(
            title_text("Download Licenses from the Cloud", f"{seg.name} ({seg.install_code})"),
            classes="screen-title",
        )
        yield VirtualTable(COLUMNS, selection=self.selection, id="cloud")
        yield Static(id="empty", classes="empty")
        yield Static(id="detail", classes="detail")
        yield Static(id="count", classes="count")
        with Horizontal(id="progress-row", classes="progress-row"):
            yield Static(id="progress-label")
            yield ProgressBar(total=100, show_eta=False, id="progress")
        yield Static(id="result", classes="result")
        with Horizontal(classes="actions-row"):
            yield Button("ACTIVATE (A)", id="activate", compact=True, variant="primary", disabled=True)
            yield Button("BACK (b)", id="back", compact=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.query_one("#progress-row").display = False
        self.query_one("#result").display = False
        self.query_one("#empty").display = False
        self.query_one(VirtualTable).focus()
        self.load()

    def refresh_data(self) -> None:
        """Local changes do not change what the cloud offers; reload only on ``r``."""

    def action_refresh_or_retry(self) -> None:
        if self.activating:
            return
        retry, self.retry = self.retry, None
        (retry or self.load)()

    # --- loading -----------------------------------------------------------------------------

    def load(self) -> None:
        self.remember_retry(self.load)
        self.loader = self.load_offer()

    @work(exclusive=True, exit_on_error=False, group="load")
    async def load_offer(self) -> None:
        table = self.query_one(VirtualTable)
        table.loading = True
        self.loaded = False
        self._count("Loading the licenses from the cloud… (Esc stops)")
        streamed: dict[str, Offered] = {}
        first = True

        def on_page(items: list[CloudLicense], total: int) -> None:
            # Each page is shown as it arrives, so the first rows paint before the last page is in.
            nonlocal first
            page = _offered(items)  # the service passes on only what this controller may activate
            streamed.update(page)
            if first:
                first = False
                table.loading = False
                table.set_rows(self._rows(page))
            else:
                table.append_rows(self._rows(page))
            self.offer = streamed
            self._count(f"Loading… {len(streamed):,} of {total:,} licenses (Esc stops)")
            if len(streamed) == len(page):
                self._show_detail()

        try:
            offer = await self.service.cloud_licenses(self.install_code, on_page)
        finally:
            table.loading = False
        self.loaded = True
        self.offer = _offered(offer.licenses)
        self.selection.keep_only(self.offer)
        self._fill()
        empty = self.query_one("#empty", Static)
        empty.update(prose(offer.empty_reason or "The cloud holds no licenses for this Customer ID."))
        empty.display = not self.offer
        table.display = bool(self.offer)
        self.list_loaded()

    def after_worker(self, event: Worker.StateChanged) -> None:
        if event.worker is self.loader and event.state is WorkerState.CANCELLED:
            self._count("Loading stopped. Press r to load again.")
        elif event.worker is self.loader and event.state is WorkerState.ERROR:
            self._count("The licenses could not be loaded. Press r to retry.")
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.refresh_bindings()

    def _rows(self, offered: dict[str, Offered]) -> dict[str, tuple[str, ...]]:
        return {key: (short_id(key), transfer or "-", text) for key, (transfer, text) in offered.items()}

    def _fill(self) -> None:
        table = self.query_one(VirtualTable)
        if table.keys() == list(self.offer):
            table.refresh_marks()
        else:
            table.set_rows(self._rows(self.offer))
        self._count()
        self._show_detail()

    def _count(self, message: str | None = None) -> None:
        count = self.query_one("#count", Static)
        if message:
            count.update(plain(message))
        else:
            marks = self.mark_count().text(len(self.offer))
            count.update(Text(f"{marks} · space toggles · a all · n none · A activates"))
        usable = bool(self.selection) and not self.activating
        set_usable(self.query_one("#activate", Button), usable, self.table)
        self.refresh_bindings()

    def _show_detail(self) -> None:
        key = self.query_one(VirtualTable).cursor_key
        entry = self.offer.get(key) if key else None
        detail = self.query_one("#detail", Static)
        if entry is None:
            detail.update("")
            return
        transfer, description = entry
        text = Text(f"License ID {key}", style="bold")
        text.append(plain(f" · {description}"))
        if transfer:
            text.append(f" · transferred {transfer}")
        detail.update(text)

    @on(VirtualTable.RowHighlighted)
    def _highlighted(self, _event: VirtualTable.RowHighlighted) -> None:
        self._show_detail()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_mark", "select_all", "select_none"):
            return bool(self.offer) and not self.activating
        if action == "activate":
            return None if not self.selection or self.activating else True
        return True

    # --- selection ---------------------------------------------------------------------------

    def markable(self) -> Collection[str]:
        return self.offer

    def marking_allowed(self) -> bool:
        return not self.activating

    # --- activation --------------------------------------------------------------------------

    @property
    def list_loading(self) -> bool:
        return self.loader is not None and self.loader.is_running

    def action_activate(self) -> None:
        if not self.selection or self.activating:
            return
        if self.list_loading:
            # The list that is still arriving was read before the activation: it would bring
            # the activated licenses back as if they were still in the cloud.
            self.notify("The list is still loading; ACTIVATE when it is in (Esc stops it).", timeout=4)
            return
        self.act_on_marks("ACTIVATE", "ACTIVATE", self._activate)

    def _activate(self, keys: list[str]) -> None:
        if self.activating:
            return
        ids = [UUID(key) for key in keys]
        self.remember_retry(lambda: self.run_activate(ids, resume=True))
        self.run_activate(ids)

    @work(exclusive=True, exit_on_error=False, group="activate")
    async def run_activate(self, ids: list[UUID], resume: bool = False) -> None:
        self.activating = True
        self._count()
        self.query_one("#progress-row").display = True
        self.query_one(ProgressBar).update(progress=0)
        try:
            if resume:
                await self.service.resume_if_needed()
            result = await self.service.activate(self.install_code, ids, self._on_progress)
        finally:
            self.activating = False
            self.query_one("#progress-row").display = False
            self._count()
        done = {str(i) for i in [*result.activated, *result.already_active]}
        for key in done:
            self.offer.pop(key, None)
            self.selection.discard(key)
        self._fill()
        text = Text(f"Activated {len(result.activated)} license(s); they now appear on Manage Licenses.")
        if result.already_active:
            text.append(f" {len(result.already_active)} were active already.")
        for failure in result.failed:
            text.append(f"\nFAILED {failure.license_id}: ", style=RED)
            text.append(plain(f"{failure.reason} [{failure.code}]"))
        result_box = self.query_one("#result", Static)
        result_box.update(text)
        result_box.display = True
        self.notify(
            text.plain,
            title="ACTIVATE",
            severity="warning" if result.failed else "information",
            markup=False,
            timeout=10,
        )
        if not self.offer:
            empty = self.query_one("#empty", Static)
            empty.update("Every license of this Customer ID is activated; none is left in the cloud.")
            empty.display = True
            self.query_one(VirtualTable).display = False

    def _on_progress(self, message: str, fraction: float) -> None:
        self.query_one(ProgressBar).update(progress=round(fraction * 100))
        self.query_one("#progress-label", Static).update(plain(message))

    # --- leaving -----------------------------------------------------------------------------

    def action_cancel_or_back(self) -> None:
        if self.loader is not None and self.loader.is_running:
            self.loader.cancel()
            self.query_one(VirtualTable).loading = False
            return
        self.action_back()

    def action_back(self) -> None:
        if self.activating:
            self.notify("ACTIVATE is running; wait for it to finish.", severity="warning", timeout=4)
            return
        self.app.pop_screen()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "activate":
            self.action_activate()
        else:
            self.action_back()


def _offered(licenses: Iterable[CloudLicense]) -> dict[str, Offered]:
    return {
        str(lic.license_id): (lic.transfer_date.isoformat() if lic.transfer_date else "", lic.description)
        for lic in licenses
    }
