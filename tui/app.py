"""The smartlic TUI: the Textual app, its global keys and the command palette."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from core.models import SegmentController
from core.sanitize import clean
from core.service import LicenseService
from core.settings import Settings
from tui.hangup import CHECK_EVERY, terminal_gone, watch_fd
from tui.keys import KeysStayOnTheirScreen
from tui.screens.actions import CLOSE, HOME_ACTIONS, MORE_ACTIONS
from tui.screens.base import ServiceScreen
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.widgets.errors import ErrorHandling

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tui.screens.help import Section

log = logging.getLogger("smartlic.tui")


class SmartlicCommands(Provider):
    """The command palette: the seed's action names, from the same table as the key bindings."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app: SmartlicApp = self.app  # type: ignore[assignment]
        rows: list[tuple[str, str, Callable[[], object]]] = [
            (spec.title, spec.help, partial(app.run_home_action, spec.action))
            for spec in [*HOME_ACTIONS, *MORE_ACTIONS]
        ]
        rows.append(("Refresh", "Re-read the controller's state (or retry the cloud)", app.action_refresh))
        rows.append(("Help: keys", "Every key of every screen", app.action_help))
        rows.append((CLOSE.title, CLOSE.help, app.action_request_quit))
        return rows

    async def discover(self) -> Hits:
        for title, help_text, command in self._commands():
            yield DiscoveryHit(title, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, command in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), command, text=title, help=help_text)


