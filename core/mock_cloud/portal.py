"""The Customer Portal: offline activation files for a controller that has no internet.

A controller brings a request file (its own key signs it; the public key travels inside); the
portal assigns the chosen licenses to its install code and answers with a response file signed by
the cloud key. Later the controller may give licenses back with a return receipt, which the portal
accepts only when signed by the key it saw at fulfil time for that install code.

Both operations are all or nothing and done once: the first answer is stored by request_id /
receipt_id and handed out again, byte for byte, when the same file comes back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.mock_cloud.db import DeviceKey, LicenseRecord, StoredDocumentAnswer, Tx
from core.mock_cloud.device_keys import parse_pem
from core.mock_cloud.licensing import activation_refusal, grant_document
from core.mock_cloud.problems import ApiProblem
from core.models import OfflineRequest, OfflineResponse, ReceiptState, ReturnReceipt, SignedDocument
from core.ownership import cloud_may_return
from core.rules import is_install_code
from core.signing import Signer, canonical_json, key_id_of, load_public_key, verify_with

MAX_LICENSES = 5000
_Payload = TypeVar("_Payload", OfflineRequest, ReturnReceipt)

# Refusals of a license, by code: HTTP status. Codes are those the online activation uses.
_LICENSE_STATUS = {"license_taken": 409, "license_earmarked": 409, "license_expired": 409}


class FulfilBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request: SignedDocument = Field(description="The controller's request file: an OfflineRequest payload")
    license_ids: list[UUID] = Field(min_length=1, max_length=MAX_LICENSES)


class ReturnBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    receipt: SignedDocument = Field(description="The controller's return receipt: a ReturnReceipt payload")


class ReturnAnswer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    receipt_id: str
    install_code: str
    customer_id: UUID
    credited: list[UUID] = Field(description="Licenses now back in the cloud, available for download")


# --- signatures ------------------------------------------------------------------------------


def document_hash(document: SignedDocument) -> str:
    return hashlib.sha256(canonical_json(document.model_dump(mode="json"))).hexdigest()


def _signed_by(pem: str, document: SignedDocument) -> bool:
    """Whether ``document`` verifies against ``pem`` and names that key's id."""
    try:
        key = load_public_key(pem.encode())
        if document.key_id != key_id_of(key):
            return False
        verify_with(key, document)
    except Exception:  # as above: every failure to verify is the same answer, "not signed by it"
        return False
    return True


def _bad_signature(code: str, what: str) -> ApiProblem:
    return ApiProblem(
        422,
        code,
        f"The {what} does not verify against the controller key it names: it was altered or is not "
        f"a smartlic {what}. Make a new one on the segment controller.",
    )


