"""Online activation, transfer and sync: journal first, one batched request, verify, one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID, uuid4

from core import rules
from core.crashpoints import crashpoint
from core.errors import CloudUnreachable, InvalidAnswer, InvalidInput, NotFound, Refused, SignatureInvalid
from core.models import (
    ActivationAnswer,
    ActivationOutcome,
    CloudLicense,
    DemoInfo,
    JournalEntry,
    License,
    LicenseGrant,
    OperationKind,
    SegmentController,
    SignedDocument,
    TransferOutcome,
)
from core.usecases import audit_anchor, reads
from core.usecases.context import (
    Context,
    Progress,
    grant_for,
    op_detail,
    quiet,
    stored_license,
)
from core.views import (
    ActivationResult,
    CloudOffer,
    Failure,
    SyncReport,
    TransferResult,
)


async def demo_info(ctx: Context) -> DemoInfo:
    return await ctx.cloud.demo_info()


async def customer_id_warning(ctx: Context, ref: str) -> str | None:
    """Whether the cloud knows the segment's Customer ID: a warning when it does not, else None.

    It asks for one license of that customer; a cloud that cannot be reached says nothing either way.
    """
    seg = reads.segment(ctx, ref)
    if seg.customer_id is None:
        return None
    try:
        await ctx.cloud.list_page(seg.customer_id, seg.install_code, limit=1)
    except CloudUnreachable:
        return None
    except NotFound as exc:
        if exc.code != "customer_not_found":
            raise
        return (
            f"The license cloud does not know Customer ID {seg.customer_id}: Download will find "
            "nothing. Check it at the License Partner Portal."
        )
    return None


async def cloud_licenses(
    ctx: Context, ref: str, on_page: Callable[[list[CloudLicense], int], None] | None = None
) -> CloudOffer:
    """The licenses the cloud holds for the segment's Customer ID and that it may activate."""
    seg = reads.segment(ctx, ref)
    if seg.customer_id is None:
        return CloudOffer(
            segment=seg,
            licenses=[],
            empty_reason=f"No Customer ID is set for {seg.name}: set it in Manage Customer Accounts.",
        )

    def usable_here(items: list[CloudLicense]) -> list[CloudLicense]:
        return [lic for lic in items if rules.offered_here(lic.earmarked_install_code, seg.install_code)]

    def page_here(items: list[CloudLicense], total: int) -> None:
        if on_page is not None:
            on_page(usable_here(items), total)

    offered = await ctx.cloud.list_licenses(seg.customer_id, seg.install_code, page_here)
    usable = usable_here(offered)
    reason = None if usable else "The cloud holds no licenses for this Customer ID."
    return CloudOffer(segment=seg, licenses=usable, empty_reason=reason)


async def activate(
    ctx: Context, ref: str, license_ids: Sequence[UUID], progress: Progress = quiet
) -> ActivationResult:
    seg = ctx.segment_with_customer(ref)
    assert seg.customer_id is not None
    wanted = list(dict.fromkeys(license_ids))
    if not wanted:
        raise InvalidInput("Select at least one license to activate.")
    with ctx.store.read() as tx:
        local = {lic.license_id: lic for lic in tx.licenses(seg.install_code)}
    already = rules.already_active(local.values(), wanted)
    to_send = [i for i in wanted if i not in already]
    op = JournalEntry(
        op_id=uuid4(),
        kind=OperationKind.ACTIVATE,
        install_code=seg.install_code,
        customer_id=seg.customer_id,
        license_ids=to_send,
        created_at=ctx.clock(),
    )
    if not to_send:
        return ActivationResult(op_id=op.op_id, activated=[], already_active=already)
    progress("Writing the journal", 0.05)
    with ctx.store.write() as tx:
        tx.journal_open(op)
        ctx.audit(tx, "activate", seg.install_code, op_detail(op), "started")
    crashpoint("after-journal")
    progress(f"Activating {len(to_send)} license(s) in the cloud", 0.15)
    answer = await ctx.cloud.activate(seg.customer_id, seg.install_code, to_send, op.op_id)
    progress("Verifying the signed license documents", 0.6)
    granted, failed = _verify_activation(ctx, answer, seg, set(to_send))
    progress("Storing the licenses and relicensing devices", 0.8)
    now = ctx.clock()
    with ctx.store.write() as tx:
        tx.put_licenses(
            stored_license(grant, document, seg.install_code, now, local.get(grant.license_id))
            for grant, document in granted
        )
        changed = ctx.relicense(tx, seg.install_code)
        activated = [grant.license_id for grant, _ in granted]
        ctx.audit(
            tx,
            "activate",
            seg.install_code,
            {
                **op_detail(op),
                "activated": [str(i) for i in activated],
                "failed": {str(f.license_id): f.code for f in failed},
                "devices_relicensed": changed,
            },
            "ok" if not failed else "partial" if activated else "failed",
        )
        crashpoint("mid-transaction")
        tx.journal_close(op.op_id)
    crashpoint("after-commit")
    progress("Done", 1.0)
    return ActivationResult(op_id=op.op_id, activated=activated, already_active=already, failed=failed)


