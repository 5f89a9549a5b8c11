"""Online activation, transfer and sync: journal first, one batched request, verify, one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from uuid import UUID, uuid4

from core import rules
from core.crashpoints import crashpoint
from core.errors import (
    CloudUnreachable,
    Conflict,
    InvalidAnswer,
    InvalidInput,
    NotFound,
    Refused,
    SignatureInvalid,
    SmartlicError,
    StoreUnavailable,
    Unauthorized,
)
from core.models import (
    MAX_BATCH,
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
from core.ownership import (
    ControllerState,
    Event,
    IllegalMove,
    controller_move,
    controller_state,
    sync_event,
)
from core.store import OfflineReturn, Tx
from core.usecases import audit_anchor, offline_activation, reads
from core.usecases.context import (
    Context,
    Progress,
    anchor_cloud_time,
    find_segment,
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
    """Activate in chunks of the cloud's batch limit; each chunk is its own journaled step."""
    seg = ctx.segment_with_customer(ref)
    assert seg.customer_id is not None
    wanted = list(dict.fromkeys(license_ids))
    if not wanted:
        raise InvalidInput("Select at least one license to activate.")
    with ctx.store.read() as tx:
        local = {
            i: lic for i, lic in tx.licenses_by_id(wanted).items() if lic.install_code == seg.install_code
        }
        returned = {r.license_id for r in tx.offline_returns(seg.install_code)}
    pending = {i: lic.return_pending for i, lic in local.items()}
    states = {i: _local_state(pending, returned, i) for i in wanted}
    _refuse_moves(seg, {i: s for i, s in states.items() if s is not ControllerState.ABSENT}, Event.ACTIVATE)
    already = [i for i in wanted if states[i] is ControllerState.ACTIVE]
    to_send = [i for i in wanted if states[i] is ControllerState.ABSENT]
    if not to_send:
        return ActivationResult(op_id=uuid4(), activated=[], already_active=already)
    # Asked before anything is written: a cloud that cannot be reached changes nothing.
    ops = _chunked_ops(ctx, OperationKind.ACTIVATE, seg, to_send, await ctx.cloud.max_batch())
    progress("Writing the journal", 0.05)
    with ctx.store.write() as tx:
        _journal_started(ctx, tx, ops)
    crashpoint("after-journal")
    activated: list[UUID] = []
    failed: list[Failure] = []
    for index, op in enumerate(ops):
        progress(f"Activating {len(op.license_ids)} license(s) in the cloud", 0.15 + 0.8 * index / len(ops))
        done, refused = await _activate_chunk(ctx, seg, op, local)
        activated += done
        failed += refused
        crashpoint("between-chunks")
    progress("Done", 1.0)
    return ActivationResult(op_id=ops[0].op_id, activated=activated, already_active=already, failed=failed)


async def _activate_chunk(
    ctx: Context,
    seg: SegmentController,
    op: JournalEntry,
    local: dict[UUID, License],
    *,
    resumed: bool = False,
) -> tuple[list[UUID], list[Failure]]:
    """Send one journaled chunk (its op_id is the Idempotency-Key), verify, store, close it."""
    assert seg.customer_id is not None
    with _closed_when_refused(ctx, op, resumed=resumed):
        answer = await ctx.cloud.activate(seg.customer_id, seg.install_code, op.license_ids, op.op_id)
    granted, failed = _verify_activation(ctx, answer, seg, set(op.license_ids))
    cloud_time = ctx.cloud_time(answer.time)
    now = ctx.clock()
    activated = [grant.license_id for grant, _ in granted]
    try:
        with ctx.store.write() as tx:
            tx.put_licenses(
                stored_license(grant, document, seg.install_code, now, local.get(grant.license_id))
                for grant, document in granted
            )
            changed = ctx.relicense(tx, seg.install_code)
            anchor_cloud_time(tx, cloud_time)
            # A device-signed call the cloud answered: it holds this controller's key now, so the
            # portal can credit a return receipt signed with it (core.ownership, offline return).
            offline_activation.note_cloud_knows_key(tx, seg.install_code, "device-signed activation")
            _audit_chunk(ctx, tx, op, {"activated": activated}, failed, resumed, devices_relicensed=changed)
            crashpoint("mid-transaction")
            tx.journal_close(op.op_id)
    except StoreUnavailable as exc:
        raise _cloud_did_store_did_not(seg, f"activated {len(activated)} license(s)", exc) from exc
    crashpoint("after-commit")
    return activated, failed


