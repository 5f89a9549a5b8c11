"""Idempotency-Key handling: the first answer to a key is stored with its effect and replayed.

The record is written in the same transaction as the effect, so there is never an effect without
its stored answer (or the reverse), whatever crashes when. Keys are scoped by the caller (the
device endpoints prefix customer id and install code, the partner endpoints the partner), so one
caller can never replay another's answer. A stored answer expires :data:`ANSWER_LIFETIME` after it
was stored, by the cloud's clock: the same key then runs the call afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from core.mock_cloud.crashpoints import cloud_crashpoint
from core.mock_cloud.db import CloudDB, IdempotencyRecord, Tx
from core.mock_cloud.problems import ApiProblem
from core.signing import canonical_json

MAX_KEY_LENGTH = 200
ANSWER_LIFETIME = timedelta(hours=24)


def check_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise ApiProblem(
            400, "idempotency_key_required", "This call changes licenses and needs an Idempotency-Key header."
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise ApiProblem(
            400,
            "invalid_idempotency_key",
            f"An Idempotency-Key is 1-{MAX_KEY_LENGTH} printable ASCII characters.",
        )
    return key


def request_hash(method: str, path: str, body: Any) -> str:
    """Over the parsed request, so that spelling (key order, spaces, UUID case) does not matter."""
    return hashlib.sha256(
        method.upper().encode() + b" " + path.encode() + b"\n" + canonical_json(body)
    ).hexdigest()


def run_once(
    db: CloudDB,
    key: str,
    req_hash: str,
    effect: Callable[[Tx], BaseModel],
    now: datetime,
    operation: str = "",
) -> Response:
    """The stored answer for ``key`` (unexpired at ``now``), or run ``effect`` and store its answer.

    ``operation`` names the call for the cloud's crash points (``core.mock_cloud.crashpoints``).
    """
    stamp = now.timestamp()
    cutoff = stamp - ANSWER_LIFETIME.total_seconds()
    with db.write() as tx:
        stored = tx.idempotency(key)
        if stored is not None and (stored.stored_at is None or stored.stored_at <= cutoff):
            tx.forget_idempotency([key])
            stored = None
        if stored is not None:
            if stored.request_hash != req_hash:
                raise ApiProblem(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used for a different request; use a new key.",
                )
            return Response(stored.response_json, status_code=stored.status, media_type="application/json")
        body = effect(tx).model_dump_json()
        tx.forget_idempotency(tx.idempotency_stored_before(cutoff))
        tx.put_idempotency(
            IdempotencyRecord(key=key, request_hash=req_hash, status=200, response_json=body, stored_at=stamp)
        )
        cloud_crashpoint("before-commit", operation)
    cloud_crashpoint("after-commit", operation)
    return Response(body, status_code=200, media_type="application/json")
