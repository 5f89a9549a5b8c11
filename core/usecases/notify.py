"""Notifications: the effective recipients and thresholds (settings, overridden from the TUI), the
notices due on each channel, and a run that sends them and remembers what it sent."""

from __future__ import annotations

from typing import Literal

from core.errors import ConfigError, InvalidInput, Refused, SmartlicError
from core.models import Frozen
from core.notify import deliver, due
from core.notify.config import NotificationSettings
from core.notify.due import DueNotice, DuePlan
from core.notify.inputs import address_problem, threshold_problem
from core.notify.message import Message, notices_message, test_message
from core.usecases import reads
from core.usecases.context import Context
from core.usecases.status import expiry_notices, shortfall_notice

Source = Literal["store", "settings", "expiry_warning_days"]
SECRETS_HINT = (
    "The SMTP password and the webhook token stay in the settings file or the environment "
    "(notifications.smtp.password / SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD, notifications.webhook.token "
    "/ SMARTLIC_NOTIFICATIONS__WEBHOOK__TOKEN); smartlic never stores or shows them."
)


class NotificationConfig(Frozen):
    """What `smartlic notify` uses, and where each value comes from."""

    email_to: list[str]
    email_to_source: Source
    thresholds: list[int]
    thresholds_source: Source
    channels: list[str]
    problem: str | None
    mail_server: str | None
    webhook_url: str | None
    secrets_hint: str = SECRETS_HINT


class ChannelOutcome(Frozen):
    channel: str
    sent: list[str]
    error: str | None = None
    code: str | None = None
    exit_code: int = 0


class NotifyReport(Frozen):
    dry_run: bool = False
    test: bool = False
    channels: list[str]
    due: list[DueNotice]
    due_by_channel: dict[str, list[str]] = {}
    outcomes: list[ChannelOutcome] = []
    forgotten: list[str] = []
    changed: bool

    @property
    def exit_code(self) -> int:
        return max((o.exit_code for o in self.outcomes), default=0)


def effective(ctx: Context, base: NotificationSettings) -> tuple[NotificationSettings, Source, Source]:
    with ctx.store.read() as tx:
        overrides = tx.notify_overrides()
    email_to = overrides.get("email_to", base.email_to)
    thresholds = overrides.get("thresholds", base.thresholds)
    to_source: Source = "store" if "email_to" in overrides else "settings"
    days_source: Source = (
        "store"
        if "thresholds" in overrides
        else "settings"
        if base.thresholds is not None
        else "expiry_warning_days"
    )
    if thresholds is None:
        thresholds = list(ctx.warning_days)
    settings = base.model_copy(update={"email_to": list(email_to), "thresholds": list(thresholds)})
    return settings, to_source, days_source


def config(ctx: Context, base: NotificationSettings) -> NotificationConfig:
    from core.diagnostics import mask_url

    settings, to_source, days_source = effective(ctx, base)
    smtp = settings.smtp
    return NotificationConfig(
        email_to=settings.email_to,
        email_to_source=to_source,
        thresholds=settings.thresholds or [],
        thresholds_source=days_source,
        channels=deliver.channels(settings),
        problem=deliver.configuration_problem(settings),
        mail_server=f"{smtp.host}:{smtp.effective_port} ({smtp.security.value})" if smtp.host else None,
        webhook_url=mask_url(settings.webhook.url),
    )


def set_overrides(
    ctx: Context, base: NotificationSettings, email_to: list[str] | None, thresholds: list[int] | None
) -> NotificationConfig:
    """Keep these recipients and thresholds in the store, over the settings; None: the settings' again."""
    problems = [address_problem(a) for a in email_to or []] + [threshold_problem(d) for d in thresholds or []]
    problem = next((p for p in problems if p), None)
    if problem:
        raise InvalidInput(problem[0].upper() + problem[1:] + ".", code="invalid_notification_setting")
    if email_to is not None:
        email_to = list(dict.fromkeys(email_to))
    if thresholds is not None:
        thresholds = sorted(set(thresholds), reverse=True)
    with ctx.store.write() as tx:
        tx.set_notify_override("email_to", email_to)
        tx.set_notify_override("thresholds", thresholds)
        ctx.audit(
            tx,
            "set-notifications",
            None,
            {"email_to": email_to, "thresholds": thresholds},
            "ok",
        )
    return config(ctx, base)


