"""Manage Licenses: the home screen."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.widgets import Button, DataTable, Footer, ProgressBar, Static

from core.views import LicenseRow, SegmentSummary
from tui.screens.actions import CLOSE, HOME_ACTIONS, bindings
from tui.screens.base import ServiceScreen, cursor_key, sync_rows, title_text
from tui.widgets.edit import EditModal
from tui.widgets.styles import PURPLE, YELLOW, plain, status_text

COLUMNS = [
    ("Segment Controller", "segment"),
    ("Description", "description"),
    ("Status", "status"),
    ("Activation Date", "activated"),
    ("License ID", "license_id"),
    ("Note", "note"),
]
COLUMN_KEYS = [key for _label, key in COLUMNS]


def summary_table(summaries: list[SegmentSummary]) -> Table:
    """Per segment: capacity, licensed devices / capacity, unlicensed (purple), maintenance coverage."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", pad_edge=False)
    for name in ("Segment Controller", "Capacity", "Licensed", "Unlicensed", "Maintenance"):
        table.add_column(name, no_wrap=True)
    for s in summaries:
        if s.maintenance_shortfall:
            maintenance = Text(
                f"⚠ {s.maintenance_covered}/{s.capacity}, {s.maintenance_shortfall} short", style=YELLOW
            )
        else:
            maintenance = Text(f"{s.maintenance_covered}/{s.capacity} ok" if s.capacity else "-")
        table.add_row(
            plain(s.segment.name),
            Text(str(s.capacity)),
            Text(f"{s.licensed}/{s.capacity}"),
            Text(f"{s.unlicensed} unlicensed", style=PURPLE if s.unlicensed else ""),
            maintenance,
        )
    return table


def license_cells(row: LicenseRow) -> list[object]:
    return [
        plain(row.segment_name),
        plain(row.description),
        status_text(row.status, row.status_level),
        plain(row.activated_at.date().isoformat()),
        plain(row.license_id),
        plain(row.note),
    ]