async def transfer(ctx: Context, ref: str, progress: Progress = quiet) -> TransferResult:
    """Return every license of the segment to the cloud. The device gives them up first."""
    seg = ctx.segment_with_customer(ref)
    assert seg.customer_id is not None
    progress("Taking the licenses off this controller", 0.05)
    with ctx.store.write() as tx:
        licenses = tx.licenses(seg.install_code)
        if not licenses:
            raise Refused(f"{seg.name} has no licenses to transfer.", code="nothing_to_transfer")
        ids = [lic.license_id for lic in licenses]
        tx.set_return_pending(ids, True)
        unlicensed = ctx.relicense(tx, seg.install_code)
        op = JournalEntry(
            op_id=uuid4(),
            kind=OperationKind.TRANSFER,
            install_code=seg.install_code,
            customer_id=seg.customer_id,
            license_ids=ids,
            created_at=ctx.clock(),
        )
        tx.journal_open(op)
        ctx.audit(tx, "transfer", seg.install_code, op_detail(op), "started")
    crashpoint("after-journal")
    progress(f"Transferring {len(ids)} license(s) to the cloud", 0.3)
    returned, failed = await _send_transfer(ctx, op)
    progress("Done", 1.0)
    return TransferResult(op_id=op.op_id, returned=returned, failed=failed, devices_unlicensed=unlicensed)


async def sync(ctx: Context, progress: Progress = quiet) -> SyncReport:
    """Finish unfinished operations, then make each segment agree with the cloud's view."""
    report = SyncReport()
    journal = reads.journal(ctx)
    for index, op in enumerate(journal):
        progress(f"Resuming {op.kind.value} {op.op_id}", index / max(1, len(journal)) * 0.4)
        if op.kind is OperationKind.TRANSFER:
            returned, _ = await _send_transfer(ctx, op, resumed=True)
            report.returned.extend(returned)
        else:
            with ctx.store.write() as tx:
                ctx.audit(tx, "activate", op.install_code, op_detail(op), "resumed by sync")
                tx.journal_close(op.op_id)
        report.healed_operations.append(op.op_id)
    segments = reads.segments(ctx)
    for index, seg in enumerate(segments):
        progress(f"Reconciling {seg.name}", 0.4 + index / max(1, len(segments)) * 0.6)
        if seg.customer_id is None:
            report.skipped[seg.name] = "no Customer ID"
            continue
        adopted, removed = await _reconcile(ctx, seg)
        report.adopted.extend(adopted)
        report.removed.extend(removed)
    report = await audit_anchor.anchor_after_sync(ctx, report)
    progress("Done", 1.0)
    return report


async def resume_if_needed(ctx: Context) -> SyncReport | None:
    """Heal an interrupted operation at start-up; None when there was nothing to heal."""
    return await sync(ctx) if reads.journal(ctx) else None


def _verify_activation(
    ctx: Context, answer: ActivationAnswer, seg: SegmentController, requested: set[UUID]
) -> tuple[list[tuple[LicenseGrant, SignedDocument]], list[Failure]]:
    """Every document verifies, or nothing is stored: a forged answer is refused whole."""
    granted: list[tuple[LicenseGrant, SignedDocument]] = []
    failed: list[Failure] = []
    # All signatures are checked in one batch (in parallel, most of the time of a large
    # activation); their failures are raised below in answer order, as one by one would.
    signed = [o.document for o in answer.results if o.ok and o.document is not None]
    verified = iter(ctx.trust.verify_batch(signed))
    for outcome in answer.results:
        if outcome.license_id not in requested:
            raise InvalidAnswer("The license cloud answered for a license that was not asked for.")
        if not outcome.ok or outcome.document is None:
            failed.append(refusal(outcome))
            continue
        payload = next(verified)
        if isinstance(payload, SignatureInvalid):
            raise payload
        grant = grant_for(payload, seg)
        crashpoint("mid-verification")
        if grant.license_id != outcome.license_id:
            raise SignatureInvalid("A license document names another license than the one asked for.")
        granted.append((grant, outcome.document))
    answered = {o.license_id for o in answer.results}
    failed.extend(
        Failure(license_id=i, code="no_answer", reason="The cloud did not answer for this license.")
        for i in sorted(requested - answered, key=str)
    )
    return granted, failed


