"""Devices of one segment controller: states in the seed's colours (with the word), provisioning."""

from __future__ import annotations

from collections.abc import Collection

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Footer, Static

from core.models import Device, DeviceState
from core.views import SegmentSummary
from tui.screens.base import title_text
from tui.screens.marking import MarkingScreen
from tui.widgets.marks import MARK_COLUMN, Selection
from tui.widgets.styles import RED, STATE_STYLE, state_text
from tui.widgets.vtable import VirtualTable

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
        Binding("space", "toggle", "Select", id="devices.toggle"),
        Binding("a", "select_all", "All", id="devices.all"),
        Binding("n", "select_none", "None", id="devices.none"),
        Binding("p", "provision", "Provision", id="devices.provision"),
        Binding("P", "provision_all", "Provision all", id="devices.provision_all"),
        Binding("b,escape", "back", "BACK", id="devices.back"),
    ]

    def __init__(self, install_code: str) -> None:
        super().__init__(id="devices")
        self.install_code = install_code
        self.devices: dict[str, Device] = {}
        self.selection = Selection()

    def compose(self) -> ComposeResult:
        seg = self.service.segment(self.install_code)
        yield Static(title_text("Devices", f"{seg.name} ({seg.install_code})"), classes="screen-title")
        yield Static(id="counts", classes="summary")
        yield VirtualTable(COLUMNS, selection=self.selection, id="device-table")
        yield Static(id="count", classes="count")
        yield Static(id="result", classes="result")
        with Horizontal(classes="actions-row"):
            yield Button("Provision selected (p)", id="provision", compact=True, variant="primary")
            yield Button("Provision all licensed (P)", id="provision_all", compact=True)
            yield Button("BACK (b)", id="back", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#result").display = False
        self.refresh_data()
        self.query_one(VirtualTable).focus()

    def refresh_data(self) -> None:
        devices = self.guarded(self.service.devices, self.install_code) or []
        self.devices = {d.device_id: d for d in devices}
        self.selection.keep_only(self.devices)
        summaries = self.guarded(self.service.summaries) or []
        summary = next((s for s in summaries if s.segment.install_code == self.install_code), None)
        self.query_one("#counts", Static).update(counts_line(summary))
        states = {state: state_text(state) for state in DeviceState}
        rows = {d.device_id: (d.device_id, d.protocol.value, d.name, states[d.state]) for d in devices}
        self.query_one(VirtualTable).set_rows(rows)
        self._count()

    def _count(self) -> None:
        self.query_one("#count", Static).update(
            Text(f"{len(self.selection)} of {len(self.devices)} selected · space toggles · a all · n none")
        )
        self.query_one("#provision", Button).disabled = not self.selection
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "provision":
            return True if self.selection else None
        if action == "provision_all":
            return any(d.state is DeviceState.UNPROVISIONED for d in self.devices.values()) or None
        return True

    def markable(self) -> Collection[str]:
        return self.devices

    def action_provision(self) -> None:
        if not self.selection:
            self.notify("Select devices first (space, or a for all).", severity="warning", timeout=4)
            return
        self._provision(list(self.selection))

    def action_provision_all(self) -> None:
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
            text.append(f"\nREFUSED {device_id}: ", style=RED)
            text.append(Text(reason))
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