async def transfer(ctx: Context, ref: str, progress: Progress = quiet) -> TransferResult:
    """Return every license of the segment to the cloud. The device gives them up first."""
    seg = ctx.segment_with_customer(ref)
    assert seg.customer_id is not None
    max_batch = await _max_batch_or_default(ctx)
    progress("Taking the licenses off this controller", 0.05)
    with ctx.store.write() as tx:
        licenses = tx.licenses(seg.install_code)
        if not licenses:
            raise Refused(f"{seg.name} has no licenses to transfer.", code="nothing_to_transfer")
        ids = [lic.license_id for lic in licenses]
        pending = [lic.license_id for lic in licenses if lic.return_pending]
        if pending:
            raise Refused(
                f"{len(pending)} license(s) of {seg.name} are already on their way back to the cloud.",
                hint="Run `smartlic sync` to finish that return first; nothing was changed.",
                code="return_in_progress",
            )
        tx.set_return_pending(ids, True)
        unlicensed = ctx.relicense(tx, seg.install_code)
        ops = _chunked_ops(ctx, OperationKind.TRANSFER, seg, ids, max_batch)
        _journal_started(ctx, tx, ops)
    crashpoint("after-journal")
    returned: list[UUID] = []
    failed: list[Failure] = []
    for index, op in enumerate(ops):
        progress(f"Transferring {len(op.license_ids)} license(s) to the cloud", 0.3 + 0.7 * index / len(ops))
        done, refused = await _send_transfer(ctx, op)
        returned += done
        failed += refused
        crashpoint("between-chunks")
    progress("Done", 1.0)
    return TransferResult(op_id=ops[0].op_id, returned=returned, failed=failed, devices_unlicensed=unlicensed)


async def sync(ctx: Context, progress: Progress = quiet) -> SyncReport:
    """Finish unfinished operations, then make each segment agree with the cloud's view.

    One segment's trouble never blocks another: a step that fails is reported by segment and the
    rest goes on. Only when every step failed is the first error raised (the cloud is down).
    """
    healed: list[UUID] = []
    change = _Change()
    skipped: dict[str, str] = {}
    failures: dict[str, SmartlicError] = {}
    succeeded = 0
    names = {seg.install_code: seg.name for seg in reads.segments(ctx)}
    journal = reads.journal(ctx)
    for index, op in enumerate(journal):
        name = names.get(op.install_code, op.install_code)
        if name in failures:
            continue  # the segment's earlier step failed; its later chunks wait for the next sync
        progress(f"Resuming {op.kind.value} {op.op_id}", index / max(1, len(journal)) * 0.4)
        try:
            change.add(await _resume(ctx, op))
        except SmartlicError as exc:
            failures[name] = exc
            continue
        healed.append(op.op_id)
        succeeded += 1
    segments = reads.segments(ctx)
    for index, seg in enumerate(segments):
        progress(f"Reconciling {seg.name}", 0.4 + index / max(1, len(segments)) * 0.6)
        if seg.customer_id is None:
            skipped[seg.name] = "no Customer ID"
            continue
        if seg.name in failures:
            continue
        try:
            change.add(await _reconcile(ctx, seg))
        except SmartlicError as exc:
            failures[seg.name] = exc
            continue
        succeeded += 1
    if failures and not succeeded:
        raise next(iter(failures.values()))
    progress("Done", 1.0)
    report = SyncReport(
        healed_operations=healed,
        **asdict(change),
        skipped=skipped,
        failed={name: str(exc) for name, exc in failures.items()},
        exit_code=max((exc.exit_code for exc in failures.values()), default=0),
    )
    return await audit_anchor.anchor_after_sync(ctx, report)


@dataclass
class _Change:
    """What reconciling did to one segment (or, added up, to all)."""

    adopted: list[UUID] = field(default_factory=list)
    removed: list[UUID] = field(default_factory=list)
    credited: list[UUID] = field(default_factory=list)
    returned: list[UUID] = field(default_factory=list)

    def add(self, other: _Change) -> None:
        self.adopted += other.adopted
        self.removed += other.removed
        self.credited += other.credited
        self.returned += other.returned


async def resume_if_needed(ctx: Context) -> SyncReport | None:
    """Heal an interrupted operation at start-up; None when there was nothing to heal."""
    return await sync(ctx) if reads.journal(ctx) else None


async def _resume(ctx: Context, op: JournalEntry) -> _Change:
    """Finish one journaled step (an activation chunk is sent again under its own key)."""
    seg = reads.segment(ctx, op.install_code)
    if seg.customer_id != op.customer_id:
        # The Customer ID changed since (only possible with no licenses): the step is void.
        with ctx.store.write() as tx:
            ctx.audit(
                tx, op.kind.value, op.install_code, op_detail(op), "dropped by sync: Customer ID changed"
            )
            tx.journal_close(op.op_id)
        return _Change()
    if op.kind is OperationKind.TRANSFER:
        return _Change(returned=(await _send_transfer(ctx, op, resumed=True))[0])
    if op.kind is OperationKind.CANCEL_RETURN:
        cancelled = await offline_activation.finish_cancel(ctx, seg, op, resumed=True)
        return _Change(adopted=cancelled.restored, credited=cancelled.credited)
    with ctx.store.read() as tx:
        local = tx.licenses_by_id(op.license_ids)
    return _Change(adopted=(await _activate_chunk(ctx, seg, op, local, resumed=True))[0])


