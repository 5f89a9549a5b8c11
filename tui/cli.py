"""The `smartlic` command line: the TUI by default, and subcommands for scripts.

Exit codes: 0 ok, 1 operation refused or failed, 2 usage or configuration error,
3 cloud unreachable. Errors are one line on stderr; `--debug` adds the traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING
from uuid import UUID

from core import safe_files
from core.errors import InvalidInput, SmartlicError
from core.service import LicenseService
from core.settings import Settings, load_settings
from core.views import Failure, Plan
from tui import cli_notify
from tui.cli_output import emit_json, error_line, say, table

if TYPE_CHECKING:
    import argparse

FORCE_HELP = "replace FILE if it is an existing regular file (never a link, device or folder)"
Handler = Callable[[LicenseService, "argparse.Namespace"], Awaitable[int]]
HANDLERS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[name] = func
        return func

    return register


# --- commands --------------------------------------------------------------------------------


@command("licenses")
async def _licenses(service: LicenseService, args: argparse.Namespace) -> int:
    rows = service.license_rows(args.segment)
    if args.json:
        emit_json({"licenses": rows})
    elif not rows:
        say("No licenses are active. Set a Customer ID, then activate licenses from the cloud.")
    else:
        say(
            table(
                ["Segment Controller", "Description", "Status", "Activation Date", "License ID", "Note"],
                [
                    [r.segment_name, r.description, r.status, r.activated_at.date(), r.license_id, r.note]
                    for r in rows
                ],
            )
        )
    return 0


@command("accounts")
async def _accounts(service: LicenseService, args: argparse.Namespace) -> int:
    if args.action == "set":
        if not args.segment or args.customer_id is None:
            raise InvalidInput("Usage: smartlic accounts set SEGMENT CUSTOMER_ID [--expect OLD]")
        plan = service.plan_customer_id(args.segment, args.customer_id)
        if args.check:
            return _show_plan(args, plan)
        segment = service.set_customer_id(args.segment, args.customer_id, expected=args.expect)
        if args.json:
            emit_json({"segment": segment, "changed": plan.changed})
        else:
            now = "is now" if plan.changed else "was already"
            say(f"{segment.name}: Customer ID {now} {segment.customer_id or '(none)'}.")
        return 0
    segments = service.segments()
    if args.json:
        emit_json({"segments": segments})
    else:
        say(
            table(
                ["Segment Controller", "Install Code", "Customer ID"],
                [[s.name, s.install_code, s.customer_id or "-"] for s in segments],
            )
        )
    return 0


@command("note")
async def _note(service: LicenseService, args: argparse.Namespace) -> int:
    license_id = _uuid(args.license_id)
    service.set_note(license_id, args.text, expected=args.expect)
    if args.json:
        emit_json({"license_id": str(license_id), "note": args.text})
    else:
        say(f"Note of {license_id} saved.")
    return 0


@command("cloud-licenses")
async def _cloud_licenses(service: LicenseService, args: argparse.Namespace) -> int:
    offer = await service.cloud_licenses(args.segment)
    if args.json:
        emit_json(offer)
    elif not offer.licenses:
        say(offer.empty_reason or "The cloud holds no licenses for this Customer ID.")
    else:
        say(
            table(
                ["Segment Controller", "License ID", "Transfer Date", "Description"],
                [
                    [offer.segment.install_code, lic.license_id, lic.transfer_date or "-", lic.description]
                    for lic in offer.licenses
                ],
            )
        )
    return 0


@command("activate")
async def _activate(service: LicenseService, args: argparse.Namespace) -> int:
    ids = [_uuid(text) for text in args.license_ids]
    if args.check:
        return _show_plan(args, await service.plan_activate(args.segment, ids))
    result = await service.activate(args.segment, ids, progress=_progress(args))
    if args.json:
        emit_json(result)
    else:
        _say_each("activated", result.activated)
        _say_each("already", result.already_active, "(was active already)")
        _say_failures(result.failed)
    return 1 if result.failed else 0


@command("transfer")
async def _transfer(service: LicenseService, args: argparse.Namespace) -> int:
    if args.check:
        return _show_plan(args, service.plan_transfer(args.segment))
    if not args.yes:
        rows = service.license_rows(args.segment)
        lines = [f"  {r.license_id}  {r.description}" for r in rows]
        raise InvalidInput(
            "Transfer to Cloud returns ALL licenses of the segment; its devices become unlicensed "
            "(purple) and nothing talks to them until new licenses are activated and they are "
            "provisioned again. Add --yes to confirm.",
            hint=("Licenses that would go back:\n" + "\n".join(lines)) if lines else None,
        )
    result = await service.transfer(args.segment, progress=_progress(args))
    if args.json:
        emit_json(result)
    else:
        for license_id in result.returned:
            say(f"returned   {license_id}")
        _say_failures(result.failed)
        say(f"{result.devices_unlicensed} device(s) are now unlicensed.")
    return 1 if result.failed else 0


@command("devices")
async def _devices(service: LicenseService, args: argparse.Namespace) -> int:
    devices = service.devices(args.segment)
    if args.json:
        emit_json({"devices": devices})
    else:
        names = {s.install_code: s.name for s in service.segments()}
        say(
            table(
                ["Segment Controller", "Device", "Protocol", "Name", "Licensed", "State"],
                [
                    [
                        names.get(d.install_code),
                        d.device_id,
                        d.protocol.value,
                        d.name,
                        "yes" if d.licensed else "no",
                        d.state.value,
                    ]
                    for d in devices
                ],
            )
        )
    return 0


@command("provision")
async def _provision(service: LicenseService, args: argparse.Namespace) -> int:
    if args.all == bool(args.device_ids):
        raise InvalidInput("Name the devices to provision, or give --all (not both).")
    if args.check:
        return _show_plan(args, service.plan_provision(args.segment, None if args.all else args.device_ids))
    result = service.provision(args.segment, None if args.all else args.device_ids)
    if args.json:
        emit_json(result)
    else:
        say(f"provisioned {len(result.provisioned)} device(s)")
        for device_id, reason in result.refused.items():
            say(f"REFUSED    {device_id}: {reason}")
    return 1 if result.refused else 0


@command("sync")
async def _sync(service: LicenseService, args: argparse.Namespace) -> int:
    if args.check:
        return _show_plan(args, await service.plan_sync())
    report = await service.sync(progress=_progress(args))
    if args.json:
        emit_json(report)
    else:
        say(
            f"healed {len(report.healed_operations)} operation(s); adopted {len(report.adopted)}, "
            f"removed {len(report.removed)}, returned {len(report.returned)} license(s)"
        )
        if report.credited:
            say(f"credited   {len(report.credited)} license(s) returned offline: the portal took the receipt")
        for name, why in report.skipped.items():
            say(f"skipped    {name}: {why}")
        for name, why in report.failed.items():
            say(f"FAILED     {name}: {why}")
        if report.audit_warning:
            say(f"WARNING    {report.audit_warning}")
    return report.exit_code


@command("status")
async def _status(service: LicenseService, args: argparse.Namespace) -> int:
    report = service.status()
    if args.json:
        emit_json(report)
    else:
        say(
            table(
                ["Segment Controller", "Capacity", "Licensed", "Unlicensed", "Provisioned", "Maintenance"],
                [
                    [
                        s.segment.name,
                        s.capacity,
                        f"{s.licensed}/{s.capacity}",
                        s.unlicensed,
                        s.provisioned,
                        f"{s.maintenance_covered} ({s.maintenance_shortfall} short)"
                        if s.maintenance_shortfall
                        else s.maintenance_covered,
                    ]
                    for s in report.segments
                ],
            )
        )
        for notice in report.warnings:
            say(f"{notice.level.value}: {notice.text}")
    return 1 if report.alert else 0


@command("trust")
async def _trust(service: LicenseService, args: argparse.Namespace) -> int:
    if args.action == "list":
        keys = service.trust_list()
        if args.json:
            emit_json({"keys": [k.model_dump(mode="json") for k in keys]})
        else:
            say(table(["KEY ID", "SOURCE"], [[k.key_id, k.source] for k in keys]))
        return 0
    if not args.target:
        raise InvalidInput(
            f"Usage: smartlic trust {args.action} {'KEY_ID' if args.action == 'remove' else 'KEYFILE'}."
        )
    if args.action == "remove":
        service.trust_remove(args.target)
        if args.json:
            emit_json({"removed": args.target, "changed": True})
        else:
            say(f"no longer trusted: key {args.target}")
        return 0
    pem = safe_files.read_bytes(Path(args.target), limit=safe_files.KEY_LIMIT, what="public key file")
    plan = service.plan_trust_add(pem)
    if args.check:
        return _show_plan(args, plan)
    key_id = service.trust_add(pem)
    if args.json:
        emit_json({"key_id": key_id, "changed": plan.changed})
    else:
        say(f"trusted key {key_id}")
    return 0


@command("offline")
async def _offline(service: LicenseService, args: argparse.Namespace) -> int:
    if args.action == "cancel-return":
        cancelled = await service.cancel_return(args.segment)
        if args.json:
            emit_json(cancelled)
        else:
            _say_each("restored", cancelled.restored)
            _say_each(
                "credited",
                cancelled.credited,
                "(the portal credited the receipt first: it stays in the cloud)",
            )
        return 0
    if not args.output:
        raise InvalidInput(f"Usage: smartlic offline {args.action} SEGMENT -o FILE")
    path = Path(args.output)
    # Before anything changes: `offline return -o FOLDER` must not take the licenses off first.
    safe_files.check_writable_target(path, force=args.force)
    if args.action == "request":
        request = service.offline_request(args.segment, path, args.force)
        if args.json:
            emit_json({"file": str(path), "request": request, "changed": True})
        else:
            say(f"Wrote offline activation request {request.request_id} to {path}.")
            say("Take it to the License Customer Portal; load its answer with `smartlic add-license FILE`.")
        return 0
    receipt = service.offline_return(args.segment, path, args.force)
    if args.json:
        emit_json({"file": str(path), "receipt": receipt, "changed": True})
    else:
        say(f"Took {len(receipt.license_ids)} license(s) off {args.segment} and wrote the receipt to {path}.")
        say("Give it to the License Customer Portal to credit the licenses back.")
    return 0


@command("add-license")
async def _add_license(service: LicenseService, args: argparse.Namespace) -> int:
    result = service.add_license_file(Path(args.file))
    if args.json:
        emit_json(result)
    else:
        for license_id in result.added:
            say(f"added      {license_id}")
        say(f"{result.segment.name}: {result.devices_relicensed} device(s) changed state.")
    return 0


@command("audit")
async def _audit(service: LicenseService, args: argparse.Namespace) -> int:
    if args.action == "verify":
        check = await service.audit_verify_with_cloud()
        if args.json:
            emit_json(check)
        else:
            say(check.message)
        return 0 if check.ok else 1
    entries = service.audit_entries(args.limit)
    if args.json:
        emit_json({"entries": entries})
    else:
        say(
            table(
                ["Seq", "When (UTC)", "Who", "Operation", "Segment", "Result"],
                [
                    [
                        e.seq,
                        f"{e.at:%Y-%m-%d %H:%M:%S}",
                        e.actor,
                        e.operation,
                        e.install_code or "-",
                        e.result,
                    ]
                    for e in entries
                ],
            )
        )
    return 0


@command("diagnostics")
async def _diagnostics(service: LicenseService, args: argparse.Namespace) -> int:
    path = service.diagnostics(Path(args.output), args.settings, args.force)
    if args.json:
        emit_json({"file": str(path)})
    else:
        say(f"Wrote the support bundle to {path} (no secrets in it).")
    return 0


@command("recover")
async def _recover(service: LicenseService, args: argparse.Namespace) -> int:
    salvage = args.salvage
    say(f"Kept the damaged store as {salvage.backup}.")
    say(f"Rebuilt {len(salvage.segments)} segment controller(s) with their install codes and Customer IDs.")
    for what in salvage.unreadable:
        say(f"lost       {what} (unreadable)")
    try:
        report = await service.sync(progress=_progress(args))
    except SmartlicError as exc:
        say(f"The cloud could not be asked for the licenses yet ({exc.message}); run `smartlic sync`.")
        return exc.exit_code
    for license_id, note in salvage.notes.items():
        with contextlib.suppress(SmartlicError):
            service.set_note(license_id, note)
    say(f"Restored {len(report.adopted)} license(s) from the cloud's records.")
    for name, why in report.failed.items():
        say(f"FAILED     {name}: {why}; run `smartlic sync` again")
    return report.exit_code


@command("demo-info")
async def _demo_info(service: LicenseService, args: argparse.Namespace) -> int:
    info = await service.demo_info()
    if args.json:
        emit_json(info)
    else:
        say(f"Demo Customer ID: {info.customer_id}")
        say("Set it with: smartlic accounts set SmartServer-A " + str(info.customer_id))
    return 0


HANDLERS["notify"] = cli_notify.run


# --- plumbing --------------------------------------------------------------------------------


def _show_plan(args: argparse.Namespace, plan: Plan) -> int:
    """A dry run's answer; it exits as the command would: 1 when something would be refused."""
    if args.json:
        emit_json(plan)
        return 1 if plan.refused else 0
    refused = [f"{what}: {why}" for what, why in plan.refused.items()]
    for label, lines in (("would", plan.changes), ("unchanged", plan.unchanged), ("REFUSED", refused)):
        for line in lines:
            say(f"{label:<10} {line}")
    if not plan.changed:
        say("Nothing would change.")
    return 1 if plan.refused else 0