async def _send_transfer(
    ctx: Context, op: JournalEntry, *, resumed: bool = False
) -> tuple[list[UUID], list[Failure]]:
    answer = await ctx.cloud.transfer(op.customer_id, op.install_code, op.license_ids, op.op_id)
    returned: list[UUID] = []
    failed: list[Failure] = []
    for outcome in answer.results:
        # "not_bound": the cloud no longer holds it here, so it is back in the cloud already.
        if outcome.ok or outcome.code == "not_bound":
            returned.append(outcome.license_id)
        else:
            failed.append(refusal(outcome))
    with ctx.store.write() as tx:
        tx.delete_licenses(returned)
        ctx.audit(
            tx,
            "transfer",
            op.install_code,
            {
                **op_detail(op),
                "returned": [str(i) for i in returned],
                "failed": {str(f.license_id): f.code for f in failed},
            },
            ("resumed by sync: " if resumed else "") + ("ok" if not failed else "partial"),
        )
        crashpoint("mid-transaction")
        tx.journal_close(op.op_id)
    crashpoint("after-commit")
    return returned, failed


async def _reconcile(ctx: Context, seg: SegmentController) -> tuple[list[UUID], list[UUID]]:
    """Make the segment's licenses equal the cloud's view of its install code."""
    assert seg.customer_id is not None
    with ctx.store.read() as tx:
        before = _snapshot(tx.licenses(seg.install_code))
    view = await ctx.cloud.install_view(seg.customer_id, seg.install_code)
    grants = {}
    for document in view.documents:
        grant = ctx.verify_grant(document, seg)
        grants[grant.license_id] = (grant, document)
    now = ctx.clock()
    with ctx.store.write() as tx:
        current = tx.licenses(seg.install_code)
        if _snapshot(current) != before:
            # Another session changed this segment while the cloud was asked: the view may be
            # older than the store, and acting on it would undo that session's work. Its own
            # operation leaves device and cloud agreeing; the next sync checks again.
            return [], []
        local = {lic.license_id: lic for lic in current}
        pending_return = {i for i, lic in local.items() if lic.return_pending}
        adopted, removed = rules.reconcile_diff(local, grants)
        tx.put_licenses(
            stored_license(grant, document, seg.install_code, now)
            for i, (grant, document) in grants.items()
            if i in adopted
        )
        tx.delete_licenses(removed)
        if adopted or removed:
            ctx.relicense(tx, seg.install_code)
            ctx.audit(
                tx,
                "sync",
                seg.install_code,
                {"adopted": [str(i) for i in adopted], "removed": [str(i) for i in removed]},
                "healed",
            )
    still_pending = pending_return & set(grants)
    if still_pending:
        # The device gave these up but the cloud still holds them here: finish the return.
        op = JournalEntry(
            op_id=uuid4(),
            kind=OperationKind.TRANSFER,
            install_code=seg.install_code,
            customer_id=seg.customer_id,
            license_ids=sorted(still_pending, key=str),
            created_at=now,
        )
        with ctx.store.write() as tx:
            tx.journal_open(op)
        await _send_transfer(ctx, op, resumed=True)
    return adopted, removed


def refusal(outcome: ActivationOutcome | TransferOutcome) -> Failure:
    """The cloud's per-license refusal, as the faces show it."""
    return Failure(
        license_id=outcome.license_id,
        code=outcome.code or "refused",
        reason=outcome.reason or "The cloud refused this license.",
    )


def _snapshot(licenses: Sequence[License]) -> set[tuple[UUID, str, bool]]:
    """What reconciling depends on (not the user's notes, which other sessions may edit meanwhile)."""
    return {(lic.license_id, lic.activated_at.isoformat(), lic.return_pending) for lic in licenses}
