"""The Customer Portal over HTTP (``/api/v1/portal``); the operations live in ``portal.py``.

No Idempotency-Key here: the files carry their own ids (request_id, receipt_id), and the first
answer to each is stored and returned again unchanged.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from core.mock_cloud import portal
from core.mock_cloud.api import CloudContext
from core.mock_cloud.portal import FulfilBody, ReturnAnswer, ReturnBody
from core.mock_cloud.problems import problem_responses
from core.models import SignedDocument


def _context(request: Request) -> CloudContext:
    context: CloudContext = request.app.state.cloud
    return context


def portal_router() -> APIRouter:
    api = APIRouter(
        prefix="/api/v1/portal", tags=["customer portal"], responses=problem_responses(403, 404, 409, 422)
    )

    @api.post("/fulfil", response_model=SignedDocument)
    def fulfil(request: Request, body: FulfilBody) -> Response:
        """Answer an offline request file: assign the licenses, return the signed response file.

        The response's payload is an ``OfflineResponse`` signed with the cloud key; the same
        request file always gets the same bytes back.
        """
        context = _context(request)
        with context.db.write() as tx:
            answer = portal.fulfil(tx, context.signer, body.request, body.license_ids, context.clock())
        return Response(answer, media_type="application/json")

    @api.post("/return", response_model=ReturnAnswer)
    def credit_return(request: Request, body: ReturnBody) -> Response:
        """Credit back the licenses of a return receipt signed by the controller's registered key."""
        context = _context(request)
        with context.db.write() as tx:
            answer = portal.credit_return(tx, body.receipt, context.clock())
        return Response(answer, media_type="application/json")

    return api