def _payload(model: type[_Payload], document: SignedDocument, code: str) -> _Payload:
    """Checked only after the signature: a verified file with a bad payload is a client bug."""
    try:
        return model.model_validate(document.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise ApiProblem(422, code, f"The file's {where} is not valid: {first['msg']}.") from None


def _install_code(code: str) -> None:
    if not is_install_code(code):
        raise ApiProblem(
            422, "invalid_install_code", f"{code!r} is not an install code: 7 characters, 0-9 and a-z."
        )


def _require_customer(tx: Tx, customer_id: UUID) -> None:
    if tx.customer(customer_id) is None:
        raise ApiProblem(
            404,
            "customer_not_found",
            f"The cloud has no customer {customer_id}; check the Customer ID of the segment controller.",
        )


# --- fulfil ----------------------------------------------------------------------------------


def verified_request(document: SignedDocument) -> OfflineRequest:
    pem = document.payload.get("device_public_key")
    if not isinstance(pem, str) or not _signed_by(pem, document):
        raise _bad_signature("invalid_request_signature", "request file")
    return _payload(OfflineRequest, document, "invalid_offline_request")


def _register_device_key(tx: Tx, install_code: str, pem: str, today: date) -> None:
    """Remember the controller's key (trust on first use) so only it can sign return receipts."""
    key = parse_pem(pem)
    assert key is not None  # the request verified against it
    key_id, normalised = key
    current = tx.device_key(install_code)
    if current is not None and current.key_id == key_id:
        return
    # Another key for the same install code: a controller that was reset makes a new key. Let it
    # take over only when nothing is active there, else it could return licenses it never held.
    if current is not None and tx.installed_count(install_code) > 0:
        raise ApiProblem(
            409,
            "device_key_mismatch",
            f"Segment controller {install_code} is registered with another key and still holds "
            "licenses; return them first (Transfer to Cloud, or a return receipt from that controller).",
        )
    tx.set_device_key(
        DeviceKey(install_code=install_code, key_id=key_id, public_key_pem=normalised, registered_on=today)
    )


def _licenses_to_fulfil(
    tx: Tx, request: OfflineRequest, license_ids: Sequence[UUID], now: datetime
) -> list[LicenseRecord]:
    records: list[LicenseRecord] = []
    for license_id in dict.fromkeys(license_ids):
        record = tx.license(license_id)
        if record is None or record.customer_id != request.customer_id:
            raise ApiProblem(
                404,
                "license_not_found",
                f"License {license_id} does not exist for customer {request.customer_id}.",
                extra={"license_id": str(license_id)},
            )
        refusal = activation_refusal(record, request.install_code, now)
        if refusal is not None:
            code, reason = refusal
            raise ApiProblem(
                _LICENSE_STATUS.get(code, 409),
                code,
                f"License {license_id}: {reason}",
                extra={"license_id": str(license_id)},
            )
        records.append(record)
    return records


def fulfil(
    tx: Tx, signer: Signer, document: SignedDocument, license_ids: Sequence[UUID], now: datetime
) -> str:
    """The response file (SignedDocument JSON) for a request file; the stored one if seen before."""
    request = verified_request(document)
    doc_hash = document_hash(document)
    stored = tx.offline_request(request.request_id)
    if stored is not None:
        if stored.document_hash != doc_hash:
            raise ApiProblem(
                409,
                "request_id_reused",
                "Another request file with this request id was already fulfilled; make a new request.",
            )
        return stored.answer_json
    _install_code(request.install_code)
    _require_customer(tx, request.customer_id)
    _register_device_key(tx, request.install_code, request.device_public_key, now.date())
    records = _licenses_to_fulfil(tx, request, license_ids, now)
    documents = []
    for record in records:
        if record.install_code is None:
            tx.set_install_code(record.license_id, request.install_code, now.date())
        documents.append(grant_document(signer, record, request.customer_id, request.install_code, now))
    response = OfflineResponse(
        request_id=request.request_id,
        install_code=request.install_code,
        customer_id=request.customer_id,
        issued_at=now,
        licenses=documents,
    )
    answer = signer.sign(response.model_dump(mode="json")).model_dump_json()
    tx.put_offline_request(
        StoredDocumentAnswer(
            document_id=request.request_id,
            document_hash=doc_hash,
            install_code=request.install_code,
            answer_json=answer,
        )
    )
    return answer


# --- return receipts -------------------------------------------------------------------------


def _verified_receipt(tx: Tx, document: SignedDocument) -> ReturnReceipt:
    install_code = document.payload.get("install_code")
    registered = tx.device_key(install_code) if isinstance(install_code, str) else None
    if registered is None:
        raise ApiProblem(
            403,
            "unknown_device_key",
            f"No offline request was ever fulfilled for install code {install_code!r}, so the cloud "
            "knows no key to check this receipt with; return the licenses online instead.",
        )
    named = parse_pem(document.payload.get("device_public_key"))
    if named is None or named[0] != registered.key_id:
        raise ApiProblem(
            403,
            "device_key_mismatch",
            f"This receipt is not from the controller registered for install code {install_code}.",
        )
    if not _signed_by(registered.public_key_pem, document):
        raise _bad_signature("invalid_receipt_signature", "return receipt")
    return _payload(ReturnReceipt, document, "invalid_return_receipt")


def credit_return(tx: Tx, document: SignedDocument, now: datetime) -> str:
    """Credit the receipt's licenses back to the cloud; the answer (ReturnAnswer JSON) is stored."""
    doc_hash = document_hash(document)
    receipt_id = document.payload.get("receipt_id")
    stored = tx.return_receipt(receipt_id) if isinstance(receipt_id, str) else None
    # The same bytes were verified when first seen: answer again even if the key was replaced since.
    if stored is not None and stored.document_hash == doc_hash:
        return stored.answer_json
    receipt = _verified_receipt(tx, document)
    if stored is not None and stored.document_hash == CANCELLED:
        raise ApiProblem(
            409,
            "receipt_cancelled",
            "The controller cancelled this offline return (`smartlic offline cancel-return`): its "
            "licenses are active there again; nothing was credited.",
        )
    if stored is not None:
        raise ApiProblem(
            409, "receipt_id_reused", "Another receipt with this receipt id was already processed."
        )
    license_ids = list(dict.fromkeys(receipt.license_ids))
    for license_id in license_ids:
        record = tx.license(license_id)
        if record is None or record.customer_id != receipt.customer_id:
            raise ApiProblem(
                404,
                "license_not_found",
                f"License {license_id} does not exist for customer {receipt.customer_id}.",
                extra={"license_id": str(license_id)},
            )
        if not cloud_may_return(record.install_code, receipt.install_code):
            raise ApiProblem(
                409,
                "license_not_active",
                f"License {license_id} is not active on segment controller {receipt.install_code}; "
                "nothing was credited.",
                extra={"license_id": str(license_id)},
            )
    for license_id in license_ids:
        tx.set_install_code(license_id, None, now.date())
    answer = ReturnAnswer(
        receipt_id=receipt.receipt_id,
        install_code=receipt.install_code,
        customer_id=receipt.customer_id,
        credited=license_ids,
    ).model_dump_json()
    tx.put_return_receipt(
        StoredDocumentAnswer(
            document_id=receipt.receipt_id,
            document_hash=doc_hash,
            install_code=receipt.install_code,
            answer_json=answer,
        )
    )
    return answer


# Stored in place of a receipt's hash when its controller cancelled it before any credit.
CANCELLED = "cancelled"


def cancel_return(tx: Tx, install_code: str, receipt_id: str) -> ReceiptState:
    """Void a receipt that was not credited yet, so the portal never credits it; say what it became."""
    if len(receipt_id) != 32 or any(c not in "0123456789abcdef" for c in receipt_id):
        raise ApiProblem(422, "invalid_receipt_id", "A receipt id is 32 hexadecimal digits (lower case).")
    stored = tx.return_receipt(receipt_id)
    if stored is not None and stored.install_code != install_code:
        raise ApiProblem(404, "receipt_not_found", "No return receipt with this id is from this controller.")
    if stored is None:
        tx.put_return_receipt(
            StoredDocumentAnswer(
                document_id=receipt_id,
                document_hash=CANCELLED,
                install_code=install_code,
                answer_json=ReceiptState(receipt_id=receipt_id, state="cancelled").model_dump_json(),
            )
        )
        return ReceiptState(receipt_id=receipt_id, state="cancelled")
    if stored.document_hash == CANCELLED:
        return ReceiptState(receipt_id=receipt_id, state="cancelled")
    credited = ReturnAnswer.model_validate_json(stored.answer_json).credited
    return ReceiptState(receipt_id=receipt_id, state="credited", license_ids=credited)
