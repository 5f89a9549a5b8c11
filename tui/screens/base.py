"""What every smartlic screen shares: the service, the error handler, refresh-or-retry, help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable

from tui.widgets.errors import ErrorHandling
from tui.widgets.styles import plain

if TYPE_CHECKING:
    from core.service import LicenseService
    from tui.app import SmartlicApp

CellRows = dict[str, list[object]]


class ServiceScreen(ErrorHandling, Screen):
    """A screen that shows the service's state and can be refreshed with ``r``."""

    BINDINGS = [Binding("r", "refresh_or_retry", "Refresh", id="refresh")]

    @property
    def smartlic(self) -> SmartlicApp:
        return self.app  # type: ignore[return-value]

    @property
    def service(self) -> LicenseService:
        return self.smartlic.service

    def refresh_data(self) -> None:
        """Re-read the service and update the widgets."""

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def action_refresh_or_retry(self) -> None:
        retry, self.retry = self.retry, None
        if retry is not None:
            self.notify("Retrying…", timeout=3)
            retry()
        else:
            self.refresh_data()
            self.notify("Refreshed.", timeout=2)

    def attempt(self, func, *args, **kwargs) -> bool:
        """Run a quick local service call; True when it succeeded, else the error is reported."""
        try:
            func(*args, **kwargs)
        except Exception as exc:
            self.report_error(exc)
            return False
        return True

    def guarded(self, func, *args, **kwargs):
        """Run a quick local service call; a SmartlicError is reported, never raised."""
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            self.report_error(exc)
            return None


def sync_rows(table: DataTable, columns: list[str], rows: CellRows) -> None:
    """Make ``table`` show ``rows`` (key -> cells) by row key: remove gone rows, update changed
    cells, append new rows. The cursor stays on the same row where it can."""
    with table.app.batch_update():
        wanted = set(rows)
        for gone in [k for k in table.rows if k.value not in wanted]:
            table.remove_row(gone)
        present = {k.value for k in table.rows}
        for key, cells in rows.items():
            if key in present:
                for column, cell in zip(columns, cells, strict=True):
                    if table.get_cell(key, column) != cell:
                        table.update_cell(key, column, cell, update_width=True)
            else:
                table.add_row(*cells, key=key)


def cursor_key(table: DataTable) -> str | None:
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:
        return None


def set_usable(button: Widget, usable: bool, fallback: Widget, *, hide: bool = False) -> None:
    """Enable (or show) ``button``, or disable (or hide) it. A focused button that goes away hands
    the focus to ``fallback`` (the screen's table): else Textual moves it to the next button, and
    the next space or Enter presses that one (BACK, or Provision all) by surprise."""
    if not usable and button.has_focus:
        fallback.focus()
    if hide:
        button.display = usable
    else:
        button.disabled = not usable


def title_text(title: str, subtitle: str = "") -> Text:
    text = plain(title, style="bold")
    if subtitle:
        text.append(plain(" — " + subtitle))
    return text
