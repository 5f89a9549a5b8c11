"""Edit Notifications in the TUI: reached from Manage Licenses by key and button; recipients and
thresholds saved to the store; a test message sent in a worker, its error shown as one line."""

from __future__ import annotations

from textual.widgets import Input

from core.notify.config import NotificationSettings, WebhookSettings
from tests.notify.servers import free_port, webhook_receiver
from tests.support.tui import settle, static_text, toasts, wait_for
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.screens.notifications import NotificationsScreen
from tui.widgets.value_dialog import ValueDialog

SIZE = (100, 30)


async def type_over(pilot, text: str) -> None:
    """Replace the open edit dialog's text and press Enter."""
    await pilot.pause()
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


def use(app, notifications: NotificationSettings) -> None:
    app.settings = app.settings.model_copy(update={"notifications": notifications})


async def test_edit_recipients_and_thresholds(app) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NotificationsScreen)
        config = static_text(pilot, "#notify-config")
        assert "60, 30, 7 days before expiry" in config and "(default)" in config
        assert "SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD" in static_text(pilot, "#notify-secrets")

        await pilot.press("e", *"ops@example.net, not-an-address", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ValueDialog), "a bad address is not accepted"
        assert "'not-an-address' is not an e-mail address" in static_text(pilot, "#edit-problem")
        await type_over(pilot, "ops@example.net, facility@example.net")
        assert isinstance(app.screen, NotificationsScreen)
        assert "ops@example.net, facility@example.net" in static_text(pilot, "#notify-config")

        await pilot.press("h")
        await type_over(pilot, "14 45")
        config = app.service.notification_config(app.settings.notifications)
        assert config.email_to == ["ops@example.net", "facility@example.net"]
        assert (config.thresholds, config.thresholds_source) == ([45, 14], "store")

        await pilot.press("u")
        await pilot.pause()
        assert app.service.notification_config(app.settings.notifications).email_to == []
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)


async def test_button_opens_it_and_test_message_goes_out(app) -> None:
    with webhook_receiver() as hook:
        use(app, NotificationSettings(webhook=WebhookSettings(url=hook.url)))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            await pilot.click("#do-notifications")
            await pilot.pause()
            assert isinstance(app.screen, NotificationsScreen)
            await pilot.press("t")
            await wait_for(pilot, lambda: "Test message sent by webhook" in toasts(pilot))
        assert hook.received[0][1]["test"] is True


async def test_test_message_error_is_one_line(app) -> None:
    use(app, NotificationSettings(webhook=WebhookSettings(url=f"http://127.0.0.1:{free_port()}/x")))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("t")
        await wait_for(pilot, lambda: "Cannot reach the webhook" in toasts(pilot))
        line = next(t for t in toasts(pilot).splitlines() if "Cannot reach the webhook" in t)
        assert line.startswith("webhook: Cannot reach the webhook http://127.0.0.1:")
