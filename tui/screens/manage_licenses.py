"""Manage Licenses: the home screen."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.widgets import Button, DataTable, ProgressBar, Static

from core.models import StatusLevel
from core.views import AddLicenseResult, LicenseRow, Notice, SegmentSummary
from tui.screens.actions import CLOSE, HOME_ACTIONS, MORE_ACTIONS, bindings
from tui.screens.base import ServiceScreen, cursor_key, sync_rows, title_text
from tui.widgets.edit import EditModal
from tui.widgets.footer import SteadyFooter
from tui.widgets.message import MessageModal
from tui.widgets.styles import BLUE, LEVEL_STYLE, PURPLE, YELLOW, plain, status_text

COLUMNS = [
    ("Segment Controller", "segment"),
    ("Description", "description"),
    ("Status", "status"),
    ("Activation Date", "activated"),
    ("License ID", "license_id"),
    ("Note", "note"),
]
COLUMN_KEYS = [key for _label, key in COLUMNS]
BANNER_KINDS = ("store", "expiry", "clock", "unfinished", "shortfall", "no_capacity")
BANNER_LINES = 3
"""At most this many banner lines (80x24); the rest is one "+N more" line, and w lists them all."""


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


def notice_text(notice: Notice) -> Text:
    style = LEVEL_STYLE.get(notice.level) or YELLOW
    mark = "✖" if notice.level is StatusLevel.ERROR else "⚠"
    return Text(f"{mark} {notice.text}", style=style)


def banner_text(notices: list[Notice]) -> Text:
    """One line per notice (errors first), cut to the width; at most BANNER_LINES lines."""
    ordered = sorted(notices, key=lambda n: n.level is not StatusLevel.ERROR)
    if len(ordered) > BANNER_LINES:
        shown = ordered[: BANNER_LINES - 1]
        more = Text(f"+{len(ordered) - len(shown)} more — w lists every warning", style=YELLOW)
        lines = [notice_text(n) for n in shown] + [more]
    else:
        lines = [notice_text(n) for n in ordered]
    return Text("\n").join(lines)


def default_receipt_path(code: str, day: str) -> str:
    """``~/smartlic-receipt-<code>-<day>.json``, numbered when taken: a receipt is never overwritten."""
    base = f"~/smartlic-receipt-{code}-{day}"
    candidate, n = f"{base}.json", 1
    while Path(candidate).expanduser().exists():
        n += 1
        candidate = f"{base}-{n}.json"
    return candidate


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
        *bindings(MORE_ACTIONS, show=False),
        Binding("e", "edit_note", "Note", id="edit_note"),
        Binding(CLOSE.key, "app.request_quit", CLOSE.footer, id=CLOSE.id),
    ]

    def __init__(self) -> None:
        super().__init__(id="manage-licenses")
        self.rows: dict[str, LicenseRow] = {}
        self.notices: list[Notice] = []

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
        yield SteadyFooter()

    def on_mount(self) -> None:
        # No refresh_data() here: ScreenResume follows Mount on the first push and reads the service.
        self.query_one("#progress-row").display = False
        self.query_one(DataTable).focus()

    # --- data --------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        report = self.guarded(self.service.status)
        rows = self.guarded(self.service.license_rows) or []
        self.query_one("#summary", Static).update(summary_table(report.segments if report else []))
        self.notices = [n for n in report.warnings if n.kind in BANNER_KINDS] if report else []
        banner = self.query_one("#banner", Static)
        banner.update(banner_text(self.notices))
        banner.display = bool(self.notices)
        self.rows = {str(r.license_id): r for r in rows}
        table = self.query_one(DataTable)
        sync_rows(table, COLUMN_KEYS, {key: license_cells(r) for key, r in self.rows.items()})
        empty = self.query_one("#empty", Static)
        empty.update(
            "No licenses are active. Set a Customer ID (c), then Download Licenses from the Cloud (d)."
        )
        empty.display = not rows
        table.display = bool(rows)
        self.query_one("#detail", Static).display = bool(rows)
        self._show_detail()
        self.refresh_bindings()

    def highlighted(self) -> LicenseRow | None:
        key = cursor_key(self.query_one(DataTable))
        return self.rows.get(key) if key else None

    def _show_detail(self) -> None:
        row = self.highlighted()
        detail = self.query_one("#detail", Static)
        if row is None:
            detail.update("", layout=False)
            return
        text = Text(f"{row.segment_name} ({row.install_code}) · ", style="bold")
        text.append(f"License ID {row.license_id}")
        text.append(f" · {row.description}")
        if row.expires_on:
            text.append(f" · expires {row.expires_on.isoformat()}")
        text.append(" · Note: ")
        text.append(row.note or "(none, e edits)", style="" if row.note else "dim")
        detail.update(text, layout=False)  # its height is fixed (app.tcss)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_note()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("transfer", "edit_note", "offline_return"):
            return bool(self.rows)
        return True

    @on(Button.Pressed)
    async def _button(self, event: Button.Pressed) -> None:
        event.stop()
        ident = (event.button.id or "").removeprefix("do-")
        if ident == CLOSE.id:
            self.smartlic.action_request_quit()
            return
        for spec in [*HOME_ACTIONS, *MORE_ACTIONS]:
            if spec.id == ident:
                # run_action is a coroutine: un-awaited, it never ran (every click did nothing).
                await self.run_action(spec.action)

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

        self.app.push_screen(EditModal(f"Note for license {license_id}", row.note, max_length=500), done)

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
        from tui.widgets.path import PathModal

        intro = Text(
            "The license file from the License Customer Portal (offline activation): every license "
            "in it is activated on the controller it was made for, or none is."
        )
        self.app.push_screen(
            PathModal(
                "Add License",
                intro,
                placeholder="path of the license file, e.g. ~/smartlic-response.json",
                run=self.service.add_license_file,
                verb="adds the licenses",
                id="add-license-modal",
            ),
            self._license_added,
        )

    def _license_added(self, result: AddLicenseResult | None) -> None:
        if result is None:
            return
        self.refresh_data()
        seg = result.segment
        text = Text(f"Added {len(result.added)} license(s) to {seg.name} ({seg.install_code}):\n")
        text.stylize("bold")
        for license_id in result.added:
            row = self.rows.get(str(license_id))
            text.append(f"  {license_id}  ")
            text.append(Text(row.description if row else ""))
            text.append("\n")
        text.append(f"\n{result.devices_relicensed} device(s) are now licensed: ")
        text.append("unprovisioned (blue)", style=BLUE)
        text.append(" until you provision them in Devices (v).")
        self.app.push_screen(MessageModal("Add License — done", text, id="add-license-done"))

    def action_offline_request(self) -> None:
        row = self.highlighted()
        self.smartlic.choose_segment(
            "Offline Activation Request",
            self.service.segments(),
            row.install_code if row else None,
            self._ask_request_path,
        )

    def _ask_request_path(self, code: str) -> None:
        from tui.widgets.path import PathModal, shorten

        seg = self.service.segment(code)
        intro = Text(
            f"smartlic writes a signed request file for {seg.name} ({code}). A new request replaces "
            "any earlier one of this controller."
        )

        def write(path: Path) -> Path:
            self.service.offline_request(code, path)
            return path

        def done(path: Path | None) -> None:
            if path is None:
                return
            self.refresh_data()
            text = Text("Request file written:\n  ")
            text.append(shorten(path), style="bold")
            text.append(
                "\n\nNext: take it to the License Customer Portal (on a computer with Internet), "
                "activate licenses for it there, and bring back the license file the portal gives you. "
                "Then use Add License (l) with that file."
            )
            title = "Offline Activation Request — written"
            self.app.push_screen(MessageModal(title, text, id="request-done"))

        self.app.push_screen(
            PathModal(
                f"Offline Activation Request — {seg.name}",
                intro,
                f"~/smartlic-request-{code}.json",
                run=write,
                verb="writes the file",
                id="offline-request-modal",
            ),
            done,
        )

    def action_offline_return(self) -> None:
        holders = {r.install_code for r in self.rows.values()}
        segments = [s for s in self.service.segments() if s.install_code in holders]
        if not segments:
            self.notify("No licenses are active: there is nothing to return.", severity="warning")
            return
        row = self.highlighted()
        self.smartlic.choose_segment(
            "Offline Return", segments, row.install_code if row else None, self._ask_receipt_path
        )

    def _ask_receipt_path(self, code: str) -> None:
        from tui.widgets.path import PathModal

        seg = self.service.segment(code)
        intro = Text(
            f"Where should the return receipt of {seg.name} ({code}) go? Nothing is returned yet: "
            "the next step asks to confirm."
        )
        self.app.push_screen(
            PathModal(
                f"Offline Return — {seg.name}",
                intro,
                default_receipt_path(code, self.service.clock().date().isoformat()),
                verb="continues",
                new_file=True,
                id="receipt-path-modal",
            ),
            lambda path: self._confirm_offline_return(code, path) if path else None,
        )

    def _confirm_offline_return(self, code: str, path: Path) -> None:
        from tui.screens.transfer import OfflineReturnModal
        from tui.widgets.path import shorten

        rows = [r for r in self.rows.values() if r.install_code == code]

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.run_offline_return(code, path)
            else:
                self.notify("Offline Return cancelled; nothing changed.", timeout=3)

        self.app.push_screen(OfflineReturnModal(rows, shorten(path)), done)

    @work(exclusive=True, exit_on_error=False, group="offline")
    async def run_offline_return(self, code: str, path: Path) -> None:
        from tui.widgets.path import shorten

        try:
            receipt = self.service.offline_return(code, path)
        finally:
            self.refresh_data()
        text = Text(f"{len(receipt.license_ids)} license(s) are off this controller; its devices are now ")
        text.append("unlicensed (purple)", style=PURPLE)
        text.append(".\n\nReturn receipt written:\n  ")
        text.append(shorten(path), style="bold")
        text.append("\n\nNext: give the receipt to the License Customer Portal; it frees the licenses there.")
        self.app.push_screen(MessageModal("Offline Return — done", text, id="return-done"))

    def action_warnings(self) -> None:
        if not self.notices:
            self.notify("No warnings.", timeout=3)
            return
        text = Text("\n").join(notice_text(n) for n in self.notices)
        self.app.push_screen(MessageModal(f"Warnings ({len(self.notices)})", text, id="warnings"))

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
        self.notify(
            text,
            title="Transfer to Cloud",
            severity="warning" if result.failed else "information",
            markup=False,
            timeout=10,
        )

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
