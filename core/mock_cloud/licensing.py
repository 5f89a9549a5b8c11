"""What the cloud decides when a segment controller activates or returns licenses.

Each function works inside the caller's transaction, so a whole batch is one all-or-nothing step.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from core.mock_cloud.db import LicenseRecord, Tx
from core.models import (
    ActivationAnswer,
    ActivationOutcome,
    CloudLicense,
    CloudLicensePage,
    CloudTime,
    LicenseGrant,
    LicenseKind,
    LicenseTerms,
    SignedDocument,
    TransferAnswer,
    TransferOutcome,
)
from core.ownership import cloud_may_bind, cloud_may_return
from core.rules import cloud_description, is_expired
from core.signing import Signer

_NOT_FOUND = "This license does not exist for this Customer ID; check the Customer ID of the segment."


def cloud_license(record: LicenseRecord) -> CloudLicense:
    terms = record.terms()
    return CloudLicense(
        **terms.model_dump(),
        earmarked_install_code=record.earmarked_install_code,
        transfer_date=record.transfer_date,
        description=cloud_description(terms),
    )


_GRANTS = TypeAdapter(list[LicenseGrant])
# A set, not a frozenset: that is what model_dump(include=...) is typed to take.
_TERMS = set(LicenseTerms.model_fields)
# The columns a CloudLicense shows (all but its description).
_LISTED = (
    "license_id",
    "kind",
    "devices",
    "term_years",
    "expires_on",
    "earmarked_install_code",
    "transfer_date",
)


def cloud_license_page(rows: Sequence[sqlite3.Row], total: int, next_offset: int | None) -> CloudLicensePage:
    """A listing page from license rows as stored, validated once as a whole.

    Going through LicenseRecord and LicenseTerms first validated every license three times: two
    thirds of the cloud's time when listing 100,000 licenses.
    """
    items = [{**{name: row[name] for name in _LISTED}, "description": _row_description(row)} for row in rows]
    return CloudLicensePage.model_validate({"items": items, "total": total, "next_offset": next_offset})


def _row_description(row: sqlite3.Row) -> str:
    return _description(row["kind"], row["devices"], row["term_years"], row["expires_on"])


@functools.lru_cache(maxsize=4096)
def _description(kind: str, devices: int, term_years: int | None, expires_on: str | None) -> str:
    """The rules' wording, per distinct terms: a long listing repeats a few hundred of them."""
    # Only for the wording; the page validates the values. No license_id: model_construct sets only
    # what it is given, but the pydantic plugin types it like __init__.
    terms = LicenseTerms.model_construct(  # type: ignore[call-arg]  # pydantic plugin: all fields required
        kind=LicenseKind(kind),
        devices=devices,
        term_years=term_years,
        expires_on=None if expires_on is None else date.fromisoformat(expires_on),
    )
    return cloud_description(terms)


def grant_document(
    signer: Signer, record: LicenseRecord, customer_id: UUID, install_code: str, now: datetime
) -> SignedDocument:
    return signer.sign(grant_payload(record, customer_id, install_code, now))


def grant_payload(
    record: LicenseRecord, customer_id: UUID, install_code: str, now: datetime
) -> dict[str, Any]:
    """What a license document signs: the record's terms bound to the customer and install code."""
    return grant_payloads([record], customer_id, install_code, now)[0]


def grant_payloads(
    records: Sequence[LicenseRecord], customer_id: UUID, install_code: str, now: datetime
) -> list[dict[str, Any]]:
    """``grant_payload`` of each record, validated and dumped as one list (half the time of 500
    models one by one)."""
    bound = {"customer_id": customer_id, "install_code": install_code, "issued_at": now}
    grants = _GRANTS.validate_python([{**r.model_dump(include=_TERMS), **bound} for r in records])
    payloads: list[dict[str, Any]] = _GRANTS.dump_python(grants, mode="json")
    return payloads


def signed_time(signer: Signer, now: datetime) -> SignedDocument:
    """The cloud's current time, signed: controllers anchor their trusted time to it."""
    return signer.sign(CloudTime(time=now).model_dump(mode="json"))


