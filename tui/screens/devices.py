"""Devices of one segment controller: states in the seed's colours (with the word), provisioning."""

from __future__ import annotations

from collections.abc import Collection

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from core.models import DeviceState, Protocol
from core.views import DeviceRow, SegmentSummary
from tui.screens.base import set_usable, title_text
from tui.screens.marking import MarkingScreen
from tui.widgets.footer import SteadyFooter
from tui.widgets.marks import MARK_COLUMN, Selection
from tui.widgets.styles import RED, STATE_STYLE, plain, state_text
from tui.widgets.vtable import VirtualTable

# More rows than any terminal shows: the first paint reads this many, the rest follow after it.
FIRST_PAGE = 200
# Rows read per step after the first paint; each step is one short read, then a frame.
CHUNK = 5000
PROTOCOL_TEXT = {protocol: protocol.value for protocol in Protocol}

COLUMNS = [
    ("Sel", MARK_COLUMN),
    ("Device", "device"),
    ("Protocol", "protocol"),
    ("Name", "name"),
    ("State", "state"),
]


def counts_line(summary: SegmentSummary | None) -> Text:
    """The segment's devices by state, in the seed's colours and with the state's word."""
    text = Text()
    if summary is None:
        return text
    counts = {
        DeviceState.UNLICENSED: summary.unlicensed,
        DeviceState.UNPROVISIONED: summary.unprovisioned,
        DeviceState.PROVISIONED: summary.provisioned,
    }
    for index, state in enumerate(DeviceState):
        if index:
            text.append(" · ")
        text.append(f"{counts[state]} {state.value}", style=STATE_STYLE[state])
    text.append(f" · capacity {summary.capacity}")
    return text


