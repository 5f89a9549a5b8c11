"""Status notices (expiry, shortfall, clock), audit verification and the support bundle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from core import rules
from core.audit_chain import verify_audit_chain
from core.models import (
    License,
    LicenseKind,
    SegmentController,
    StatusLevel,
)
from core.store import OfflineReturn
from core.usecases import audit_anchor, reads
from core.usecases.context import FAR_AHEAD, Context
from core.views import (
    AuditCheck,
    Notice,
    SegmentSummary,
    StatusReport,
)

if TYPE_CHECKING:
    from core.settings import Settings


def status(ctx: Context) -> StatusReport:
    ctx.remember_time()
    today = ctx.effective_now()[0].date()
    notices: list[Notice] = []
    summaries = reads.summaries(ctx)
    with ctx.store.read() as tx:
        unfinished = len(tx.journal())
        for summary in summaries:
            seg = summary.segment
            notices.extend(expiry_notices(seg, tx.licenses(seg.install_code), today, ctx.warning_days))
            shortfall = shortfall_notice(summary)
            if shortfall:
                notices.append(shortfall)
            if summary.next_step:
                notices.append(
                    _notice(
                        "no_capacity",
                        f"{seg.name}: {summary.next_step}",
                        segment=seg.name,
                    )
                )
    with ctx.store.read() as tx:
        returned = tx.offline_returns()
    for name, count in _returned_offline_by_segment(ctx, returned).items():
        notices.append(
            _notice(
                "offline_return",
                f"{name}: {count} license(s) returned offline wait for the License Customer Portal "
                f"to credit the receipt (`smartlic sync` sees it); `smartlic offline cancel-return "
                f"{name}` takes them back.",
                segment=name,
            )
        )
    if ctx.store.read_only:
        notices.insert(
            0,
            _notice(
                "store",
                f"{ctx.store.safe_mode_reason} Reads work; changes are refused. "
                f"{ctx.store.safe_mode_hint or ''}".strip(),
                level=StatusLevel.ERROR,
            ),
        )
    now, clock_behind = ctx.effective_now()
    signed = ctx.signed_cloud_time()
    if signed is not None and ctx.clock() > signed + FAR_AHEAD:
        notices.append(
            _notice(
                "clock",
                f"The clock says {ctx.clock():%Y-%m-%d %H:%M}, more than {FAR_AHEAD.days} days past "
                f"the license cloud's last signed time ({signed:%Y-%m-%d %H:%M}). Expiry is judged by the "
                "clock for now and not recorded; if the clock is wrong, fix it. `smartlic sync` checks "
                "the time against the cloud.",
            )
        )
    if clock_behind:
        notices.append(
            _notice(
                "clock",
                f"The clock looks wrong: it says {ctx.clock():%Y-%m-%d %H:%M} but smartlic has "
                f"already seen {now:%Y-%m-%d %H:%M}. Expiry is judged by the later time; fix the clock.",
            )
        )
    if unfinished:
        notices.append(
            _notice(
                "unfinished",
                f"{unfinished} unfinished operation(s): run `smartlic sync` (the TUI runs it at start).",
            )
        )
    alert = any(
        n.kind == "shortfall" or (n.kind == "expiry" and n.level is StatusLevel.ERROR) for n in notices
    )
    return StatusReport(segments=summaries, warnings=notices, unfinished_operations=unfinished, alert=alert)


def expiry_notices(
    seg: SegmentController, licenses: list[License], today: date, thresholds: Sequence[int]
) -> list[Notice]:
    """The expiry notices of a segment's maintenance licenses at ``thresholds`` (days before expiry)."""
    notices: list[Notice] = []
    for lic in licenses:
        if lic.terms.kind is not LicenseKind.MAINTENANCE or lic.return_pending:
            continue
        warning = rules.expiry_warning(lic.terms, today, thresholds)
        if warning:
            what = rules.description(lic.terms.kind, lic.terms.devices, lic.terms.term_years)
            expired = rules.is_expired(lic.terms, today)
            notices.append(
                Notice(
                    kind="expiry",
                    level=StatusLevel.ERROR if expired else StatusLevel.WARNING,
                    segment_name=seg.name,
                    license_id=lic.license_id,
                    text=f"{seg.name}: {what} {warning}.",
                )
            )
    return notices