def plan(ctx: Context, settings: NotificationSettings) -> tuple[list[DueNotice], DuePlan]:
    """Every notice that is true now at the thresholds, and what of it each channel has not had yet."""
    today = ctx.effective_now()[0].date()
    thresholds = settings.thresholds or []
    current: list[DueNotice] = []
    summaries = reads.summaries(ctx)
    with ctx.store.read() as tx:
        for summary in summaries:
            seg = summary.segment
            licenses = tx.licenses(seg.install_code)
            texts = {
                n.license_id: n for n in expiry_notices(seg, licenses, today, thresholds) if n.license_id
            }
            current += due.expiry_notices(seg, licenses, today, thresholds, texts)
            shortfall = due.shortfall_notice(summary, shortfall_notice(summary))
            if shortfall:
                current.append(shortfall)
        sent = tx.notices_sent()
    return current, due.plan(current, sent, deliver.channels(settings))


def notify(ctx: Context, base: NotificationSettings, *, dry_run: bool = False) -> NotifyReport:
    """Send each channel the notices it has not had; remember per channel what went out."""
    settings = _configured(ctx, base)
    _, todo = plan(ctx, settings)
    channels = list(todo.due)
    wanted = _union(todo)
    by_channel = {channel: [n.key for n in notices] for channel, notices in todo.due.items()}
    report = NotifyReport(
        dry_run=dry_run, channels=channels, due=wanted, due_by_channel=by_channel, changed=False
    )
    if dry_run:
        return report.model_copy(update={"forgotten": todo.forget})
    if ctx.store.read_only and (todo.any_due or todo.forget):
        raise Refused(
            f"{ctx.store.safe_mode_reason} Notices are not sent: smartlic could not remember them.",
            code="store_read_only",
        )
    host, now = deliver.host_name(), ctx.clock()
    outcomes: list[ChannelOutcome] = []
    for channel, notices in todo.due.items():
        if not notices:
            outcomes.append(ChannelOutcome(channel=channel, sent=[]))
            continue
        outcome = _send(channel, settings, notices_message(notices, host, now), [n.key for n in notices])
        if not outcome.error:
            with ctx.store.write() as tx:
                tx.mark_notices_sent(outcome.sent, channel, now)
                ctx.audit(tx, "notify", None, {"channel": channel, "notices": outcome.sent}, "ok")
        outcomes.append(outcome)
    if todo.forget:
        with ctx.store.write() as tx:
            tx.forget_notices(todo.forget)
    changed = any(o.sent and not o.error for o in outcomes) or bool(todo.forget)
    return report.model_copy(update={"outcomes": outcomes, "forgotten": todo.forget, "changed": changed})


def notify_test(ctx: Context, base: NotificationSettings) -> NotifyReport:
    """One test message on every channel now; nothing is remembered."""
    settings = _configured(ctx, base)
    message = test_message(deliver.host_name(), ctx.clock())
    channels = deliver.channels(settings)
    outcomes = [_send(channel, settings, message, ["test"]) for channel in channels]
    return NotifyReport(test=True, channels=channels, due=[], outcomes=outcomes, changed=False)


def _configured(ctx: Context, base: NotificationSettings) -> NotificationSettings:
    settings, _, _ = effective(ctx, base)
    problem = deliver.configuration_problem(settings)
    if problem:
        raise ConfigError(problem, code="notifications_not_configured")
    return settings


def _send(channel: str, settings: NotificationSettings, message: Message, keys: list[str]) -> ChannelOutcome:
    try:
        deliver.send(channel, settings, message)
    except SmartlicError as exc:
        return ChannelOutcome(
            channel=channel, sent=[], error=str(exc), code=exc.code, exit_code=exc.exit_code
        )
    return ChannelOutcome(channel=channel, sent=keys)


def _union(todo: DuePlan) -> list[DueNotice]:
    seen: dict[str, DueNotice] = {}
    for notices in todo.due.values():
        for notice in notices:
            seen.setdefault(notice.key, notice)
    return list(seen.values())
