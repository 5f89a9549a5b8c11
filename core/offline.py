"""Offline activation files: making requests and return receipts, reading license response files.

Requests and receipts are signed with the controller's own Ed25519 key (one per segment
controller, made at first use and kept in the store). Responses are signed by the cloud and checked
against the trust store like every license document.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from core import safe_files
from core.errors import InvalidInput
from core.models import (
    OfflineRequest,
    OfflineResponse,
    ReturnReceipt,
    SegmentController,
    SignedDocument,
)
from core.signing import Signer

MAX_FILE_BYTES = safe_files.DOCUMENT_LIMIT


def new_file_id() -> str:
    return secrets.token_hex(16)


def make_request(signer: Signer, seg: SegmentController, request_id: str, now: datetime) -> SignedDocument:
    assert seg.customer_id is not None
    payload = OfflineRequest(
        request_id=request_id,
        install_code=seg.install_code,
        customer_id=seg.customer_id,
        segment_name=seg.name,
        created_at=now,
        device_public_key=signer.public_pem().decode(),
    )
    return signer.sign(payload.model_dump(mode="json"))


def make_receipt(
    signer: Signer, seg: SegmentController, receipt_id: str, license_ids: list[UUID], now: datetime
) -> SignedDocument:
    assert seg.customer_id is not None
    payload = ReturnReceipt(
        receipt_id=receipt_id,
        install_code=seg.install_code,
        customer_id=seg.customer_id,
        created_at=now,
        license_ids=license_ids,
        device_public_key=signer.public_pem().decode(),
    )
    return signer.sign(payload.model_dump(mode="json"))


def read_document(path: Path) -> SignedDocument:
    """A signed document from a file, or one InvalidInput saying why the file is not one."""
    text = safe_files.read_text(path, limit=MAX_FILE_BYTES, what="license file")
    return parse_document(text, str(path))


def parse_document(text: str, name: str = "The file") -> SignedDocument:
    try:
        return SignedDocument.model_validate_json(text)
    except ValidationError as exc:
        truncated = any(e["type"] == "json_invalid" for e in exc.errors())
        why = "it is truncated or not JSON" if truncated else "it is not a signed smartlic document"
        raise InvalidInput(
            f"{name} is not a license file: {why}.",
            hint="Copy the file again from the License Customer Portal; nothing was changed.",
            code="invalid_file",
        ) from exc


WRONG_KIND = {
    "smartlic.offline-request.v1": "This is an offline activation request, not a license file: take it to "
    "the License Customer Portal and load the file it makes.",
    "smartlic.offline-return.v1": "This is a return receipt, not a license file: give it to the License "
    "Customer Portal to credit the licenses back.",
}


def refuse_wrong_kind(document: SignedDocument) -> None:
    """Name the file a user picked by mistake before its signature is even looked at."""
    kind = document.payload.get("type")
    if isinstance(kind, str) and kind in WRONG_KIND:
        raise InvalidInput(WRONG_KIND[kind], hint="Nothing was changed.", code="wrong_file")


def response_payload(payload: dict[str, Any]) -> OfflineResponse:
    try:
        return OfflineResponse.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(
            "The file is signed but is not a license response file.",
            hint="Add License takes the response file made by the License Customer Portal.",
            code="invalid_file",
        ) from exc


def write_document(path: Path, document: SignedDocument, force: bool = False) -> safe_files.PreparedFile:
    """Write ``document`` beside ``path`` (core.safe_files); the caller puts it in place.

    Writing first means a refused target, a full disk or a bad folder fails before the store
    changes anything.
    """
    text = json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return safe_files.prepare_file(path, text.encode("utf-8"), force=force)


def put_in_place(prepared: safe_files.PreparedFile) -> Path:
    """After the store committed: a failure keeps the written file and says where it is."""
    return prepared.commit(keep_on_failure=True)