def _local_state(pending: dict[UUID, bool], returned: set[UUID], license_id: UUID) -> ControllerState:
    """``pending``: return_pending of each license the segment holds."""
    return controller_state(
        held=license_id in pending,
        return_pending=pending.get(license_id, False),
        returned_offline=license_id in returned,
    )


def _refuse_moves(seg: SegmentController, states: dict[UUID, ControllerState], event: Event) -> None:
    """Refuse the whole request, before anything changes, if the state machine forbids a move."""
    for license_id, state in states.items():
        try:
            controller_move(state, event)
        except IllegalMove:
            hint = {
                ControllerState.RETURNED_OFFLINE: "Its return receipt is out: credit it at the License "
                "Customer Portal, or take the return back with `smartlic offline cancel-return "
                f"{seg.name}`. Nothing was changed.",
                ControllerState.RETURNING_ONLINE: "It is on its way back to the cloud: `smartlic sync` "
                "finishes that, then activate it again. Nothing was changed.",
            }.get(state, "Nothing was changed.")
            raise Refused(
                f"License {license_id} is {state.value} on {seg.name}; it cannot {event.value} now.",
                hint=hint,
                code=state.name.lower(),
            ) from None


def _journal_started(ctx: Context, tx: Tx, ops: Sequence[JournalEntry]) -> None:
    """Each chunk in the journal, and its "started" audit entry, before the cloud is asked."""
    for op in ops:
        tx.journal_open(op)
        ctx.audit(tx, op.kind.value, op.install_code, op_detail(op), "started")


def _chunked_ops(
    ctx: Context, kind: OperationKind, seg: SegmentController, ids: Sequence[UUID], max_batch: int
) -> list[JournalEntry]:
    """One journal entry per chunk of at most ``max_batch`` ids, each with its own op_id (key)."""
    assert seg.customer_id is not None
    now = ctx.clock()
    return [
        JournalEntry(
            op_id=uuid4(),
            kind=kind,
            install_code=seg.install_code,
            customer_id=seg.customer_id,
            license_ids=list(ids[start : start + max_batch]),
            created_at=now,
        )
        for start in range(0, len(ids), max_batch)
    ]


async def _max_batch_or_default(ctx: Context) -> int:
    """The cloud's batch limit; the API's maximum when it cannot be asked, so that Transfer still
    gives the licenses up first (the journal sends them when the cloud is back)."""
    try:
        return await ctx.cloud.max_batch()
    except CloudUnreachable:
        return MAX_BATCH


def _cloud_did_store_did_not(seg: SegmentController, what: str, exc: StoreUnavailable) -> StoreUnavailable:
    """What is true when the cloud did its part and the store could not record it."""
    return StoreUnavailable(
        f"The cloud {what} for {seg.name}, but this controller could not record it: {exc.message}",
        hint="Free space on that disk (or fix the store), then run `smartlic sync`: the journal "
        "finishes it from the cloud's records.",
        code=exc.code,
    )


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
    with _closed_when_refused(ctx, op, resumed=resumed):
        answer = await ctx.cloud.transfer(op.customer_id, op.install_code, op.license_ids, op.op_id)
    returned: list[UUID] = []
    failed: list[Failure] = []
    for outcome in answer.results:
        # "not_bound": the cloud no longer holds it here, so it is back in the cloud already.
        if outcome.ok or outcome.code == "not_bound":
            returned.append(outcome.license_id)
        else:
            failed.append(refusal(outcome))
    cloud_time = ctx.cloud_time(answer.time)
    try:
        with ctx.store.write() as tx:
            tx.delete_licenses(returned)
            anchor_cloud_time(tx, cloud_time)
            _audit_chunk(ctx, tx, op, {"returned": returned}, failed, resumed)
            crashpoint("mid-transaction")
            tx.journal_close(op.op_id)
    except StoreUnavailable as exc:
        with ctx.store.read() as tx:
            seg = find_segment(tx, op.install_code)
        raise _cloud_did_store_did_not(seg, f"took back {len(returned)} license(s)", exc) from exc
    crashpoint("after-commit")
    return returned, failed


