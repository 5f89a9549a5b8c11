"""Offline activation files: making requests and return receipts, reading license response files.

Requests and receipts are signed with the controller's own Ed25519 key (one per segment
controller, made at first use and kept in the store). Responses are signed by the cloud and checked
against the trust store like every license document.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from datetime import datetime
from pathlib import Path
from uuid import UUID

from pydantic import ValidationError

from core.errors import InvalidInput, StoreUnavailable
from core.models import (
    OfflineRequest,
    OfflineResponse,
    ReturnReceipt,
    SegmentController,
    SignedDocument,
)
from core.signing import Signer

MAX_FILE_BYTES = 16 * 1024 * 1024


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
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput(f"{path} is too large to be a license file.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InvalidInput(f"There is no file {path}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} cannot be read as a license file ({type(exc).__name__}).") from exc
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


def response_payload(payload: dict) -> OfflineResponse:
    try:
        return OfflineResponse.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput(
            "The file is signed but is not a license response file.",
            hint="Add License takes the response file made by the License Customer Portal.",
            code="invalid_file",
        ) from exc


def write_document(path: Path, document: SignedDocument) -> Path:
    """Write ``document`` to ``path.tmp`` and return it; the caller renames it into place.

    Writing first means a full disk or a bad folder fails before the store changes anything.
    """
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        _remove_quietly(tmp)
        raise StoreUnavailable(
            f"Cannot write {path}: {exc.strerror}.",
            hint="Choose another folder or free some disk space; nothing was changed.",
            code="file_not_written",
        ) from exc
    return tmp


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def put_in_place(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
