"""Manage Licenses: the home screen."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.widgets import Button, DataTable, Static

from core.errors import ChangedMeanwhile
from core.models import LicenseKind, SegmentController, StatusLevel
from core.views import AddLicenseResult, LicenseRow, Notice, SegmentSummary
from tui.screens.actions import CLOSE, HOME_ACTIONS, MORE_ACTIONS, bindings
from tui.screens.base import ServiceScreen, cursor_key, sync_rows, title_text
from tui.widgets.columns import ColumnSpec, fit_cell, fit_widths, label_for
from tui.widgets.conflict import KEEP_MINE, conflict_modal
from tui.widgets.edit import CellEditor, EditableTable
from tui.widgets.footer import SteadyFooter
from tui.widgets.message import MessageModal
from tui.widgets.styles import BLUE, LEVEL_STYLE, PURPLE, YELLOW, plain, prose, short_id, status_text

if TYPE_CHECKING:
    from textual.widgets import ProgressBar

COLUMNS = [
    ColumnSpec("segment", "Segment Controller", least=13, short_label="Segment"),
    ColumnSpec("description", "Description", least=11),
    ColumnSpec("status", "Status", least=6),
    ColumnSpec("activated", "Activation Date", least=10, short_label="Activated"),
    ColumnSpec("license_id", "License ID", least=9, short_label="Lic. ID"),
    ColumnSpec("note", "Note", least=8),
]
COLUMN_KEYS = [spec.key for spec in COLUMNS]
GIVE_WAY = ["license_id", "activated", "segment", "description", "status", "note"]
"""Which column shrinks first when the terminal is narrow: the License ID to its first 8 characters
(the detail line has it whole), the date's label, the segment's label, the description and the
status to their short forms ("25 maint. 1y", "Ends 2026-12-18"), the Note last. At 80 columns every
column still shows."""
SHORT_STATUS = {"Expiring ": "Ends ", "Expired ": "Ended "}
NOTE_EDITOR_WIDTH = 30
NARROW_WIDTH = 80
"""Below this many columns the action buttons carry their short names (the footer's)."""
BANNER_KINDS = ("store", "expiry", "clock", "unfinished", "shortfall", "no_capacity")
NEEDS_LICENSES = {
    "transfer": "there is nothing to transfer",
    "offline_return": "there is nothing to return",
    "edit_note": "there is no Note to edit",
}
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
    return plain(f"{mark} {notice.text}", style=style)


_WRAP_CONSOLE = Console(file=io.StringIO(), width=200)
"""Only measures how Rich wraps a notice (the same word wrap a Static uses)."""


def banner_text(notices: list[Notice], width: int | None = None) -> Text:
    """Errors first, each notice whole: wrapped to ``width``, never cut mid-sentence. What does not
    fit in BANNER_LINES lines is counted on a last "+N more" line (w lists every warning)."""
    ordered = [notice_text(n) for n in sorted(notices, key=lambda n: n.level is not StatusLevel.ERROR)]

    def height(text: Text) -> int:
        return 1 if width is None else len(text.wrap(_WRAP_CONSOLE, max(1, width)))

    if sum(height(t) for t in ordered) <= BANNER_LINES:
        return Text("\n").join(ordered)
    shown: list[Text] = []
    used = 1  # the "+N more" line
    for text in ordered:
        if shown and used + height(text) > BANNER_LINES:
            break  # the first (an error, if any) is always shown whole, even when it is long
        shown.append(text)
        used += height(text)
    more = Text(f"+{len(ordered) - len(shown)} more — w lists every warning", style=YELLOW)
    return Text("\n").join([*shown, more])


def empty_text(segments: list[SegmentController]) -> str:
    """What to do next when no license is active: a Customer ID first where one is missing."""
    missing = [s.name for s in segments if s.customer_id is None]
    if not segments or missing == [s.name for s in segments]:
        return "No licenses are active. Set a Customer ID (c), then Download Licenses from the Cloud (d)."
    if missing:
        return (
            f"No licenses are active. Download Licenses from the Cloud (d); {', '.join(missing)} "
            "still needs a Customer ID (c)."
        )
    return "No licenses are active. Download Licenses from the Cloud (d), or Add License (l) from a file."


def default_receipt_path(code: str, day: str) -> str:
    """``~/smartlic-receipt-<code>-<day>.json``, numbered when taken: a receipt is never overwritten."""
    return unused_path(f"~/smartlic-receipt-{code}-{day}")


def unused_path(base: str) -> str:
    """``<base>.json``, or ``<base>-2.json`` and so on when taken (the writer overwrites nothing)."""
    candidate, n = f"{base}.json", 1
    while Path(candidate).expanduser().exists():
        n += 1
        candidate = f"{base}-{n}.json"
    return candidate


def license_cells(row: LicenseRow) -> list[Text]:
    return [
        plain(row.segment_name),
        plain(row.description),
        status_text(row.status, row.status_level),
        plain(row.activated_at.date().isoformat()),
        plain(row.license_id),
        plain(row.note),
    ]


def short_description(row: LicenseRow) -> Text:
    """Count and kind in a few cells: "25 capacity", "25 maint. 1y"."""
    if row.kind is LicenseKind.MAINTENANCE:
        return Text(f"{row.devices} maint. {row.term_years}y" if row.term_years else f"{row.devices} maint.")
    return Text(f"{row.devices} capacity")


def short_status(row: LicenseRow) -> Text:
    """``Ends 2026-12-18`` for ``Expiring 2026-12-18``: the date stays, the word gets shorter."""
    text = row.status
    for long, short in SHORT_STATUS.items():
        if text.startswith(long):
            text = short + text.removeprefix(long)
    return status_text(text, row.status_level)


SHORT_FORMS = {"description": short_description, "status": short_status}


def fitted_cells(row: LicenseRow, widths: dict[str, int]) -> list[object]:
    cells = dict(zip(COLUMN_KEYS, license_cells(row), strict=True))
    for key, short in SHORT_FORMS.items():
        if cells[key].cell_len > widths[key]:
            cells[key] = short(row)
    return [fit_cell(cells[key], widths[key]) for key in COLUMN_KEYS]


def column_widths(rows: list[LicenseRow], available: int) -> dict[str, int]:
    wanted = {key: 0 for key in COLUMN_KEYS}
    for row in rows:
        for key, cell in zip(COLUMN_KEYS, license_cells(row), strict=True):
            wanted[key] = max(wanted[key], cell.cell_len)
    # A column with a short form may shrink to its longest short form, not below.
    least = {key: max((short(r).cell_len for r in rows), default=0) for key, short in SHORT_FORMS.items()}
    specs = [
        ColumnSpec(s.key, s.label, max(s.least, least[s.key]), s.short_label) if s.key in least else s
        for s in COLUMNS
    ]
    return fit_widths(specs, wanted, available, GIVE_WAY)


class NotesTable(EditableTable):
    """The licenses table: ``e`` types the Note in its cell."""

    EDIT_KEYS: ClassVar[dict[str, str]] = {"e": "edit_note"}


class ManageLicensesScreen(ServiceScreen):
    BINDINGS = [
        # The buttons name the keys of the five actions; the footer keeps what has no button.
        *bindings(HOME_ACTIONS, show=False),
        *bindings(MORE_ACTIONS, show=False),
        Binding("e", "edit_note", "Note", id="edit_note"),
        Binding(CLOSE.key, "app.request_quit", CLOSE.footer, id=CLOSE.id),
        # While no license is active these keys are off the footer; pressing one says why.
        *[
            Binding(s.key, f"unavailable('{s.action}')", show=False, id=s.id)
            for s in [*HOME_ACTIONS, *MORE_ACTIONS]
            if s.action in NEEDS_LICENSES
        ],
        Binding("e", "unavailable('edit_note')", show=False, id="edit_note"),
    ]

    def __init__(self) -> None:
        super().__init__(id="manage-licenses")
        self.rows: dict[str, LicenseRow] = {}
        self.notices: list[Notice] = []
        self.widths: dict[str, int] = {}
        self._progress_row: Horizontal | None = None
        self._progress_label: Static | None = None
        self._progress_bar: ProgressBar | None = None

    def compose(self) -> ComposeResult:
        yield Static(title_text("Manage Licenses"), classes="screen-title")
        yield Static(id="summary")
        yield Static(id="banner", classes="banner")
        yield NotesTable(id="licenses", cursor_type="row", zebra_stripes=True)
        yield Static(id="empty", classes="empty")
        yield Static(id="detail", classes="detail")
        yield Static(id="status", classes="status")
        # The progress row is mounted by the first transfer or sync (_progress): off the first frame.
        with Grid(id="actions", classes="actions"):
            for spec in [*HOME_ACTIONS, CLOSE]:
                yield Button(f"{spec.title} ({spec.key})", id=f"do-{spec.id}", compact=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        # No refresh_data() here: ScreenResume follows Mount on the first push and reads the service.
        self._label_buttons()
        self.query_one(DataTable).focus()

    # --- data --------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        report = self.guarded(self.service.status)
        rows = self.guarded(self.service.license_rows) or []
        self.query_one("#summary", Static).update(summary_table(report.segments if report else []))
        self.notices = [n for n in report.warnings if n.kind in BANNER_KINDS] if report else []
        banner = self.query_one("#banner", Static)
        banner.update(banner_text(self.notices, self._banner_width()))
        banner.display = bool(self.notices)
        self.rows = {str(r.license_id): r for r in rows}
        self._fill_table()
        empty = self.query_one("#empty", Static)
        empty.update(empty_text(self.service.segments() if report else []))
        empty.display = not rows
        self.query_one(DataTable).display = bool(rows)
        self.query_one("#detail", Static).display = bool(rows)
        self._show_detail()
        self.refresh_bindings()

    def _fill_table(self) -> None:
        """Columns fitted to the width (rebuilt only when their widths change), then the rows."""
        table = self.query_one(DataTable)
        rows = list(self.rows.values())
        available = table.size.width or self.app.size.width
        if len(rows) + 1 > (table.size.height or self.app.size.height):
            available -= table.styles.scrollbar_size_vertical
        widths = column_widths(rows, available)
        if widths != self.widths or not table.columns:
            self.widths = widths
            current = cursor_key(table)
            table.clear(columns=True)
            for spec in COLUMNS:
                table.add_column(label_for(spec, widths[spec.key]), key=spec.key, width=widths[spec.key])
            sync_rows(table, COLUMN_KEYS, {k: fitted_cells(r, widths) for k, r in self.rows.items()})
            if current in self.rows:
                table.move_cursor(row=table.get_row_index(current), animate=False)
        else:
            sync_rows(table, COLUMN_KEYS, {k: fitted_cells(r, widths) for k, r in self.rows.items()})

    def _banner_width(self) -> int:
        banner = self.query_one("#banner", Static)
        return banner.content_region.width or self.app.size.width - 2

    def _label_buttons(self) -> None:
        """The seed's names where they fit; below 80 columns the short ones, so every key shows."""
        wide = self.app.size.width >= NARROW_WIDTH
        for spec in [*HOME_ACTIONS, CLOSE]:
            button = self.query_one(f"#do-{spec.id}", Button)
            button.label = f"{spec.title if wide else spec.footer} ({spec.key})"

    def on_resize(self) -> None:
        self._label_buttons()
        banner = self.query_one("#banner", Static)
        if self.notices:
            self.call_after_refresh(lambda: banner.update(banner_text(self.notices, self._banner_width())))
        if self.rows and self.query(CellEditor):
            self.query_one(CellEditor).place()
        elif self.rows:
            self.call_after_refresh(self._fill_table)

    def highlighted(self) -> LicenseRow | None:
        key = cursor_key(self.query_one(DataTable))
        return self.rows.get(key) if key else None

    def _show_detail(self) -> None:
        row = self.highlighted()
        detail = self.query_one("#detail", Static)
        if row is None:
            detail.update("", layout=False)
            return
        text = plain(f"{row.segment_name} ({row.install_code}) · ", style="bold")
        text.append(f"License ID {row.license_id}")
        text.append(plain(f" · {row.description}"))
        if row.expires_on:
            text.append(f" · expires {row.expires_on.isoformat()}")
        text.append(" · Note: ")
        text.append(plain(row.note or "(none, e edits)", style="" if row.note else "dim"))
        detail.update(text, layout=False)  # its height is fixed (app.tcss)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_note()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_LICENSES:
            return bool(self.rows)
        if action == "unavailable":
            return not self.rows
        return True

    def action_unavailable(self, action: str) -> None:
        self.notify(f"No licenses are active: {NEEDS_LICENSES[action]}.", severity="warning", timeout=4)

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
        if self.query(CellEditor):
            return
        license_id, started_from = row.license_id, row.note
        key = str(license_id)

        def done(note: str | None) -> None:
            if note is None:  # Esc: the cell shows the stored Note again
                self.say("Note unchanged.")
                return
            if note != started_from:
                self.save_note(license_id, note, started_from)

        def hint(_problem: str | None) -> None:
            self.say("Enter saves the Note · Esc restores the cell")

        self.mount(
            CellEditor(
                self.query_one(DataTable),
                key,
                "note",
                row.note,
                done=done,
                show_problem=hint,
                placeholder="where the controller sits, say",
                max_length=500,
                min_width=NOTE_EDITOR_WIDTH,
            )
        )

    def save_note(self, license_id: UUID, note: str, expected: str) -> None:
        """Compare-and-set: refused when another session changed the Note since the edit began."""
        try:
            self.service.set_note(license_id, note, expected=expected)
        except ChangedMeanwhile as exc:
            stored = exc.stored

            def answered(choice: str | None) -> None:
                if choice == KEEP_MINE:
                    self.save_note(license_id, note, stored)
                else:
                    self.say("Kept the stored Note." if choice else "Your Note was not saved.")

            self.refresh_data()
            self.app.push_screen(
                conflict_modal(f"The Note of {short_id(license_id)}", note, stored), answered
            )
            return
        except Exception as exc:
            self.report_error(exc)
            return
        self.refresh_data()
        self.say("Note saved.")

    def say(self, text: str) -> None:
        """The result of the last action on the screen's own status line (no toast over buttons)."""
        self.query_one("#status", Static).update(Text(text))

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

    def action_notifications(self) -> None:
        from tui.screens.notifications import NotificationsScreen

        self.app.push_screen(NotificationsScreen())

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
        text = prose(f"Added {len(result.added)} license(s) to {seg.name} ({seg.install_code}):\n")
        text.stylize("bold")
        for license_id in result.added:
            row = self.rows.get(str(license_id))
            text.append(f"  {license_id}  ")
            text.append(plain(row.description if row else ""))
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
        intro = plain(
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
            text.append(plain(shorten(path), style="bold"))
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
                unused_path(f"~/smartlic-request-{code}"),
                run=write,
                verb="writes the file",
                new_file=True,
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
        intro = plain(
            f"Where should the return receipt of {seg.name} ({code}) go? Nothing is returned yet: "
            "the next step asks to confirm."
        )
        self.app.push_screen(
            PathModal(
                f"Offline Return — {seg.name}",
                intro,
                default_receipt_path(code, self.service.today().isoformat()),
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
        text.append(plain(shorten(path), style="bold"))
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
        # On the status line only: a toast of this length covered the buttons, and then dialogs.
        self.say(text)

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
        if self._progress_row is None:
            if not shown:
                return
            from textual.widgets import ProgressBar

            self._progress_label = Static(id="progress-label")
            self._progress_bar = ProgressBar(total=100, show_eta=False, id="progress")
            self._progress_row = Horizontal(
                self._progress_label, self._progress_bar, id="progress-row", classes="progress-row"
            )
            self.mount(self._progress_row, before="#actions")
        self._progress_row.display = shown
        if shown:
            self._on_progress("Starting…", 0)

    def _on_progress(self, message: str, fraction: float) -> None:
        if self._progress_bar is not None and self._progress_label is not None:
            self._progress_bar.update(progress=round(fraction * 100))
            self._progress_label.update(plain(message))
