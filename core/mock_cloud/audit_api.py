"""Audit anchors: the newest signed audit head of each install code (core.audit_head).

PUT is a device call (signed by the install code's bound key), and the head itself must be
signed by that same key. A head with fewer entries than the one held, or one that does not extend
the held history (same count, other hash; or a ``held_hash`` that is not the held hash), is
refused with 409: the cloud never lets a controller move its anchor back or sideways. GET answers
the held head, so that `smartlic audit verify` checks the local chain against it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from core.audit_head import AuditHead, AuditHeadAnchor, head_verifies
from core.mock_cloud.api import SignedBy, cloud_context
from core.mock_cloud.device_auth import valid_install_code
from core.mock_cloud.problems import ApiProblem, problem_responses
from core.signing import load_public_key

PATH = "/devices/{install_code}/audit-head"


def audit_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")

    @api.get(PATH, response_model=AuditHead, responses=problem_responses(401, 404, 422))
    def held_head(request: Request, install_code: str, _signed_by: SignedBy) -> AuditHead:
        """The newest audit head anchored for the install code."""
        code = valid_install_code(install_code)
        with cloud_context(request).db.read() as tx:
            head = tx.audit_head(code)
        if head is None:
            raise ApiProblem(404, "no_audit_head", f"No audit head is anchored for install code {code} yet.")
        return head

    @api.put(PATH, response_model=AuditHead, responses=problem_responses(401, 409, 422))
    def anchor_head(
        request: Request, install_code: str, body: AuditHeadAnchor, _signed_by: SignedBy
    ) -> AuditHead:
        """Anchor a newer signed audit head; the held one when it is the same."""
        code = valid_install_code(install_code)
        head = body.head
        if head.install_code != code:
            raise ApiProblem(422, "audit_head_install_code", "The head names another install code.")
        with cloud_context(request).db.write() as tx:
            bound = tx.device_key(code)
            if bound is None or not head_verifies(load_public_key(bound.public_key_pem.encode()), head):
                raise ApiProblem(
                    422,
                    "audit_head_signature",
                    f"The audit head is not signed by the key bound to install code {code}.",
                )
            held = tx.audit_head(code)
            if held is not None:
                _refuse_unless_extends(held, head, body.held_hash)
                if (held.entries, held.hash) == (head.entries, head.hash):
                    return held
            tx.set_audit_head(head)
        return head

    return api


def _refuse_unless_extends(held: AuditHead, head: AuditHead, held_hash: str | None) -> None:
    if head.entries < held.entries:
        raise ApiProblem(
            409,
            "audit_head_behind",
            f"The cloud holds an audit head of {held.entries} entries; this one has {head.entries}.",
            extra={"held_entries": held.entries},
        )
    same_count_other_hash = head.entries == held.entries and head.hash != held.hash
    if same_count_other_hash or (head.entries > held.entries and held_hash != held.hash):
        raise ApiProblem(
            409,
            "audit_head_diverged",
            f"This audit log does not contain entry {held.entries} as anchored before.",
            extra={"held_entries": held.entries},
        )