async def _reconcile(ctx: Context, seg: SegmentController) -> _Change:
    """Make the segment's licenses agree with the cloud's view of its install code, move by move
    as core.ownership.sync_event says (a license returned offline is never adopted back)."""
    assert seg.customer_id is not None
    with ctx.store.read() as tx:
        before = _snapshot(tx.license_marks(seg.install_code), tx.offline_returns(seg.install_code))
    view = await ctx.cloud.install_view(seg.customer_id, seg.install_code)
    grants = ctx.verify_grants(view.documents, seg)
    cloud_time = ctx.cloud_time(view.time)
    max_batch = await _max_batch_or_default(ctx)
    now = ctx.clock()
    change = _Change()
    with ctx.store.write() as tx:
        current = tx.license_marks(seg.install_code)
        returned_offline = {r.license_id for r in tx.offline_returns(seg.install_code)}
        anchor_cloud_time(tx, cloud_time)
        if _snapshot(current, tx.offline_returns(seg.install_code)) != before:
            # Another session changed this segment while the cloud was asked: the view may be
            # older than the store, and acting on it would undo that session's work. Its own
            # operation leaves device and cloud agreeing; the next sync checks again.
            return change
        pending = {i: marks[1] for i, marks in current.items()}
        still_pending: list[UUID] = []
        for license_id in sorted({*pending, *grants, *returned_offline}, key=str):
            state = _local_state(pending, returned_offline, license_id)
            event = sync_event(state, cloud_binds_here=license_id in grants)
            if event is None and state is ControllerState.RETURNING_ONLINE:
                still_pending.append(license_id)  # the cloud still binds it here: finish the return
            elif event is Event.ADOPT:
                change.adopted.append(license_id)
            elif event in (Event.DROP, Event.RETURN_CONFIRMED):
                change.removed.append(license_id)
            elif event is Event.CREDITED:
                change.credited.append(license_id)
        tx.put_licenses(
            stored_license(grant, document, seg.install_code, now)
            for i, (grant, document) in grants.items()
            if i in change.adopted
        )
        tx.delete_licenses(change.removed)
        tx.delete_offline_returns(change.credited)
        if change.adopted or change.removed or change.credited:
            ctx.relicense(tx, seg.install_code)
            ctx.audit(
                tx,
                "sync",
                seg.install_code,
                {
                    "adopted": [str(i) for i in change.adopted],
                    "removed": [str(i) for i in change.removed],
                    "credited": [str(i) for i in change.credited],
                },
                "healed",
            )
        ops = _chunked_ops(ctx, OperationKind.TRANSFER, seg, still_pending, max_batch)
        for op in ops:
            tx.journal_open(op)
    for op in ops:
        change.returned += (await _send_transfer(ctx, op, resumed=True))[0]
    return change


@contextmanager
def _closed_when_refused(ctx: Context, op: JournalEntry, *, resumed: bool) -> Iterator[None]:
    """A request the cloud refused outright (a 4xx problem) had no effect and never will under
    this key: close its journal entry, so it does not block the segment's next sync. A license it
    left returning online is sent again, in a new chunk, by the next reconcile."""
    try:
        yield
    except (Refused, NotFound, Conflict, Unauthorized) as exc:
        with ctx.store.write() as tx:
            ctx.audit(
                tx,
                op.kind.value,
                op.install_code,
                {**op_detail(op), "refused": exc.code, "reason": exc.message[:300]},
                ("resumed by sync: " if resumed else "") + "refused by the cloud",
            )
            tx.journal_close(op.op_id)
        raise


def _audit_chunk(
    ctx: Context,
    tx: Tx,
    op: JournalEntry,
    done: dict[str, list[UUID]],
    failed: list[Failure],
    resumed: bool,
    **extra: object,
) -> None:
    """The audit entry that closes one chunk of an activation or transfer."""
    moved = next(iter(done.values()))
    result = "ok" if not failed else "partial" if moved else "failed"
    ctx.audit(
        tx,
        op.kind.value,
        op.install_code,
        {
            **op_detail(op),
            **{key: [str(i) for i in ids] for key, ids in done.items()},
            "failed": {str(f.license_id): f.code for f in failed},
            **extra,
        },
        ("resumed by sync: " if resumed else "") + result,
    )


def refusal(outcome: ActivationOutcome | TransferOutcome) -> Failure:
    """The cloud's per-license refusal, as the faces show it."""
    return Failure(
        license_id=outcome.license_id,
        code=outcome.code or "refused",
        reason=outcome.reason or "The cloud refused this license.",
    )


def _snapshot(
    marks: dict[UUID, tuple[str, bool]], returned: Sequence[OfflineReturn]
) -> set[tuple[UUID, str, bool]]:
    """What reconciling depends on (not the user's notes, which other sessions may edit meanwhile)."""
    held = {(i, activated_at, pending) for i, (activated_at, pending) in marks.items()}
    return held | {(r.license_id, r.receipt_id, True) for r in returned}