async def _settle(service: LicenseService) -> None:
    """Finish an operation an earlier command left unfinished (a dropped connection, a kill), as
    the TUI does at start; when that fails too, say so and go on with the command asked for."""
    if service.read_only or not service.journal():
        return
    try:
        report = await service.resume_if_needed()
    except SmartlicError as exc:
        error_line(
            f"warning: an unfinished operation is still open ({exc.message}); `smartlic sync` retries it."
        )
        return
    if report is not None and report.failed:
        for name, why in report.failed.items():
            error_line(f"warning: {name}: an unfinished operation is still open ({why})")


def _say_each(label: str, license_ids: list[UUID], note: str = "") -> None:
    for license_id in license_ids:
        say(f"{label:<10} {license_id} {note}".rstrip())


def _say_failures(failures: list[Failure]) -> None:
    for failure in failures:
        say(f"FAILED     {failure.license_id}: {failure.reason} [{failure.code}]")


def _uuid(text: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a license ID (a UUID).") from exc


def _progress(args: argparse.Namespace) -> Callable[[str, float], None]:
    def report(message: str, fraction: float) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    return report


def _global_options(*, defaults: bool) -> argparse.ArgumentParser:
    """--json and --debug, accepted before and after the subcommand.

    Only the top-level parser sets their defaults: a subparser's default would overwrite the value
    given before the subcommand (`smartlic --json accounts`), so there they are SUPPRESSed.
    """
    import argparse

    common = argparse.ArgumentParser(add_help=False)
    default = False if defaults else argparse.SUPPRESS
    common.add_argument(
        "--json", action="store_true", default=default, help="print a stable JSON document on stdout"
    )
    common.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks of unexpected errors"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="smartlic",
        description="License management of SmartServer IoT segment controllers.",
        parents=[_global_options(defaults=True)],
    )
    common = _global_options(defaults=False)
    # The mutating commands: --check says what would change, by the same rules, and changes nothing.
    mutating = argparse.ArgumentParser(add_help=False, parents=[common])
    mutating.add_argument(
        "--check", action="store_true", help="dry run: say what would change, change nothing"
    )
    expect_help = "save only if the stored value is still OLD ('' for none); else exit 1, nothing saved"
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("tui", parents=[common], help="open the terminal UI (the default)")
    p = sub.add_parser("licenses", parents=[common], help="list active licenses")
    p.add_argument("segment", nargs="?", help="segment controller name or install code")
    p = sub.add_parser("accounts", parents=[mutating], help="list or set Customer IDs")
    p.add_argument("action", nargs="?", choices=["set"])
    p.add_argument("segment", nargs="?")
    p.add_argument("customer_id", nargs="?")
    p.add_argument("--expect", metavar="OLD", default=None, help=expect_help)
    p = sub.add_parser("note", parents=[common], help="set the Note of an active license")
    p.add_argument("license_id", metavar="LICENSE_ID")
    p.add_argument("text", metavar="NOTE", help="the new Note ('' clears it)")
    p.add_argument("--expect", metavar="OLD", default=None, help=expect_help)
    p = sub.add_parser("cloud-licenses", parents=[common], help="licenses the cloud holds for a segment")
    p.add_argument("segment")
    p = sub.add_parser("activate", parents=[mutating], help="activate licenses from the cloud")
    p.add_argument("segment")
    p.add_argument("license_ids", nargs="+", metavar="LICENSE_ID")
    p = sub.add_parser("transfer", parents=[mutating], help="return all licenses of a segment to the cloud")
    p.add_argument("segment")
    p.add_argument("--yes", action="store_true", help="confirm: devices become unlicensed")
    p = sub.add_parser("devices", parents=[common], help="list devices")
    p.add_argument("segment", nargs="?")
    p = sub.add_parser("provision", parents=[mutating], help="provision licensed devices")
    p.add_argument("segment")
    p.add_argument("device_ids", nargs="*", metavar="DEVICE_ID")
    p.add_argument("--all", action="store_true", help="every licensed, unprovisioned device")
    sub.add_parser("sync", parents=[mutating], help="finish interrupted operations, agree with the cloud")
    sub.add_parser("status", parents=[common], help="summary; exit 1 on expired or short maintenance")
    p = sub.add_parser("trust", parents=[mutating], help="list, add or remove trusted license cloud keys")
    p.add_argument("action", choices=["add", "list", "remove"])
    p.add_argument("target", nargs="?", metavar="KEYFILE|KEY_ID", help="add: a key file; remove: a key id")
    sub.add_parser("demo-info", parents=[common], help="print the demo Customer ID")
    p = sub.add_parser("offline", parents=[common], help="offline activation request or return receipt")
    p.add_argument("action", choices=["request", "return", "cancel-return"])
    p.add_argument("segment")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the file (request, return)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p = sub.add_parser("add-license", parents=[common], help="import a license response file")
    p.add_argument("file")
    p = sub.add_parser("audit", parents=[common], help="list the audit log, or verify its hash chain")
    p.add_argument("action", nargs="?", choices=["verify"])
    p.add_argument("--limit", type=int, default=None, help="only the newest N entries")
    sub.add_parser(
        "recover",
        parents=[common],
        help="rebuild a damaged store (kept as a backup): install codes, Customer IDs, keys, then sync",
    )
    p = sub.add_parser("diagnostics", parents=[common], help="write a support bundle (no secrets)")
    p.add_argument("-o", "--output", required=True, metavar="FILE")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    cli_notify.add_parser(sub, common)
    return parser