class ManageLicensesScreen(ServiceScreen):
    BINDINGS = [
        *bindings(HOME_ACTIONS),
        Binding("e", "edit_note", "Note", id="edit_note"),
        Binding(CLOSE.key, "app.request_quit", CLOSE.footer, id=CLOSE.id),
    ]

    def __init__(self) -> None:
        super().__init__(id="manage-licenses")
        self.rows: dict[str, LicenseRow] = {}

    def compose(self) -> ComposeResult:
        yield Static(title_text("Manage Licenses"), classes="screen-title")
        yield Static(id="summary")
        yield Static(id="banner", classes="banner")
        table: DataTable = DataTable(id="licenses", cursor_type="row", zebra_stripes=True)
        for label, key in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(id="empty", classes="empty")
        yield Static(id="detail", classes="detail")
        with Horizontal(id="progress-row", classes="progress-row"):
            yield Static(id="progress-label")
            yield ProgressBar(total=100, show_eta=False, id="progress")
        with Grid(id="actions", classes="actions"):
            for spec in [*HOME_ACTIONS, CLOSE]:
                yield Button(f"{spec.title} ({spec.key})", id=f"do-{spec.id}", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#progress-row").display = False
        self.refresh_data()
        self.query_one(DataTable).focus()

    # --- data --------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        summaries = self.guarded(self.service.summaries) or []
        rows = self.guarded(self.service.license_rows) or []
        self.query_one("#summary", Static).update(summary_table(summaries))
        steps = [Text(f"⚠ {s.segment.name}: {s.next_step}", style=YELLOW) for s in summaries if s.next_step]
        banner = self.query_one("#banner", Static)
        banner.update(Text("\n").join(steps))
        banner.display = bool(steps)
        self.rows = {str(r.license_id): r for r in rows}
        table = self.query_one(DataTable)
        sync_rows(table, COLUMN_KEYS, {key: license_cells(r) for key, r in self.rows.items()})
        empty = self.query_one("#empty", Static)
        empty.update(
            "No licenses are active. Set a Customer ID (c), then Download Licenses from the Cloud (d)."
        )
        empty.display = not rows
        table.display = bool(rows)
        self._show_detail()
        self.refresh_bindings()

    def highlighted(self) -> LicenseRow | None:
        key = cursor_key(self.query_one(DataTable))
        return self.rows.get(key) if key else None

    def _show_detail(self) -> None:
        row = self.highlighted()
        detail = self.query_one("#detail", Static)
        if row is None:
            detail.update("")
            return
        text = Text(f"{row.segment_name} ({row.install_code}) · ", style="bold")
        text.append(f"License ID {row.license_id}")
        text.append(f" · {row.description}")
        if row.expires_on:
            text.append(f" · expires {row.expires_on.isoformat()}")
        text.append(" · Note: ")
        text.append(row.note or "(none, e edits)", style="" if row.note else "dim")
        detail.update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_note()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("transfer", "edit_note"):
            return bool(self.rows)
        return True

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        ident = (event.button.id or "").removeprefix("do-")
        if ident == CLOSE.id:
            self.smartlic.action_request_quit()
            return
        for spec in HOME_ACTIONS:
            if spec.id == ident:
                self.run_action(spec.action)

    # --- actions -----------------------------------------------------------------------------

    def action_edit_note(self) -> None:
        row = self.highlighted()
        if row is None:
            self.notify("No license is highlighted.", severity="warning")
            return
        license_id = row.license_id

        def done(note: str | None) -> None:
            if note is None:
                return
            if not self.attempt(self.service.set_note, license_id, note):
                return
            self.refresh_data()
            self.notify("Note saved.", timeout=3)

        self.app.push_screen(
            EditModal(f"Note for license {license_id}", row.note, max_length=500), done
        )

    def action_customer_accounts(self) -> None:
        from tui.screens.customer_accounts import CustomerAccountsScreen

        self.app.push_screen(CustomerAccountsScreen())

    def action_download(self) -> None:
        from tui.screens.download import DownloadScreen

        row = self.highlighted()
        self.smartlic.choose_segment(
            "Download Licenses from the Cloud",
            self.service.segments(),
            row.install_code if row else None,
            lambda code: self.app.push_screen(DownloadScreen(code)),
        )

    def action_devices(self) -> None:
        from tui.screens.devices import DevicesScreen

        row = self.highlighted()
        self.smartlic.choose_segment(
            "Devices",
            self.service.segments(),
            row.install_code if row else None,
            lambda code: self.app.push_screen(DevicesScreen(code)),
        )

    def action_add_license(self) -> None:
        self.notify(
            "Add License (a license file, for offline activation) is not available yet. "
            "Use Download Licenses from the Cloud (d).",
            title="Add License",
            severity="warning",
        )

    def action_transfer(self) -> None:
        holders = {r.install_code for r in self.rows.values()}
        segments = [s for s in self.service.segments() if s.install_code in holders]
        if not segments:
            self.notify("No licenses are active: there is nothing to transfer.", severity="warning")
            return
        row = self.highlighted()
        self.smartlic.choose_segment(
            "Transfer to Cloud", segments, row.install_code if row else None, self._confirm_transfer
        )

    def _confirm_transfer(self, code: str) -> None:
        from tui.screens.transfer import TransferModal

        rows = [r for r in self.rows.values() if r.install_code == code]

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.run_transfer(code)
            else:
                self.notify("Transfer cancelled; nothing changed.", timeout=3)

        self.app.push_screen(TransferModal(rows), done)

    @work(exclusive=True, exit_on_error=False, group="cloud")
    async def run_transfer(self, code: str) -> None:
        self.remember_retry(self.run_resume)
        self._progress(True)
        try:
            result = await self.service.transfer(code, self._on_progress)
        finally:
            self._progress(False)
            self.refresh_data()
        text = f"Transferred {len(result.returned)} license(s) to the cloud. "
        text += f"{result.devices_unlicensed} device(s) are now unlicensed (purple)."
        for failure in result.failed:
            text += f"\nNot transferred {failure.license_id}: {failure.reason}"
        self.notify(text, title="Transfer to Cloud", severity="warning" if result.failed else "information",
                    markup=False, timeout=10)

    @work(exclusive=True, exit_on_error=False, group="cloud")
    async def run_resume(self) -> None:
        self.remember_retry(self.run_resume)
        self._progress(True)
        try:
            report = await self.service.sync(self._on_progress)
        finally:
            self._progress(False)
            self.refresh_data()
        self.notify(
            f"Synchronised with the cloud: {len(report.healed_operations)} operation(s) finished, "
            f"{len(report.returned)} license(s) returned.",
            timeout=6,
        )

    def _progress(self, shown: bool) -> None:
        row = self.query_one("#progress-row")
        row.display = shown
        if shown:
            self.query_one(ProgressBar).update(progress=0)
            self.query_one("#progress-label", Static).update("Starting…")

    def _on_progress(self, message: str, fraction: float) -> None:
        self.query_one(ProgressBar).update(progress=round(fraction * 100))
        self.query_one("#progress-label", Static).update(Text(message))
