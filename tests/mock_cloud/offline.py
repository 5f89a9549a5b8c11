"""Helpers for the portal tests: a fixed clock, offline files made as a controller would make them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import httpx

from core.models import OfflineRequest, Problem, ReturnReceipt, SignedDocument
from core.signing import Signer
from tests.support.clock import FIXED_NOW as NOW

TODAY = NOW.date()
HERE = "17q5t6a"  # the seed's default earmark
OTHER = "9zz0abc"
TOKEN = "demo-partner-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def request_doc(
    device: Signer, install_code: str, customer_id: UUID | str, *, request_id: str | None = None, **over: Any
) -> SignedDocument:
    """A request file's document, signed by ``device``; ``over`` replaces payload fields before signing."""
    payload = OfflineRequest(
        request_id=request_id or uuid.uuid4().hex,
        install_code=install_code,
        customer_id=UUID(str(customer_id)),
        segment_name="SmartServer-A",
        created_at=NOW,
        device_public_key=device.public_pem().decode(),
    ).model_dump(mode="json")
    payload.update(over)
    return device.sign(payload)


def receipt_doc(
    device: Signer,
    install_code: str,
    customer_id: UUID | str,
    license_ids: Sequence[UUID | str],
    *,
    receipt_id: str | None = None,
    **over: Any,
) -> SignedDocument:
    payload = ReturnReceipt(
        receipt_id=receipt_id or uuid.uuid4().hex,
        install_code=install_code,
        customer_id=UUID(str(customer_id)),
        created_at=NOW,
        license_ids=[UUID(str(i)) for i in license_ids],
        device_public_key=device.public_pem().decode(),
    ).model_dump(mode="json")
    payload.update(over)
    return device.sign(payload)


def tampered(document: SignedDocument, **over: Any) -> SignedDocument:
    """``document`` with payload fields changed after signing (the signature is kept)."""
    return document.model_copy(update={"payload": {**document.payload, **over}})


def dump(document: SignedDocument) -> dict[str, Any]:
    return document.model_dump(mode="json")


def problem(response: httpx.Response, status: int, code: str) -> Problem:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = Problem.model_validate(response.json())
    assert (body.status, body.code) == (status, code)
    assert body.detail
    return body
