"""Edit Notifications: who gets the license notices and when; a test message on every channel.

Recipients and thresholds edited here are kept in the controller's store, over the settings file
(which may be managed by configuration management and stays untouched); "Use Settings File" drops
them. Secrets (SMTP password, webhook token) stay in the settings file or the environment: this
screen never shows or asks for them.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Button, Static

from core.service import LicenseService
from tui.screens.actions import ActionSpec, bindings
from tui.screens.base import ServiceScreen, title_text
from tui.widgets.footer import SteadyFooter
from tui.widgets.styles import YELLOW, plain
from tui.widgets.value_dialog import ValueDialog

SOURCES = {
    "store": "set here",
    "settings": "settings file",
    "expiry_warning_days": "default",
}
WHERE_SAVED = (
    "Recipients and thresholds set here are kept in this controller's store and win over the settings "
    "file; Use Settings File (u) drops them. Secrets stay in the settings file or the environment "
    "(SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD, SMARTLIC_NOTIFICATIONS__WEBHOOK__TOKEN): never stored "
    "or shown here."
)


def _problem(parse):
    def problem(text: str) -> str | None:
        try:
            parse(text)
        except ValueError as exc:
            return str(exc)
        return None

    return problem


ACTIONS = [
    ActionSpec("notifications.recipients", "e", "edit_recipients", "Edit Recipients", "Recipients", ""),
    ActionSpec("notifications.thresholds", "h", "edit_thresholds", "Edit Thresholds", "Thresholds", ""),
    ActionSpec("notifications.test", "t", "send_test", "Send Test Message", "Test Message", ""),
    ActionSpec("notifications.reset", "u", "use_settings", "Use Settings File", "Use Settings File", ""),
    ActionSpec("notifications.back", "b,escape", "back", "BACK", "BACK", ""),
]
"""Keys, footer and buttons of the screen, from one table."""


class NotificationsScreen(ServiceScreen):
    BINDINGS = bindings(ACTIONS)

    def __init__(self) -> None:
        super().__init__(id="notifications")

    @property
    def base(self):
        return self.smartlic.settings.notifications

    def compose(self) -> ComposeResult:
        yield Static(title_text("Edit Notifications"), classes="screen-title")
        yield Static(id="notify-config")
        yield Static(id="notify-problem", classes="problem")
        yield Static(Text(WHERE_SAVED, style="dim"), id="notify-secrets")
        with Grid(classes="actions"):
            for spec in ACTIONS:
                yield Button(f"{spec.title} ({spec.key[0]})", id=spec.action, compact=True)
        yield SteadyFooter()

    def refresh_data(self) -> None:
        config = self.guarded(self.service.notification_config, self.base)
        if config is None:
            return
        self.config = config
        text = Text()
        text.append("Recipients  ", style="bold")
        text.append(plain(", ".join(config.email_to) or "(none)"))
        text.append(f"  ({SOURCES[config.email_to_source]})\n", style="dim")
        text.append("Thresholds  ", style="bold")
        days = ", ".join(str(d) for d in config.thresholds) or "(none)"
        text.append(f"{days} days before expiry, and on expiry")
        text.append(f"  ({SOURCES[config.thresholds_source]})\n", style="dim")
        text.append("Mail server ", style="bold")
        text.append(plain(config.mail_server or "(not set)"))
        text.append("\nWebhook     ", style="bold")
        text.append(plain(config.webhook_url or "(not set)"))
        text.append("\nChannels    ", style="bold")
        text.append(", ".join(config.channels) or "none")
        text.append("\n`smartlic notify` (cron or the systemd timer) sends each notice once.\n", style="dim")
        self.query_one("#notify-config", Static).update(text)
        problem = self.query_one("#notify-problem", Static)
        problem.update(Text(config.problem or "", style=YELLOW))
        problem.display = bool(config.problem)

    def _save(self, email_to: list[str] | None, thresholds: list[int] | None, done: str) -> None:
        if self.attempt(self.service.set_notification_overrides, self.base, email_to, thresholds):
            self.refresh_data()
            self.notify(done, timeout=3)

    def action_edit_recipients(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                addresses = LicenseService.parse_recipients(text)
                self._save(addresses, self.config.thresholds, "Recipients saved.")

        self.app.push_screen(
            ValueDialog(
                "Recipients of the notices (e-mail)",
                ", ".join(self.config.email_to),
                problem=_problem(LicenseService.parse_recipients),
                placeholder="e.g. facility@example.net, ops@example.net",
                help_text="Enter saves · Esc cancels · commas between addresses",
            ),
            done,
        )

    def action_edit_thresholds(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                days = LicenseService.parse_thresholds(text)
                self._save(self.config.email_to, days, "Thresholds saved.")

        self.app.push_screen(
            ValueDialog(
                "Days before expiry to send a notice",
                ", ".join(str(d) for d in self.config.thresholds),
                problem=_problem(LicenseService.parse_thresholds),
                placeholder="e.g. 60, 30, 7",
                help_text="Enter saves · Esc cancels · a notice on expiry is always sent",
            ),
            done,
        )

    def action_use_settings(self) -> None:
        self._save(None, None, "Recipients and thresholds come from the settings file again.")

    def action_send_test(self) -> None:
        self.notify("Sending a test message…", timeout=3)
        self.send_test()

    @work(thread=True, exclusive=True, exit_on_error=False, group="notify-test")
    def send_test(self) -> None:
        report = self.service.notify_test(self.base)
        self.app.call_from_thread(self._tested, report)

    def _tested(self, report) -> None:
        for outcome in report.outcomes:
            if outcome.error:
                line = f"{outcome.channel}: {outcome.error}"
                self.notify(line, title="Test message", severity="error", markup=False)
            else:
                self.notify(f"Test message sent by {outcome.channel}.", title="Test message", markup=False)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        self.call_later(self.run_action, event.button.id or "back")

    def action_back(self) -> None:
        self.app.pop_screen()
