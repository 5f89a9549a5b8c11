"""The Partner Portal over HTTP (``/api/v1/partner``); the operations live in ``partner.py``.

Calls need ``Authorization: Bearer <partner token>``. Mutating calls honour an optional
Idempotency-Key, kept per partner so two partners can never replay each other's answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from core.mock_cloud import partner
from core.mock_cloud.api import CloudContext, IdempotencyKey
from core.mock_cloud.db import Partner, Tx
from core.mock_cloud.idempotency import check_key, request_hash, run_once
from core.mock_cloud.partner import (
    CustomerAccount,
    CustomerList,
    Earmark,
    HandOver,
    LicenseList,
    NewCustomer,
    NewLicenses,
    PartnerLicense,
)
from core.mock_cloud.problems import problem_responses

# auto_error=False: a missing token must become our own 401 problem document, not FastAPI's.
_bearer = HTTPBearer(auto_error=False, description="The partner's token")
_T = TypeVar("_T", bound=BaseModel)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _context(request: Request) -> CloudContext:
    context: CloudContext = request.app.state.cloud
    return context


def _partner(context: CloudContext, credentials: HTTPAuthorizationCredentials | None) -> Partner:
    with context.db.read() as tx:
        return partner.authenticate(tx, None if credentials is None else credentials.credentials)


def _read(
    request: Request, credentials: HTTPAuthorizationCredentials | None, query: Callable[[Tx, Partner], _T]
) -> _T:
    context = _context(request)
    who = _partner(context, credentials)
    with context.db.read() as tx:
        return query(tx, who)


def _write(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    idempotency_key: str | None,
    body: BaseModel,
    effect: Callable[[Tx, Partner], BaseModel],
) -> Response:
    context = _context(request)
    who = _partner(context, credentials)
    if idempotency_key is None:
        with context.db.write() as tx:
            answer = effect(tx, who).model_dump_json()
        return Response(answer, media_type="application/json")
    key = f"partner:{who.partner_id}:{check_key(idempotency_key)}"
    req_hash = request_hash(request.method, request.url.path, body.model_dump(mode="json"))
    return run_once(context.db, key, req_hash, lambda tx: effect(tx, who), context.base_clock())


def partner_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1/partner", tags=["partner portal"], responses=problem_responses(401, 422))

    @api.get("/customers")
    def list_customers(request: Request, credentials: Credentials) -> CustomerList:
        """The partner's customer/project accounts, by name."""
        return _read(request, credentials, partner.list_customers)

    @api.post("/customers", response_model=CustomerAccount, responses=problem_responses(409))
    def create_customer(
        request: Request, credentials: Credentials, body: NewCustomer, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """Add a customer/project account; the answer carries its new Customer ID."""
        return _write(
            request,
            credentials,
            idempotency_key,
            body,
            lambda tx, who: partner.create_customer(tx, who, body),
        )

    @api.get("/inventory")
    def inventory(request: Request, credentials: Credentials) -> LicenseList:
        """My Inventory: licenses bought and not yet handed to a customer."""
        return _read(request, credentials, partner.inventory)

    @api.get("/customers/{customer_id}/licenses", responses=problem_responses(404))
    def customer_inventory(request: Request, credentials: Credentials, customer_id: UUID) -> LicenseList:
        """Customer Inventory: the customer's licenses and the install code each is active on."""
        return _read(request, credentials, lambda tx, who: partner.customer_inventory(tx, who, customer_id))

    @api.post("/licenses", response_model=LicenseList)
    def add_licenses(
        request: Request, credentials: Credentials, body: NewLicenses, idempotency_key: IdempotencyKey = None
    ) -> Response:
        """Record purchased licenses in My Inventory; each gets a new License ID."""
        today = _context(request).clock().date()
        return _write(
            request,
            credentials,
            idempotency_key,
            body,
            lambda tx, who: partner.add_licenses(tx, who, body, today),
        )

    @api.post(
        "/customers/{customer_id}/licenses", response_model=LicenseList, responses=problem_responses(404, 409)
    )
    def hand_over(
        request: Request,
        credentials: Credentials,
        customer_id: UUID,
        body: HandOver,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        """Hand licenses from My Inventory to a customer, all or nothing."""
        today = _context(request).clock().date()
        return _write(
            request,
            credentials,
            idempotency_key,
            body,
            lambda tx, who: partner.hand_over(tx, who, customer_id, body.license_ids, today),
        )

    @api.post(
        "/licenses/{license_id}/earmark", response_model=PartnerLicense, responses=problem_responses(404, 409)
    )
    def earmark(
        request: Request,
        credentials: Credentials,
        license_id: UUID,
        body: Earmark,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        """Reserve a license for one install code (null clears the reservation).

        With ``device_public_key`` the controller's key is bound to the install code now, so that
        its first device call already has to be signed by it.
        """
        today = _context(request).base_clock().date()
        return _write(
            request,
            credentials,
            idempotency_key,
            body,
            lambda tx, who: partner.earmark(tx, who, license_id, body, today),
        )

    return api
