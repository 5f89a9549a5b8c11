"""The request body limit of the mock cloud, enforced while the body is read.

A declared ``Content-Length`` over :data:`MAX_BODY_BYTES` is refused before a byte is read; a
body without one (chunked) is counted as it arrives and refused the moment it passes the limit,
so the cloud never holds more than the limit of any request. The answer is a 413 problem document.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.mock_cloud.problems import problem_response

MAX_BODY_BYTES = 8 * 1024 * 1024  # 8 MiB: a batch of 5000 license ids is about 200 KiB
_DETAIL = f"The request body is larger than the cloud accepts ({MAX_BODY_BYTES // (1024 * 1024)} MiB)."


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` as the limit is passed; FastAPI lets HTTPExceptions through."""

    def __init__(self) -> None:
        super().__init__(413, _DETAIL)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Raised where no exception handler answers it (e.g. in a middleware reading the body).
            if started:
                raise
            await self._refuse(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(413, "payload_too_large", _DETAIL)(scope, receive, send)
