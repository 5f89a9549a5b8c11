"""One place where worker errors land: a SmartlicError becomes its message and hint, anything else
is logged to the log file and reported in one line. A cloud that cannot be reached offers a retry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from core.errors import CloudUnreachable, SmartlicError

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger("smartlic.tui")
RETRY_HINT = "Press r to retry."


class ErrorHandling:
    """Mixin for screens (and the app): ``report_error`` and the worker-error handler."""

    retry: Callable[[], object] | None = None
    """What ``r`` re-runs after the cloud could not be reached; None when there is nothing to retry."""

    if TYPE_CHECKING:
        # Mixed into the app and screens only: their ``app`` (the app itself, for the app).
        app: App[object]

    def remember_retry(self, action: Callable[[], object] | None) -> None:
        self._last_cloud_action = action

    def report_error(self, error: BaseException | None) -> None:
        app = self.app
        if isinstance(error, SmartlicError):
            text = error.message + (f"\n{error.hint}" if error.hint else "")
            title = "Cloud unreachable" if isinstance(error, CloudUnreachable) else "Not done"
            if isinstance(error, CloudUnreachable):
                self.retry = getattr(self, "_last_cloud_action", None)
                if self.retry is not None:
                    text += f"\n{RETRY_HINT}"
            log.info("%s: %s", type(error).__name__, error)
            app.notify(text, title=title, severity="error", timeout=12, markup=False)
        else:
            log.error("unexpected error in the TUI", exc_info=error)
            path = getattr(getattr(app, "settings", None), "log_path", "the log file")
            message = f"Something went wrong ({type(error).__name__}). Details are in {path}."
            app.notify(message, title="Unexpected error", severity="error", timeout=12, markup=False)
        refresh = getattr(self, "refresh_bindings", None)
        if refresh:
            refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.report_error(event.worker.error)
        after = getattr(self, "after_worker", None)
        if after is not None:
            after(event)
