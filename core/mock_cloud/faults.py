"""Injected faults, so the client's retries, timeouts and signature checks can be exercised.

Faults act on the wire, in an ASGI middleware, after the endpoint (and its idempotency record) is
done: a garbled answer leaves the effect in place, and a retry with the same Idempotency-Key gets
the intact stored answer. Admin calls are exempt, so a test can always reset the faults.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.mock_cloud.problems import problem_response

ADMIN_PREFIX = "/api/v1/admin/"


class Faults(BaseModel):
    """What goes wrong next. Counters count down as faults are served."""

    model_config = ConfigDict(extra="forbid")
    delay: float = Field(default=0.0, ge=0, le=60, description="Seconds to wait before every answer")
    fail: int = Field(default=0, ge=0, description="Answer the next N calls with 503 + Retry-After: 1")
    malformed: int = Field(default=0, ge=0, description="Truncate the next N answers (invalid JSON)")
    bad_signature: int = Field(default=0, ge=0, description="Corrupt the next N license signatures")

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """``"delay=0.1,fail=3,malformed=1,bad_signature=1"``; ValueError with one readable line."""
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            name, sep, value = part.partition("=")
            if not sep or not value.strip():
                raise ValueError(f"fault {part!r} needs a value, e.g. fail=3")
            values[name.strip()] = value.strip()
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "faults"
            known = ", ".join(cls.model_fields)
            raise ValueError(f"fault {where}: {first['msg']} (known: {known})") from None


class FaultState:
    """The live faults of one app; shared by threads, so every change holds the lock."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = (faults or Faults()).model_copy()

    def get(self) -> Faults:
        with self._lock:
            return self._faults.model_copy()

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults.model_copy()

    def take(self, name: str, wanted: int = 1) -> int:
        """Use up to ``wanted`` of counter ``name``; returns how many were granted."""
        with self._lock:
            left: int = getattr(self._faults, name)
            granted = min(left, wanted)
            setattr(self._faults, name, left - granted)
            return granted


def _corrupt(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[0] ^= 0x01  # still valid base64, so the failure is the signature check itself
    return base64.b64encode(bytes(raw)).decode()


def _signed_documents(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        if {"payload", "key_id", "signature"} <= value.keys():
            return [value]
        return [doc for item in value.values() for doc in _signed_documents(item)]
    if isinstance(value, list):
        return [doc for item in value for doc in _signed_documents(item)]
    return []


class FaultMiddleware:
    def __init__(self, app: ASGIApp, state: FaultState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.state.get()
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if self.state.take("fail"):
            # Refused before the endpoint runs: a 503 never has an effect.
            response = problem_response(
                503, "unavailable", "The license cloud is busy; try again shortly.", {"Retry-After": "1"}
            )
            await response(scope, receive, send)
            return
        if not (faults.malformed or faults.bad_signature):
            await self.app(scope, receive, send)
            return
        await self._rewriting(scope, receive, send)

    async def _rewriting(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            else:
                await send(message)

        await self.app(scope, receive, capture)
        if start is None:
            return
        body = self._rewrite(b"".join(chunks))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _rewrite(self, body: bytes) -> bytes:
        if self.state.take("malformed"):
            return body[: len(body) // 2] or b"{"
        try:
            data = json.loads(body)
        except ValueError:
            return body
        documents = _signed_documents(data)
        granted = self.state.take("bad_signature", len(documents)) if documents else 0
        if not granted:
            return body
        for document in documents[:granted]:
            document["signature"] = _corrupt(document["signature"])
        return json.dumps(data, separators=(",", ":")).encode()


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

    @router.get("/faults")
    def get_faults(request: Request) -> Faults:
        state: FaultState = request.app.state.faults
        return state.get()

    @router.post("/faults")
    def set_faults(request: Request, faults: Faults) -> Faults:
        state: FaultState = request.app.state.faults
        state.set(faults)
        return state.get()

    return router
