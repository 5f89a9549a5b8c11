"""What the cloud decides when a segment controller activates or returns licenses.

Each function works inside the caller's transaction, so a whole batch is one all-or-nothing step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from core.mock_cloud.db import LicenseRecord, Tx
from core.models import (
    ActivationAnswer,
    ActivationOutcome,
    CloudLicense,
    LicenseGrant,
    LicenseKind,
    SignedDocument,
    TransferAnswer,
    TransferOutcome,
)
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


def grant_document(
    signer: Signer, record: LicenseRecord, customer_id: UUID, install_code: str, now: datetime
) -> SignedDocument:
    grant = LicenseGrant(
        **record.terms().model_dump(), customer_id=customer_id, install_code=install_code, issued_at=now
    )
    return signer.sign(grant.model_dump(mode="json"))


def activation_refusal(record: LicenseRecord, install_code: str, now: datetime) -> tuple[str, str] | None:
    """(code, reason) when ``record`` cannot become active on ``install_code``, else None."""
    if record.install_code is not None and record.install_code != install_code:
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
    results: list[ActivationOutcome] = []
    for license_id in license_ids:
        record = tx.license(license_id)
        if record is None or record.customer_id != customer_id:
            results.append(
                ActivationOutcome(
                    license_id=license_id, ok=False, code="license_not_found", reason=_NOT_FOUND
                )
            )
            continue
        refusal = activation_refusal(record, install_code, now)
        if refusal is not None:
            code, reason = refusal
            results.append(ActivationOutcome(license_id=license_id, ok=False, code=code, reason=reason))
            continue
        if record.install_code is None:
            tx.set_install_code(license_id, install_code, now.date())
        # Already active here: answer ok again with a fresh document, so a lost answer heals.
        document = grant_document(signer, record, customer_id, install_code, now)
        results.append(ActivationOutcome(license_id=license_id, ok=True, document=document))
    return ActivationAnswer(results=results)


def transfer(
    tx: Tx, customer_id: UUID, install_code: str, license_ids: Sequence[UUID], now: datetime
) -> TransferAnswer:
    results: list[TransferOutcome] = []
    for license_id in license_ids:
        record = tx.license(license_id)
        if record is None or record.customer_id != customer_id:
            results.append(
                TransferOutcome(license_id=license_id, ok=False, code="license_not_found", reason=_NOT_FOUND)
            )
        elif record.install_code != install_code:
            results.append(
                TransferOutcome(
                    license_id=license_id,
                    ok=False,
                    code="not_bound",
                    reason="This license is not active on this segment controller.",
                )
            )
        else:
            tx.set_install_code(license_id, None, now.date())
            results.append(TransferOutcome(license_id=license_id, ok=True))
    return TransferAnswer(results=results)


def install_documents(
    tx: Tx, signer: Signer, customer_id: UUID, install_code: str, now: datetime
) -> list[SignedDocument]:
    return [
        grant_document(signer, record, customer_id, install_code, now)
        for record in tx.active_licenses(customer_id, install_code)
    ]
