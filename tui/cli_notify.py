"""`smartlic notify`: send the notices that are due (for cron or a systemd timer), once each."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from tui.cli_output import emit_json, error_line, say

if TYPE_CHECKING:
    from core.service import LicenseService

log = logging.getLogger("smartlic.notify")


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "notify", parents=[common], help="send license notices by e-mail/webhook, each once (cron, systemd)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
    mode.add_argument("--test", action="store_true", help="send one test message on every channel now")


async def run(service: LicenseService, args: argparse.Namespace) -> int:
    settings = args.settings.notifications
    report = service.notify_test(settings) if args.test else service.notify(settings, dry_run=args.dry_run)
    for outcome in report.outcomes:
        if outcome.error:
            log.warning("notify: %s failed: %s", outcome.channel, outcome.error)
            error_line(f"{outcome.channel}: {outcome.error}")
        elif outcome.sent:
            log.info("notify: sent %s by %s", ", ".join(outcome.sent), outcome.channel)
    if args.json:
        emit_json({**report.model_dump(mode="json"), "exit_code": report.exit_code})
        return report.exit_code
    if report.test:
        for outcome in report.outcomes:
            if not outcome.error:
                say(f"sent a test message by {outcome.channel}")
    elif report.dry_run:
        if not report.due:
            say("Nothing new to send.")
        for notice in report.due:
            by = [channel for channel, keys in report.due_by_channel.items() if notice.key in keys]
            say(f"would send by {', '.join(by)}: {notice.text}")
    else:
        for outcome in report.outcomes:
            if outcome.sent and not outcome.error:
                say(f"sent {len(outcome.sent)} notice(s) by {outcome.channel}")
        if not report.due:
            say("Nothing new to send.")
    return report.exit_code
