"""Offline activation through files carried by hand: request, Add License, return receipt."""

from __future__ import annotations

from pathlib import Path

from core import offline
from core.crashpoints import crashpoint
from core.device_keys import device_signer
from core.errors import Refused
from core.models import (
    OfflineRequest,
    ReturnReceipt,
)
from core.usecases.context import (
    Context,
    stored_license,
)
from core.views import (
    AddLicenseResult,
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
    """Take every license off the segment, then write a signed return receipt to ``path``."""
    seg = ctx.segment_with_customer(ref)
    receipt_id = offline.new_file_id()
    with ctx.store.write() as tx:
        licenses = tx.licenses(seg.install_code)
        if not licenses:
            raise Refused(f"{seg.name} has no licenses to return.", code="nothing_to_transfer")
        ids = [lic.license_id for lic in licenses]
        signer = device_signer(tx, seg.install_code)
        document = offline.make_receipt(signer, seg, receipt_id, ids, ctx.clock())
        tmp = offline.write_document(path, document, force)
        tx.delete_licenses(ids)
        changed = ctx.relicense(tx, seg.install_code)
        ctx.audit(
            tx,
            "offline-return",
            seg.install_code,
            {"receipt_id": receipt_id, "license_ids": [str(i) for i in ids], "devices": changed},
            "ok",
        )
    offline.put_in_place(tmp)
    return ReturnReceipt.model_validate(document.payload)


def _outstanding_key(install_code: str) -> str:
    return f"offline_request:{install_code}"