def activation_refusal(record: LicenseRecord, install_code: str, now: datetime) -> tuple[str, str] | None:
    """(code, reason) when ``record`` cannot become active on ``install_code``, else None."""
    if not cloud_may_bind(record.install_code, install_code):
        return (
            "license_taken",
            "This license is active on another segment controller; transfer it to the cloud there first.",
        )
    if record.earmarked_install_code is not None and record.earmarked_install_code != install_code:
        return (
            "license_earmarked",
            f"This license is reserved for the segment controller with install code "
            f"{record.earmarked_install_code}.",
        )
    if record.kind is LicenseKind.MAINTENANCE and is_expired(record.terms(), now.date()):
        assert record.expires_on is not None
        return (
            "license_expired",
            f"This maintenance license expired on {record.expires_on.isoformat()}; it cannot be activated.",
        )
    return None


def activate(
    tx: Tx, signer: Signer, customer_id: UUID, install_code: str, license_ids: Sequence[UUID], now: datetime
) -> ActivationAnswer:
    """One outcome per id, in order, as if the ids were taken one by one (a license named twice
    sees its first activation), but the batch is read and written in one statement each."""
    records = tx.licenses_by_id(license_ids)
    repeated = _repeated(license_ids)
    bind: list[tuple[UUID, str | None]] = []
    slots: list[ActivationOutcome | LicenseRecord] = []  # a refusal, or the license to grant
    for license_id in license_ids:
        record = records.get(license_id)
        if record is None or record.customer_id != customer_id:
            slots.append(
                ActivationOutcome(
                    license_id=license_id, ok=False, code="license_not_found", reason=_NOT_FOUND
                )
            )
            continue
        refusal = activation_refusal(record, install_code, now)
        if refusal is not None:
            code, reason = refusal
            slots.append(ActivationOutcome(license_id=license_id, ok=False, code=code, reason=reason))
            continue
        if record.install_code is None:
            bind.append((license_id, install_code))
            if license_id in repeated:
                records[license_id] = _moved(record, install_code, now)
        # Already active here: answer ok again with a fresh document, so a lost answer heals.
        slots.append(record)
    tx.set_install_codes(bind, now.date())
    granted = [slot for slot in slots if isinstance(slot, LicenseRecord)]
    documents = iter([signer.sign(p) for p in grant_payloads(granted, customer_id, install_code, now)])
    results = [
        ActivationOutcome(license_id=license_id, ok=True, document=next(documents))
        if isinstance(slot, LicenseRecord)
        else slot
        for license_id, slot in zip(license_ids, slots, strict=True)
    ]
    return ActivationAnswer(results=results)


def transfer(
    tx: Tx, customer_id: UUID, install_code: str, license_ids: Sequence[UUID], now: datetime
) -> TransferAnswer:
    """One outcome per id, in order; one read and one write for the batch, as ``activate``."""
    records = tx.licenses_by_id(license_ids)
    repeated = _repeated(license_ids)
    unbind: list[tuple[UUID, str | None]] = []
    results: list[TransferOutcome] = []
    for license_id in license_ids:
        record = records.get(license_id)
        if record is None or record.customer_id != customer_id:
            results.append(
                TransferOutcome(license_id=license_id, ok=False, code="license_not_found", reason=_NOT_FOUND)
            )
        elif not cloud_may_return(record.install_code, install_code):
            results.append(
                TransferOutcome(
                    license_id=license_id,
                    ok=False,
                    code="not_bound",
                    reason="This license is not active on this segment controller.",
                )
            )
        else:
            unbind.append((license_id, None))
            if license_id in repeated:
                records[license_id] = _moved(record, None, now)
            results.append(TransferOutcome(license_id=license_id, ok=True))
    tx.set_install_codes(unbind, now.date())
    return TransferAnswer(results=results)


def _repeated(license_ids: Sequence[UUID]) -> set[UUID]:
    """The ids named more than once in a batch: later mentions must see the earlier change."""
    return {license_id for license_id, count in Counter(license_ids).items() if count > 1}


def _moved(record: LicenseRecord, install_code: str | None, now: datetime) -> LicenseRecord:
    """``record`` as ``set_install_code`` leaves it, for the rest of the batch to see."""
    return record.model_copy(update={"install_code": install_code, "transfer_date": now.date()})


def install_documents(
    tx: Tx, signer: Signer, customer_id: UUID, install_code: str, now: datetime
) -> list[SignedDocument]:
    return [
        grant_document(signer, record, customer_id, install_code, now)
        for record in tx.active_licenses(customer_id, install_code)
    ]