class SmartlicApp(KeysStayOnTheirScreen, ErrorHandling, App[int]):
    TITLE = "smartlic"
    CSS_PATH = "app.tcss"
    COMMANDS = {SmartlicCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (80, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", id="quit", show=False, priority=True),
        # q closes from every screen and dialog (an Input takes a typed q first); Manage Licenses
        # shows it in its footer as Close, under the same id so one keymap entry moves both.
        Binding(CLOSE.key, "request_quit", CLOSE.footer, id=CLOSE.id, show=False),
        Binding("question_mark,f1", "help", "Help", id="help"),
    ]

    def __init__(self, service: LicenseService, settings: Settings) -> None:
        super().__init__()
        self.service = service
        self.settings = settings
        self.crash: Exception | None = None
        """The first exception that no handler caught (the app exits on it)."""
        if settings.keys:
            self.set_keymap(settings.keys)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        # Every toast of every screen comes here; toasts carry cloud reasons and problem details.
        super().notify(
            clean(message, multiline=True),
            title=clean(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def on_mount(self) -> None:
        self.push_screen(ManageLicensesScreen())
        if not self.is_headless:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hang_up)
            terminal = watch_fd()
            if terminal is not None:
                self.set_interval(CHECK_EVERY, partial(self._check_terminal, terminal))
        if self.service.journal():
            self.resume()

    def _handle_exception(self, error: Exception) -> None:
        """An exception no handler caught: the traceback goes to the log file and the app exits
        with code 1; ``run_app`` then prints one line (Textual's own hook: its default prints
        the whole traceback, with locals, to the terminal)."""
        log.critical("unexpected error: smartlic stops", exc_info=error)
        super()._handle_exception(error)
        self._exit_renderables.clear()
        self.crash = self.crash or error

    def _hang_up(self) -> None:
        log.info("terminal went away (SIGHUP): exiting")
        self.exit(0)

    def _check_terminal(self, fd: int) -> None:
        if terminal_gone(fd):
            log.info("terminal went away (hung up, no SIGHUP): exiting")
            self.exit(0)

    @work(exclusive=True, exit_on_error=False, group="resume")
    async def resume(self) -> None:
        self.notify("Finishing an interrupted operation with the cloud…", timeout=4)
        self.remember_retry(self.resume)
        report = await self.service.resume_if_needed()
        if report is None:
            return
        self.notify(
            f"Interrupted operations finished: {len(report.healed_operations)}; "
            f"licenses adopted {len(report.adopted)}, removed {len(report.removed)}, "
            f"returned {len(report.returned)}."
            + "".join(f"\nNot finished on {name}: {why}" for name, why in report.failed.items()),
            title="Resumed",
            severity="warning" if report.failed else "information",
            markup=False,
            timeout=8,
        )
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh:
            refresh()

    # --- navigation ------------------------------------------------------------------------

    def home(self) -> ManageLicensesScreen:
        for screen in self.screen_stack:
            if isinstance(screen, ManageLicensesScreen):
                return screen
        raise LookupError("Manage Licenses is not open")

    def run_home_action(self, action: str) -> None:
        """Run a Manage Licenses action from anywhere (the command palette): go home first."""
        screen = self.screen
        if _has_unsaved(screen):
            screen.leave(lambda: self.run_home_action(action))  # type: ignore[attr-defined]
            return
        home = self.home()
        while self.screen is not home and len(self.screen_stack) > 2:
            self.pop_screen()
        self.call_after_refresh(home.run_action, action)

    def choose_segment(
        self,
        purpose: str,
        segments: list[SegmentController],
        default: str | None,
        then: Callable[[str], object],
    ) -> None:
        if not segments:
            self.notify("There is no segment controller.", severity="warning")
        elif len(segments) == 1:
            then(segments[0].install_code)
        else:
            from tui.widgets.picker import SegmentPicker

            self.push_screen(
                SegmentPicker(purpose, segments, default),
                # textual calls any callback and awaits an awaitable result (then's push_screen);
                # its type allows only callbacks returning None.
                lambda code: then(code) if code else None,  # type: ignore[arg-type]
            )

    # --- global actions --------------------------------------------------------------------

    def action_request_quit(self) -> None:
        # A screen with unsaved edits may lie under a dialog: it asks first, wherever it is.
        unsaved = next((s for s in reversed(self.screen_stack) if _has_unsaved(s)), None)
        if unsaved is not None:
            unsaved.leave(lambda: self.exit(0))
        else:
            self.exit(0)

    def action_refresh(self) -> None:
        action = getattr(self.screen, "action_refresh_or_retry", None)
        if action:
            action()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[Section]:
        from tui.screens.customer_accounts import CustomerAccountsScreen
        from tui.screens.devices import DevicesScreen
        from tui.screens.download import DownloadScreen
        from tui.screens.notifications import NotificationsScreen

        def rows(bindings: list) -> list[tuple[str, str]]:
            out = []
            for binding in bindings:
                if not isinstance(binding, Binding):
                    continue
                keys = self._keymap.get(binding.id, binding.key) if binding.id else binding.key
                shown = ", ".join(self.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))
                what = binding.description or binding.action
                out.append((shown, f"{what}  [id {binding.id}]" if binding.id else what))
            return out

        keymap = self._keymap
        home = [
            (keymap.get(spec.id, spec.key), f"{spec.title} — {spec.help}  [id {spec.id}]")
            for spec in [*HOME_ACTIONS, *MORE_ACTIONS, CLOSE]
        ]
        home += [("e, Enter", "Edit the Note of the highlighted license")]
        return [
            ("Manage Licenses", home + rows(ServiceScreen.BINDINGS)),
            ("Manage Customer Accounts", rows(CustomerAccountsScreen.BINDINGS)),
            ("Download Licenses from the Cloud", rows(DownloadScreen.BINDINGS)),
            ("Transfer to Cloud (dialog)", [("y", "TRANSFER LICENSES"), ("n, Esc, Enter", "Cancel")]),
            ("Offline Return (dialog)", [("y", "RETURN LICENSES"), ("n, Esc, Enter", "Cancel")]),
            (
                "File path (Add License, offline request and return)",
                [
                    ("Tab, →", "Accept the completion from the filesystem"),
                    ("ctrl+t, F2", "Browse folders; Enter on a file takes it"),
                    ("Enter", "Go ahead with the typed path"),
                    ("Esc", "Cancel; nothing is done"),
                ],
            ),
            ("Devices", rows(DevicesScreen.BINDINGS)),
            ("Edit Notifications", rows(NotificationsScreen.BINDINGS)),
            (
                "Everywhere",
                [
                    *rows(self.BINDINGS),
                    ("ctrl+p", "Command palette: every action by name"),
                    ("tab, shift+tab", "Move between the table and the buttons"),
                ],
            ),
        ]


def _has_unsaved(screen: object) -> bool:
    """Manage Customer Accounts with unsaved edits: leaving it must ask first."""
    return bool(getattr(screen, "has_unsaved", False))


def crash_line(error: BaseException, log_path: object) -> str:
    return f"smartlic stopped on an unexpected error ({type(error).__name__}); the details are in {log_path}."


def run_app(app: SmartlicApp, **options: Any) -> int:
    """Run the app; the process's exit code: 1 after an unexpected error, else what it exited with."""
    result = app.run(**options)
    if app.crash is not None:
        print(crash_line(app.crash, app.settings.log_path), file=sys.stderr)
    return app.return_code or result or 0


def run_tui(settings: Settings) -> int:
    from core.wiring import build_service

    service = build_service(settings, face="tui")
    app = SmartlicApp(service, settings)
    try:
        return run_app(app)
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(service.aclose())