def _setup_logging(settings: Settings) -> None:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler: logging.Handler = logging.FileHandler(settings.log_path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # A log file that cannot be written (a full disk) must not print a traceback over the answer.
    logging.raiseExceptions = False
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from core.wiring import build_service, recover_store

    if args.command == "recover":
        args.salvage = recover_store(settings)
    service = build_service(settings, face="cli")
    if service.read_only:
        error_line(
            f"warning: {service.safe_mode_reason} Reads work; changes are refused. {service.safe_mode_hint}"
        )
    try:
        if args.command not in ("sync", "recover"):
            await _settle(service)
        return await HANDLERS[args.command](service, args)
    finally:
        await service.aclose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line; a bare `smartlic` (the TUI) skips building the parser."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        # What a bare `smartlic` means: the TUI, with every option at its default.
        return SimpleNamespace(command=None, debug=False, json=False)  # type: ignore[return-value]
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings()
        _setup_logging(settings)
        if args.command in (None, "tui"):
            from tui.app import run_tui

            return run_tui(settings)
        args.settings = settings
        return asyncio.run(_run(settings, args))
    except SmartlicError as exc:
        logging.getLogger("smartlic").info("refused: %s", exc)
        _report(args, exc.code, str(exc), getattr(exc, "stored", None))
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (`smartlic licenses | head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        error_line("interrupted; run `smartlic sync` to finish any operation that was under way.")
        return 130
    except Exception as exc:
        logging.getLogger("smartlic").exception("unexpected error")
        if args.debug:
            traceback.print_exc()
        _report(args, "internal_error", f"Unexpected error ({type(exc).__name__}). Run with --debug.")
        return 1


def _report(args: argparse.Namespace, code: str, message: str, stored: str | None = None) -> None:
    error_line(message)
    if getattr(args, "json", False):
        error: dict[str, str] = {"code": code, "message": message}
        if stored is not None:
            # changed_meanwhile: the value stored now, for a script that wants to retry over it.
            error["stored"] = stored
        emit_json({"error": error})


if __name__ == "__main__":
    raise SystemExit(main())