def shortfall_notice(summary: SegmentSummary) -> Notice | None:
    """The notice of a segment whose unexpired maintenance does not cover its capacity."""
    if not summary.maintenance_shortfall:
        return None
    return Notice(
        kind="shortfall",
        level=StatusLevel.WARNING,
        segment_name=summary.segment.name,
        text=f"{summary.segment.name}: maintenance covers {summary.maintenance_covered} of "
        f"{summary.capacity} devices ({summary.maintenance_shortfall} short).",
    )


def _notice(
    kind: str,
    text: str,
    *,
    segment: str | None = None,
    license_id: UUID | None = None,
    level: StatusLevel = StatusLevel.WARNING,
) -> Notice:
    return Notice.model_validate(
        {"kind": kind, "level": level, "segment_name": segment, "license_id": license_id, "text": text}
    )


def _returned_offline_by_segment(ctx: Context, returned: list[OfflineReturn]) -> dict[str, int]:
    names = {seg.install_code: seg.name for seg in reads.segments(ctx)}
    counts: dict[str, int] = {}
    for record in returned:
        name = names.get(record.install_code, record.install_code)
        counts[name] = counts.get(name, 0) + 1
    return counts


def audit_verify(ctx: Context) -> AuditCheck:
    """Check the hash chain of the audit log and its signed head (local only: see audit_anchor).

    Names the first deleted, edited or moved entry."""
    with ctx.store.read() as tx:
        entries = tx.audit_entries()
        head = tx.audit_head()
        signed_entries, problem = audit_anchor.head_problem(tx, entries)
    bad = verify_audit_chain(entries)
    if bad is None and head is not None and (not entries or entries[-1].seq < head[0]):
        bad = (entries[-1].seq + 1) if entries else 1
    if bad is None and head is not None and entries and entries[-1].hash != head[1]:
        bad = entries[-1].seq
    if bad is None and problem is not None:
        return AuditCheck(
            ok=False, entries=len(entries), first_bad_seq=signed_entries, message=problem, signed_entries=None
        )
    if bad is None:
        signed = "" if signed_entries else " (none is signed yet: the next change signs the head)"
        return AuditCheck(
            ok=True,
            entries=len(entries),
            message=f"All {len(entries)} entries verify{signed}.",
            signed_entries=signed_entries,
        )
    return AuditCheck(
        ok=False,
        entries=len(entries),
        first_bad_seq=bad,
        message=f"The audit log was altered at entry {bad}: it was deleted, edited or moved.",
    )


def diagnostics(ctx: Context, path: Path, settings: Settings, force: bool = False) -> Path:
    """Write a support bundle (JSON, no secrets) to ``path``."""
    from core import diagnostics  # importlib.metadata: only when a bundle is written

    with ctx.store.read() as tx:
        journal = tx.journal()
        audit = tx.audit_entries()
    bundle = {
        "generated_at": ctx.clock().isoformat(),
        "versions": diagnostics.versions(),
        "settings": diagnostics.masked_settings(settings),
        "store": {
            "path": str(ctx.store.path),
            "read_only": ctx.store.read_only,
            "safe_mode_reason": ctx.store.safe_mode_reason,
            "integrity_ok": ctx.store.integrity_ok(),
        },
        "trusted_keys": ctx.trust.key_ids(),
        "audit_check": audit_verify(ctx).model_dump(mode="json"),
        "status": status(ctx).model_dump(mode="json"),
        "journal": [e.model_dump(mode="json") for e in journal],
        "audit": [e.model_dump(mode="json") for e in audit],
    }
    return diagnostics.write_bundle(path, bundle, force)
