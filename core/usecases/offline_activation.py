"""Offline activation through files carried by hand: request, Add License, return receipt."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from core import offline
from core.crashpoints import crashpoint
from core.device_keys import device_signer
from core.errors import Refused
from core.models import (
    JournalEntry,
    OfflineRequest,
    OperationKind,
    ReturnReceipt,
    SegmentController,
)
from core.store import OfflineReturn, Tx
from core.usecases.context import (
    Context,
    anchor_cloud_time,
    op_detail,
    stored_license,
)
from core.views import (
    AddLicenseResult,
    CancelReturnResult,
)


def offline_request(ctx: Context, ref: str, path: Path, force: bool = False) -> OfflineRequest:
    """Write a signed offline activation request for the segment to ``path``."""
    seg = ctx.segment_with_customer(ref)
    request_id = offline.new_file_id()
    with ctx.store.write() as tx:
        signer = device_signer(tx, seg.install_code)
        document = offline.make_request(signer, seg, request_id, ctx.clock())
        tmp = offline.write_document(path, document, force)
        tx.meta_set(_outstanding_key(seg.install_code), request_id)
        ctx.audit(tx, "offline-request", seg.install_code, {"request_id": request_id}, "ok")
    offline.put_in_place(tmp)
    return OfflineRequest.model_validate(document.payload)


def add_license_file(ctx: Context, path: Path) -> AddLicenseResult:
    """Import a license response file: every license in it, or none."""
    document = offline.read_document(path)
    offline.refuse_wrong_kind(document)
    response = offline.response_payload(ctx.trust.verify(document))
    with ctx.store.write() as tx:
        seg = tx.segment(response.install_code)
        if seg is None:
            raise Refused(
                f"This license file is for another controller (install code {response.install_code}).",
                hint="Use the file made for this controller's request; nothing was changed.",
                code="foreign_file",
            )
        if seg.customer_id != response.customer_id:
            raise Refused(
                f"This license file is for another Customer ID than {seg.name}'s.",
                hint="Check the Customer ID in Manage Customer Accounts; nothing was changed.",
                code="foreign_file",
            )
        if tx.meta_get(_outstanding_key(seg.install_code)) != response.request_id:
            raise Refused(
                "This license file answers no outstanding request: it was imported already "
                "or belongs to an older request.",
                hint="Make a new offline request if licenses are missing; nothing was changed.",
                code="request_not_outstanding",
            )
        grants = [(ctx.verify_grant(doc, seg), doc) for doc in response.licenses]
        now = ctx.clock()
        tx.put_licenses(stored_license(grant, doc, seg.install_code, now) for grant, doc in grants)
        changed = ctx.relicense(tx, seg.install_code)
        tx.meta_delete(_outstanding_key(seg.install_code))
        # The portal registered this controller's key when it fulfilled the request: from now on
        # it can verify (and so credit) a return receipt from here.
        note_cloud_knows_key(tx, seg.install_code, response.request_id)
        added = [grant.license_id for grant, _ in grants]
        ctx.audit(
            tx,
            "add-license",
            seg.install_code,
            {"request_id": response.request_id, "added": [str(i) for i in added], "devices": changed},
            "ok",
        )
        crashpoint("mid-transaction")
    return AddLicenseResult(segment=seg, added=added, devices_relicensed=changed)


def offline_return(ctx: Context, ref: str, path: Path, force: bool = False) -> ReturnReceipt:
    """Take every license off the segment, then write a signed return receipt to ``path``.

    The licenses become *returned offline* (core.ownership): kept on record, never adopted back by
    sync, until the cloud no longer binds them here (the receipt was credited) or the user cancels.
    Refused up front when the portal could not credit the receipt: it checks receipts against the
    key it learnt from an offline request it fulfilled, so a controller that never imported a
    license file must return its licenses online.
    """
    seg = ctx.segment_with_customer(ref)
    receipt_id = offline.new_file_id()
    with ctx.store.write() as tx:
        licenses = tx.licenses(seg.install_code)
        if not licenses:
            raise Refused(f"{seg.name} has no licenses to return.", code="nothing_to_transfer")
        if any(lic.return_pending for lic in licenses):
            raise Refused(
                f"Some licenses of {seg.name} are on their way back to the cloud online.",
                hint="Run `smartlic sync` to finish that first; nothing was changed.",
                code="return_in_progress",
            )
        if tx.meta_get(_key_known_key(seg.install_code)) is None:
            raise Refused(
                f"The License Customer Portal could not credit a return receipt from {seg.name}: the "
                "cloud has not seen this controller's key yet (an online activation or an offline "
                "request it fulfilled shows it).",
                hint="Return the licenses online instead (Transfer to Cloud, `smartlic transfer`); "
                "nothing was changed.",
                code="receipt_not_creditable",
            )
        ids = [lic.license_id for lic in licenses]
        signer = device_signer(tx, seg.install_code)
        now = ctx.clock()
        document = offline.make_receipt(signer, seg, receipt_id, ids, now)
        tmp = offline.write_document(path, document, force)
        tx.delete_licenses(ids)
        tx.put_offline_returns(
            OfflineReturn(lic.license_id, seg.install_code, receipt_id, now, lic.note) for lic in licenses
        )
        changed = ctx.relicense(tx, seg.install_code)
        ctx.audit(
            tx,
            "offline-return",
            seg.install_code,
            {"receipt_id": receipt_id, "license_ids": [str(i) for i in ids], "devices": changed},
            "ok",
        )
        crashpoint("mid-transaction")
    offline.put_in_place(tmp)
    return ReturnReceipt.model_validate(document.payload)


async def cancel_return(ctx: Context, ref: str) -> CancelReturnResult:
    """Take the segment's offline return back: the cloud voids the receipt, the licenses it still
    binds here become active again; those the portal credited first stay in the cloud."""
    seg = ctx.segment_with_customer(ref)
    assert seg.customer_id is not None
    with ctx.store.write() as tx:
        records = tx.offline_returns(seg.install_code)
        if not records:
            raise Refused(f"{seg.name} has no offline return to cancel.", code="nothing_to_cancel")
        op = JournalEntry(
            op_id=uuid4(),
            kind=OperationKind.CANCEL_RETURN,
            install_code=seg.install_code,
            customer_id=seg.customer_id,
            license_ids=[r.license_id for r in records],
            created_at=ctx.clock(),
        )
        tx.journal_open(op)
        ctx.audit(tx, "offline-cancel-return", seg.install_code, op_detail(op), "started")
    crashpoint("after-journal")
    return await finish_cancel(ctx, seg, op)


async def finish_cancel(
    ctx: Context, seg: SegmentController, op: JournalEntry, *, resumed: bool = False
) -> CancelReturnResult:
    """The journaled step of a cancel (also resumed by sync): ask the cloud, then record the answer."""
    assert seg.customer_id is not None
    with ctx.store.read() as tx:
        records = [r for r in tx.offline_returns(seg.install_code) if r.license_id in set(op.license_ids)]
    states = {}
    for receipt_id in dict.fromkeys(r.receipt_id for r in records):
        states[receipt_id] = await ctx.cloud.cancel_return(seg.customer_id, seg.install_code, receipt_id)
    view = await ctx.cloud.install_view(seg.customer_id, seg.install_code)
    grants = ctx.verify_grants(view.documents, seg)
    cloud_time = ctx.cloud_time(view.time)
    now = ctx.clock()
    with ctx.store.write() as tx:
        current = {r.license_id: r for r in tx.offline_returns(seg.install_code)}
        mine = [current[r.license_id] for r in records if r.license_id in current]
        restored = [r for r in mine if states[r.receipt_id].state == "cancelled" and r.license_id in grants]
        credited = [r.license_id for r in mine if r not in restored]
        tx.put_licenses(
            stored_license(*grants[r.license_id], seg.install_code, now).model_copy(update={"note": r.note})
            for r in restored
        )
        tx.delete_offline_returns(r.license_id for r in mine)
        changed = ctx.relicense(tx, seg.install_code)
        anchor_cloud_time(tx, cloud_time)
        ctx.audit(
            tx,
            "offline-cancel-return",
            seg.install_code,
            {
                **op_detail(op),
                "restored": [str(r.license_id) for r in restored],
                "credited": [str(i) for i in credited],
                "devices": changed,
            },
            "resumed by sync: ok" if resumed else "ok",
        )
        crashpoint("mid-transaction")
        tx.journal_close(op.op_id)
    crashpoint("after-commit")
    return CancelReturnResult(segment=seg, restored=[r.license_id for r in restored], credited=credited)


def _key_known_key(install_code: str) -> str:
    return f"cloud_knows_device_key:{install_code}"


def note_cloud_knows_key(tx: Tx, install_code: str, how: str) -> None:
    """Record that the cloud holds this segment's device key (from a fulfilled offline request or a
    device-signed call it answered): only then can the portal credit its return receipts."""
    tx.meta_set(_key_known_key(install_code), how)


def _outstanding_key(install_code: str) -> str:
    return f"offline_request:{install_code}"