class DevicesScreen(MarkingScreen):
    BINDINGS = [
        # space, a and n are named on the count line, BACK on its button: off the footer, which then
        # fits 80 columns.
        Binding("space", "toggle_mark", "Select", id="devices.toggle", show=False),
        Binding("a", "select_all", "All", id="devices.all", show=False),
        Binding("n", "select_none", "None", id="devices.none", show=False),
        Binding("p", "provision", "Provision", id="devices.provision"),
        Binding("P", "provision_all", "Provision all", id="devices.provision_all"),
        Binding("b,escape", "back", "BACK", id="devices.back", show=False),
    ]

    def __init__(self, install_code: str) -> None:
        super().__init__(id="devices")
        self.install_code = install_code
        self.devices: dict[str, DeviceRow] = {}
        self.summary: SegmentSummary | None = None
        self.selection = Selection()
        self.streaming = False
        # Bumped by every refresh: a page read for an older refresh is dropped, not appended.
        self._generation = 0

    def compose(self) -> ComposeResult:
        seg = self.service.segment(self.install_code)
        yield Static(title_text("Devices", f"{seg.name} ({seg.install_code})"), classes="screen-title")
        yield Static(id="counts", classes="summary")
        yield VirtualTable(COLUMNS, selection=self.selection, id="device-table")
        yield Static(id="count", classes="count")
        yield Static(id="result", classes="result")
        with Horizontal(classes="actions-row"):
            yield Button(
                "Provision selected (p)", id="provision", compact=True, variant="primary", disabled=True
            )
            yield Button("Provision all (P)", id="provision_all", compact=True)  # BACK fits 60 columns
            yield Button("BACK (b)", id="back", compact=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        # No read here: ServiceScreen reads on ScreenResume, which follows every push (reading
        # here too read 20,000 rows twice before the first paint).
        self.query_one("#result").display = False
        self.query_one(VirtualTable).focus()

    def refresh_data(self) -> None:
        self._generation += 1
        if self.query_one(VirtualTable).total_count:
            self._show_summary()
            # Already showing rows: replace them in one step, so the cursor keeps its row.
            rows = self.guarded(self.service.device_rows, self.install_code)
            if rows is not None:
                self._show_rows(rows, replace=True)
                self._loaded()
            return
        # First fill: one screenful now; the counts by state (SQLite counts every device: ~10 ms
        # for 20,000) and the rest of the rows after the first paint, a page per frame.
        page = self.guarded(self.service.device_rows, self.install_code, limit=FIRST_PAGE)
        if page is None:
            return
        self._show_rows(page, replace=True)
        self.call_after_refresh(self._show_summary)
        self._next_page(page, FIRST_PAGE)

    def _next_page(self, page: list[DeviceRow], asked: int) -> None:
        if len(page) < asked:
            self._loaded()
            return
        self.streaming = True
        self._count()
        self.call_after_refresh(self._load_page, self._generation, page[-1].seq)

    @property
    def _left(self) -> bool:
        """Popped: a page or the counts scheduled after a frame come too late (its widgets are
        gone; showing them raised NoMatches and the app stopped, after b during the pages)."""
        return self not in self.app.screen_stack

    def _load_page(self, generation: int, after_seq: int) -> None:
        if generation != self._generation or self._left:
            return
        page = self.guarded(self.service.device_rows, self.install_code, after_seq=after_seq, limit=CHUNK)
        if page is None:
            self.streaming = False
            return
        self._show_rows(page, replace=False)
        self._next_page(page, CHUNK)

    def _show_rows(self, rows: list[DeviceRow], *, replace: bool) -> None:
        states = {state: state_text(state) for state in DeviceState}
        protocols = PROTOCOL_TEXT
        cells = {r.device_id: (r.device_id, protocols[r.protocol], r.name, states[r.state]) for r in rows}
        table = self.query_one(VirtualTable)
        if replace:
            self.devices = {r.device_id: r for r in rows}
            table.set_rows(cells)
        else:
            self.devices.update((r.device_id, r) for r in rows)
            table.append_rows(cells)

    def _loaded(self) -> None:
        self.streaming = False
        self.selection.keep_only(self.devices)
        self._count()
        self.list_loaded()

    def _show_summary(self) -> None:
        if self._left:
            return
        summaries = self.guarded(self.service.summaries) or []
        self.summary = next((s for s in summaries if s.segment.install_code == self.install_code), None)
        self.query_one("#counts", Static).update(counts_line(self.summary))

    def _count(self) -> None:
        loading = " · loading…" if self.streaming else ""
        marks = self.mark_count().text(len(self.devices))
        self.query_one("#count", Static).update(Text(f"{marks} · space toggles · a all · n none{loading}"))
        # The row's buttons may still be mounting when on_mount first counts (a nested
        # container's children mount after the screen's on_mount); they start disabled.
        for button in self.query("#provision").results(Button):
            set_usable(button, bool(self.selection), self.table)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "provision":
            return True if self.selection else None
        return True

    def marking_allowed(self) -> bool:
        """Not while the rest of the rows is still arriving: "all" would miss them."""
        return not self.streaming

    def markable(self) -> Collection[str]:
        return self.devices

    def action_provision(self) -> None:
        if not self.selection:
            self.notify("Select devices first (space, or a for all).", severity="warning", timeout=4)
            return
        self.act_on_marks("Provision", "Provision", self._provision)

    def action_provision_all(self) -> None:
        if not (self.summary and self.summary.unprovisioned):
            licensed = self.summary.licensed if self.summary else 0
            self.notify(
                "Every licensed device is provisioned already."
                if licensed
                else "No device is licensed, so none can be provisioned: activate a capacity license "
                "first (Download Licenses from the Cloud, d on Manage Licenses).",
                severity="warning",
                timeout=5,
            )
            return
        self._provision(None)

    def _provision(self, ids: list[str] | None) -> None:
        try:
            result = self.service.provision(self.install_code, ids)
        except Exception as exc:
            self.report_error(exc)
            return
        self.selection.clear()
        self.refresh_data()
        text = Text(f"Provisioned {len(result.provisioned)} device(s).")
        for device_id, reason in result.refused.items():
            text.append("\n")
            text.append(plain(f"REFUSED {device_id}: ", style=RED))
            text.append(plain(reason))
        box = self.query_one("#result", Static)
        box.update(text)
        box.display = True

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        {"provision": self.action_provision, "provision_all": self.action_provision_all}.get(
            event.button.id or "", self.action_back
        )()
