"""The device-facing endpoints of the mock license cloud (``/api/v1``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel

from core.mock_cloud import licensing, portal
from core.mock_cloud.db import CloudDB, Tx
from core.mock_cloud.device_auth import device_install_code, valid_install_code
from core.mock_cloud.idempotency import check_key, request_hash, run_once
from core.mock_cloud.problems import ApiProblem, problem_responses
from core.models import (
    MAX_BATCH,
    ActivationAnswer,
    Capabilities,
    Clock,
    CloudLicensePage,
    DemoInfo,
    InstallView,
    LicenseIdBatch,
    ReceiptState,
    TransferAnswer,
)
from core.rules import parse_customer_id
from core.signing import Signer

MAX_PAGE = 5000
DEFAULT_PAGE = 1000
# Far above any customer's license count; bounded so that no number reaches SQLite too large.
MAX_OFFSET = 1_000_000_000


@dataclass(frozen=True)
class CloudContext:
    """What every endpoint needs; kept on ``app.state.cloud``."""

    db: CloudDB
    signer: Signer
    clock: Clock
    demo_customer_id: UUID
    partner_name: str
    # The cloud's clock without the skew fault: judges request signatures and stored answers' age.
    base_clock: Clock
    max_batch: int = MAX_BATCH  # advertised at /capabilities; a larger batch is refused


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    time: datetime


class PublicKey(BaseModel):
    key_id: str
    pem: str


def cloud_context(request: Request) -> CloudContext:
    context: CloudContext = request.app.state.cloud
    return context


def _customer_id(text: str) -> UUID:
    try:
        return parse_customer_id(text)
    except ValueError as exc:
        raise ApiProblem(422, "invalid_customer_id", str(exc)) from None


_install_code = valid_install_code


def _require_customer(tx: Tx, customer_id: UUID) -> None:
    if tx.customer(customer_id) is None:
        raise ApiProblem(
            404,
            "customer_not_found",
            f"The cloud has no customer {customer_id}; check the Customer ID with your partner.",
        )


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
# The install code whose bound key signed the request (core.mock_cloud.device_auth).
SignedBy = Annotated[str, Depends(device_install_code)]


def _batch_call(
    request: Request,
    verb: str,
    customer_id: str,
    install_code: str,
    batch: LicenseIdBatch,
    idempotency_key: str | None,
    effect: Callable[[Tx, UUID, str], BaseModel],
) -> Response:
    """An activate or transfer call: validated, keyed, and applied once in one transaction."""
    customer, code = _customer_id(customer_id), _install_code(install_code)
    key = f"device:{customer}:{code}:{check_key(idempotency_key)}"
    context = cloud_context(request)
    if len(batch.license_ids) > context.max_batch:
        raise ApiProblem(
            422,
            "batch_too_large",
            f"At most {context.max_batch} licenses per call (GET /api/v1/capabilities); split the batch.",
        )
    req_hash = request_hash(
        "POST", f"/customers/{customer}/installs/{code}/{verb}", batch.model_dump(mode="json")
    )

    def in_transaction(tx: Tx) -> BaseModel:
        _require_customer(tx, customer)
        return effect(tx, customer, code)

    return run_once(context.db, key, req_hash, in_transaction, context.base_clock(), verb)


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    device = problem_responses(401, 404, 422)

    @api.get("/health")
    def health(request: Request) -> Health:
        return Health(time=cloud_context(request).clock())

    @api.get("/public-key")
    def public_key(request: Request) -> PublicKey:
        signer = cloud_context(request).signer
        return PublicKey(key_id=signer.key_id, pem=signer.public_pem().decode())

    @api.get("/capabilities")
    def capabilities(request: Request) -> Capabilities:
        """What a client must know to talk to this cloud: the largest batch it accepts."""
        return Capabilities(max_batch=cloud_context(request).max_batch)

    @api.get("/demo")
    def demo(request: Request) -> DemoInfo:
        context = cloud_context(request)
        return DemoInfo(customer_id=context.demo_customer_id, partner_name=context.partner_name)

    @api.get("/customers/{customer_id}/licenses", response_model=CloudLicensePage, responses=device)
    def list_licenses(
        request: Request,
        customer_id: str,
        _signed_by: SignedBy,
        install_code: str | None = None,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        after: Annotated[
            UUID | None,
            Query(
                description="The last license of the previous page: the page starts right after it "
                "(keyset paging; ``offset`` still counts the licenses before the page)."
            ),
        ] = None,
    ) -> Response:
        """The customer's licenses available for download, i.e. active nowhere, oldest first.

        Signed by a controller of the customer (any install code when ``install_code`` is not
        given; else that one).
        """
        customer = _customer_id(customer_id)
        code = None if install_code is None else _install_code(install_code)
        with cloud_context(request).db.read() as tx:
            _require_customer(tx, customer)
            page = tx.available_page(customer, for_install_code=code, offset=offset, limit=limit, after=after)
        next_offset = offset + len(page.rows) if page.more else None
        answer = licensing.cloud_license_page(page.rows, page.total, next_offset)
        # Serialised here, once: returning the model would have FastAPI validate it all again.
        return Response(answer.model_dump_json(), media_type="application/json")

    @api.post(
        "/customers/{customer_id}/installs/{install_code}/activate",
        response_model=ActivationAnswer,
        responses=device,
    )
    def activate(
        request: Request,
        customer_id: str,
        install_code: str,
        batch: LicenseIdBatch,
        _signed_by: SignedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        context = cloud_context(request)

        def effect(tx: Tx, customer: UUID, code: str) -> BaseModel:
            now = context.clock()
            answer = licensing.activate(tx, context.signer, customer, code, batch.license_ids, now)
            return answer.model_copy(update={"time": licensing.signed_time(context.signer, now)})

        return _batch_call(request, "activate", customer_id, install_code, batch, idempotency_key, effect)

    @api.post(
        "/customers/{customer_id}/installs/{install_code}/transfer",
        response_model=TransferAnswer,
        responses=device,
    )
    def transfer(
        request: Request,
        customer_id: str,
        install_code: str,
        batch: LicenseIdBatch,
        _signed_by: SignedBy,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        context = cloud_context(request)

        def effect(tx: Tx, customer: UUID, code: str) -> BaseModel:
            now = context.clock()
            answer = licensing.transfer(tx, customer, code, batch.license_ids, now)
            return answer.model_copy(update={"time": licensing.signed_time(context.signer, now)})

        return _batch_call(request, "transfer", customer_id, install_code, batch, idempotency_key, effect)

    @api.get("/customers/{customer_id}/installs/{install_code}/licenses", responses=device)
    def install_view(
        request: Request, customer_id: str, install_code: str, _signed_by: SignedBy
    ) -> InstallView:
        """Fresh documents of every license the cloud holds as active on the install code."""
        customer, code = _customer_id(customer_id), _install_code(install_code)
        context = cloud_context(request)
        with context.db.read() as tx:
            _require_customer(tx, customer)
            now = context.clock()
            documents = licensing.install_documents(tx, context.signer, customer, code, now)
        return InstallView(
            install_code=code, documents=documents, time=licensing.signed_time(context.signer, now)
        )

    @api.post("/customers/{customer_id}/installs/{install_code}/returns/{receipt_id}/cancel")
    def cancel_return(request: Request, customer_id: str, install_code: str, receipt_id: str) -> ReceiptState:
        """The controller takes an offline return back: the receipt can no longer be credited.

        Answers what became of the receipt: ``cancelled`` (now or before), or ``credited`` when the
        portal credited it first (then the licenses are back in the cloud and stay there).
        """
        customer, code = _customer_id(customer_id), _install_code(install_code)
        with cloud_context(request).db.write() as tx:
            _require_customer(tx, customer)
            return portal.cancel_return(tx, code, receipt_id)

    return api
