"""Injected faults, so the client's retries, timeouts, limits and signature checks can be exercised.

Faults act on the wire, in an ASGI middleware, after the endpoint (and its idempotency record) is
done: a garbled, dropped or oversized answer leaves the effect in place, and a retry with the same
Idempotency-Key gets the intact stored answer. Admin calls are exempt, so a test can always reset
the faults. The admin router is mounted only by ``create_app(admin=True)`` (``serve --admin`` or
``--faults``): it has no authentication.

* ``delay``: seconds to wait before every request reaches the endpoint.
* ``fail``: 503 + Retry-After before the endpoint runs (no effect).
* ``malformed`` / ``bad_signature``: a truncated answer / corrupted license signatures.
* ``drop``: the endpoint commits, then the connection drops before the answer is complete. Under a
  server (uvicorn) the socket is closed after the status line; in-process (``httpx.ASGITransport``)
  :class:`ConnectionDropped` is raised, an ``httpx.TransportError`` as a real drop would give.
* ``duplicate``: the request is delivered to the endpoint twice, at the same time; the caller gets
  one of the answers. Harmless on Idempotency-Key'd calls, which is what it proves.
* ``skew``: seconds added to the cloud's clock (issued_at, transfer dates, health time).
* ``oversized``: the endpoint commits, then the answer claims a body of ``OVERSIZED_BYTES`` (one
  byte over the client's 64 MiB limit) and sends a little junk; a client must refuse it from the
  header, without reading (or holding) the body.
* ``hostile``: a cloud that attacks the terminal: ``HOSTILE_TEXT`` (a window title, a screen clear,
  a clipboard write, a bidi override, a one-character C1 CSI) is appended to every description,
  refusal reason and problem detail of the answers, outside signed documents (their signatures
  still verify). Faces must show it, not obey it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.mock_cloud.problems import problem_response

ADMIN_PREFIX = "/api/v1/admin/"
# Asked once per client before its first batch: faults count against the operations under test.
UNFAULTED = ("/api/v1/capabilities",)
# One byte over the client's limit (core.cloud.MAX_ANSWER_BYTES, 64 MiB); never actually sent.
OVERSIZED_BYTES = 64 * 1024 * 1024 + 1
_JUNK = b"\x00junk" * 8192
_TEN_YEARS = 10 * 366 * 24 * 3600
HOSTILE_TEXT = (
    "\x1b]0;PWNED-TITLE\x07"  # OSC 0: retitle the window
    "\x1b[2J\x1b[H"  # clear the screen, cursor home
    "\x1b]52;c;cHduZWQ=\x07"  # OSC 52: write the clipboard
    "\u202eexe.txt"  # RIGHT-TO-LEFT OVERRIDE
    "\x9b2J"  # C1 CSI: clear the screen on 8-bit terminals
)
_HOSTILE_FIELDS = frozenset({"description", "reason", "detail"})


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised in-process where a served cloud would close the socket mid-answer."""

    def __init__(self) -> None:
        super().__init__("the license cloud dropped the connection (injected fault)")


class Faults(BaseModel):
    """What goes wrong next. Counters count down as faults are served."""

    model_config = ConfigDict(extra="forbid")
    delay: float = Field(default=0.0, ge=0, le=60, description="Seconds to wait before every answer")
    fail: int = Field(default=0, ge=0, description="Answer the next N calls with 503 + Retry-After: 1")
    malformed: int = Field(default=0, ge=0, description="Truncate the next N answers (invalid JSON)")
    bad_signature: int = Field(default=0, ge=0, description="Corrupt the next N license signatures")
    drop: int = Field(default=0, ge=0, description="Commit, then drop the connection for the next N calls")
    duplicate: int = Field(default=0, ge=0, description="Deliver the next N requests to the endpoint twice")
    skew: float = Field(
        default=0.0, ge=-_TEN_YEARS, le=_TEN_YEARS, description="Seconds added to the cloud's clock"
    )
    oversized: int = Field(default=0, ge=0, description="Commit, then claim a too-large body for N answers")
    hostile: bool = Field(default=False, description="Put terminal escape sequences into outside text")

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """``"delay=0.1,fail=3,drop=1,skew=-3600"``; ValueError with one readable line."""
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

    def clock(self, clock: Callable[[], datetime]) -> Callable[[], datetime]:
        """``clock`` plus the live ``skew``."""

        def skewed() -> datetime:
            skew = self.get().skew
            return clock() + timedelta(seconds=skew) if skew else clock()

        return skewed

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


def _make_hostile(value: Any) -> bool:
    """Append HOSTILE_TEXT to the outside-text fields of ``value`` in place; whether any was found."""
    found = False
    if isinstance(value, dict):
        if {"payload", "key_id", "signature"} <= value.keys():
            return False  # signed: changing it would only test the signature check
        for key, item in value.items():
            if key in _HOSTILE_FIELDS and isinstance(item, str):
                value[key] = item + HOSTILE_TEXT
                found = True
            else:
                found = _make_hostile(item) or found
    elif isinstance(value, list):
        for item in value:
            found = _make_hostile(item) or found
    return found


class FaultMiddleware:
    def __init__(self, app: ASGIApp, state: FaultState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(ADMIN_PREFIX) or path in UNFAULTED:
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
        if self.state.take("duplicate"):
            await self._duplicated(scope, receive, send)
            return
        await self._deliver(scope, receive, send)

    async def _deliver(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.state.get()
        rewrites = faults.malformed or faults.bad_signature or faults.drop or faults.oversized
        if not (rewrites or faults.hostile):
            await self.app(scope, receive, send)
            return
        await self._rewriting(scope, receive, send)

    async def _duplicated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Both copies reach the endpoint concurrently; the first copy's answer is thrown away."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its request was complete
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break

        def replay() -> Receive:
            delivered = False

            async def receive_copy() -> Message:
                nonlocal delivered
                if delivered:
                    return {"type": "http.disconnect"}
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            return receive_copy

        async def discard(_message: Message) -> None:
            return None

        async def first() -> None:
            try:
                await self.app(dict(scope), replay(), discard)
            except Exception:  # the copy's fate is nobody's business; the second answers
                return

        await asyncio.gather(first(), self._deliver(dict(scope), replay(), send))

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
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if self.state.take("drop"):
            # The effect is committed; the status line goes out, then the connection is gone.
            headers.append((b"content-length", str(max(1, sum(map(len, chunks)))).encode()))
            await send({**start, "headers": headers})
            raise ConnectionDropped()
        if self.state.take("oversized"):
            headers.append((b"content-length", str(OVERSIZED_BYTES).encode()))
            await send({**start, "headers": headers})
            try:
                # Under a server the body falls short of its length, so the server closes the socket.
                await send({"type": "http.response.body", "body": _JUNK, "more_body": False})
            except Exception:  # a server refusing the short body: the client has the header already
                return
            return
        body = self._rewrite(b"".join(chunks))
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
        hostile = self.state.get().hostile and _make_hostile(data)
        documents = _signed_documents(data)
        granted = self.state.take("bad_signature", len(documents)) if documents else 0
        if not granted and not hostile:
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
