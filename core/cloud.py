"""Client of the license cloud's /api/v1, over any httpx transport.

Every failure becomes one domain error from core.errors with a sentence a technician understands.
Only reads and Idempotency-Key'd writes are retried, so a retry can never apply an operation twice.
Device calls are signed with the controller's key of their install code (core.request_signature;
``signer_for`` comes from the composition root, so this client never reads the store).

httpx is imported on the first request, not at import: a TUI that has not talked to the cloud yet
paints without it (start-up time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from core.audit_head import AuditHead, AuditHeadAnchor
from core.crashpoints import crashpoint
from core.errors import (
    CloudUnreachable,
    Conflict,
    InvalidAnswer,
    NotFound,
    Refused,
    SmartlicError,
    Unauthorized,
)
from core.models import (
    MAX_BATCH,
    ActivationAnswer,
    Capabilities,
    Clock,
    CloudLicense,
    CloudLicensePage,
    DemoInfo,
    InstallView,
    ReceiptState,
    TransferAnswer,
)
from core.request_signature import CLOUD_TIME_HEADER, signed_headers

if TYPE_CHECKING:
    import httpx

    from core.signing import Signer

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 30.0
PAGE_SIZE = 1000
MAX_PAGES = 10_000
MAX_ANSWER_BYTES = 64 * 1024 * 1024
CHECK_CLOUD = "Check the cloud URL and the network, then try again; nothing was changed."
# Refusals of a device call's signature that a technician can act on: (message, hint).
_DEVICE_REFUSALS = {
    "device_key_mismatch": (
        "The license cloud has another key on record for this segment controller's install code.",
        "Nothing was changed. Contact your partner: the controller may have been reset or copied.",
    ),
    "stale_signature": (
        "The license cloud refused the request: this controller's clock is more than 5 minutes off.",
        "Set the clock right (NTP), then try again; nothing was changed.",
    ),
}
# A change whose answer was lost may have been made: the journal keeps it, sync settles it.
MAY_HAVE_CHANGED = (
    "The cloud may have done this before the connection dropped; `smartlic sync` settles it "
    "(smartlic also does at the next command)."
)


class CloudClient:
    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        signer_for: Callable[[str], Signer] | None = None,
        clock: Clock | None = None,
    ) -> None:
        """``transport_factory`` (instead of ``transport``) builds the transport on the first request.

        ``signer_for(install_code)`` gives the key that signs device calls; without it they go
        unsigned (only for fakes that check no signature). ``clock`` dates the signatures.
        """
        self.base_url = base_url
        self._signer_for = signer_for
        # How far the cloud's clock is from ours, learnt from a stale_signature answer.
        self._clock_offset = timedelta(0)
        self._clock = clock or _utc_now
        self._transport = transport
        self._transport_factory = transport_factory
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._retries = retries
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.requests_sent = 0
        self._capabilities: Capabilities | None = None

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            transport = self._transport
            if transport is None and self._transport_factory is not None:
                transport = self._transport = self._transport_factory()
            self._client = httpx.AsyncClient(
                base_url=f"{self.base_url}/api/v1", transport=transport, timeout=self._timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    # --- device calls ------------------------------------------------------------------------

    async def list_page(
        self,
        customer_id: UUID,
        install_code: str,
        offset: int = 0,
        limit: int = PAGE_SIZE,
        after: UUID | None = None,
    ) -> CloudLicensePage:
        """One page; ``after`` (the previous page's last license) lets the cloud seek, not skip."""
        params: dict[str, Any] = {"install_code": install_code, "offset": offset, "limit": limit}
        if after is not None:
            params["after"] = str(after)
        return await self._call(
            "GET", f"/customers/{customer_id}/licenses", CloudLicensePage, params=params, device=install_code
        )

    async def list_licenses(
        self,
        customer_id: UUID,
        install_code: str,
        on_page: Callable[[list[CloudLicense], int], None] | None = None,
    ) -> list[CloudLicense]:
        """Every available license of the customer, page by page (``on_page(items, total)``)."""
        items: list[CloudLicense] = []
        offset: int | None = 0
        pages = 0
        while offset is not None:
            pages += 1
            if pages > MAX_PAGES:
                raise InvalidAnswer("The license cloud keeps sending pages; the list was not loaded.")
            after = items[-1].license_id if items else None
            page = await self.list_page(customer_id, install_code, offset, after=after)
            items.extend(page.items)
            if on_page:
                on_page(page.items, page.total)
            if page.next_offset is not None and page.next_offset <= offset:
                raise InvalidAnswer("The license cloud sent a page list that does not advance.")
            offset = page.next_offset
        return items

    async def activate(
        self, customer_id: UUID, install_code: str, license_ids: list[UUID], op_id: UUID
    ) -> ActivationAnswer:
        return await self._call(
            "POST",
            f"/customers/{customer_id}/installs/{install_code}/activate",
            ActivationAnswer,
            json={"license_ids": [str(i) for i in license_ids]},
            idempotency_key=op_id,
            device=install_code,
        )

    async def transfer(
        self, customer_id: UUID, install_code: str, license_ids: list[UUID], op_id: UUID
    ) -> TransferAnswer:
        return await self._call(
            "POST",
            f"/customers/{customer_id}/installs/{install_code}/transfer",
            TransferAnswer,
            json={"license_ids": [str(i) for i in license_ids]},
            idempotency_key=op_id,
            device=install_code,
        )

    async def install_view(self, customer_id: UUID, install_code: str) -> InstallView:
        return await self._call(
            "GET",
            f"/customers/{customer_id}/installs/{install_code}/licenses",
            InstallView,
            device=install_code,
        )

    async def audit_head(self, install_code: str) -> AuditHead | None:
        """The audit head the cloud anchors for ``install_code``; None when it holds none yet."""
        try:
            return await self._call(
                "GET", f"/devices/{install_code}/audit-head", AuditHead, device=install_code
            )
        except NotFound as exc:
            if exc.code != "no_audit_head":
                raise
            return None

    async def anchor_audit_head(self, head: AuditHead, held_hash: str | None) -> AuditHead:
        """Have the cloud keep ``head``; ``held_hash`` is the local hash at the count it holds."""
        return await self._call(
            "PUT",
            f"/devices/{head.install_code}/audit-head",
            AuditHead,
            json=AuditHeadAnchor(head=head, held_hash=held_hash).model_dump(mode="json"),
            device=head.install_code,
        )

    async def capabilities(self) -> Capabilities:
        """What the cloud advertises (its batch limit), asked once per client; a cloud without
        the endpoint is taken to accept the API's documented maximum."""
        if self._capabilities is None:
            try:
                self._capabilities = await self._call("GET", "/capabilities", Capabilities)
            except NotFound:
                self._capabilities = Capabilities(max_batch=MAX_BATCH)
        return self._capabilities

    async def max_batch(self) -> int:
        return (await self.capabilities()).max_batch

    async def cancel_return(self, customer_id: UUID, install_code: str, receipt_id: str) -> ReceiptState:
        """Void an offline return receipt that was not credited; the answer says what it became."""
        return await self._call(
            "POST",
            f"/customers/{customer_id}/installs/{install_code}/returns/{receipt_id}/cancel",
            ReceiptState,
            idempotent=True,
        )

    async def demo_info(self) -> DemoInfo:
        return await self._call("GET", "/demo", DemoInfo)

    # --- plumbing ----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        model: type[Model],
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: UUID | None = None,
        device: str | None = None,
        idempotent: bool = False,
    ) -> Model:
        """``device``: the install code whose key signs the call (a device call)."""
        import httpx

        headers = {"Idempotency-Key": str(idempotency_key)} if idempotency_key else {}
        retryable = method == "GET" or idempotency_key is not None or idempotent
        attempt = 0
        resigned = False
        while True:
            try:
                self.requests_sent += 1
                if method == "POST":
                    crashpoint("after-send")
                request = self._http.build_request(method, path, params=params, json=json, headers=headers)
                if device is not None and self._signer_for is not None:
                    self._sign(request, device)
                response = await self._http.send(request, stream=True)
                try:
                    await _read_capped(response)
                finally:
                    await response.aclose()
                if method == "POST" and response.is_success:
                    crashpoint("after-cloud-commit")
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if retryable and attempt < self._retries:
                    await self._backoff(attempt, None)
                    attempt += 1
                    continue
                log.warning("cloud %s %s failed: %s", method, path, type(exc).__name__)
                # Only a refused connection proves the request never arrived.
                sent = method != "GET" and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                raise CloudUnreachable(
                    f"Cannot reach the license cloud at {self.base_url} "
                    f"({_transport_reason(exc, self.base_url)}).",
                    hint=MAY_HAVE_CHANGED if sent else CHECK_CLOUD,
                    code="cloud_answer_lost" if sent else None,
                ) from exc
            if device is not None and not resigned and self._resync_clock(response):
                resigned = True  # once: signed again in the cloud's time
                continue
            if response.status_code in RETRY_STATUSES and retryable and attempt < self._retries:
                await self._backoff(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return _parse(response, model)

    def _sign(self, request: httpx.Request, install_code: str) -> None:
        """Sign ``request`` as sent now (each attempt anew, so a retry is never stale)."""
        assert self._signer_for is not None
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        request.headers.update(
            signed_headers(
                self._signer_for(install_code),
                install_code,
                request.method,
                path,
                query,
                request.content,
                self._clock() + self._clock_offset,
            )
        )

    def _resync_clock(self, response: httpx.Response) -> bool:
        """After a 401 ``stale_signature`` that names the cloud's time: sign in that time from now
        on (this controller's clock is off), and say the request may be signed again."""
        told = response.headers.get(CLOUD_TIME_HEADER)
        if response.status_code != 401 or told is None or not told.isdigit():
            return False
        try:
            code = response.json().get("code")
        except ValueError:
            return False
        if code != "stale_signature":
            return False
        cloud_now = datetime.fromtimestamp(int(told), UTC)
        self._clock_offset = cloud_now - self._clock()
        log.warning(
            "this controller's clock is off from the cloud's by %s: signing in the cloud's time",
            self._clock_offset,
        )
        return True

    async def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = min(8.0, 0.25 * 2**attempt) * (0.5 + self._rng.random())
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, min(MAX_RETRY_AFTER, float(retry_after)))
        await self._sleep(delay)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _read_capped(response: httpx.Response) -> None:
    """Read the body into ``response.content``, refusing one over MAX_ANSWER_BYTES without holding it.

    A declared Content-Length over the limit is refused before a byte of the body is read; a body
    without one (chunked) is read until it passes the limit, and then dropped.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.strip().isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise InvalidAnswer("The license cloud sent an answer that is too large.", hint=CHECK_CLOUD)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise InvalidAnswer("The license cloud sent an answer that is too large.", hint=CHECK_CLOUD)
        chunks.append(chunk)
    response._content = b"".join(chunks)  # what Response.aread() does, with the cap on the way


def _transport_reason(exc: Exception, base_url: str) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    tls = _tls_reason(exc, base_url)
    if tls:
        return tls
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or no route"
    return "the connection dropped"


# What OpenSSL says when the bytes that came back are not TLS at all (a plain HTTP server).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST")


def _tls_reason(exc: BaseException, base_url: str) -> str | None:
    """A TLS mismatch in words: https:// to a plain HTTP server, http:// to a TLS one, a bad certificate.

    httpx wraps the ssl error (ConnectError <- httpcore.ConnectError <- ssl.SSLError), so the
    causes are walked; they are looked at, never shown.
    """
    import ssl

    import httpx

    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 8:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate cannot be verified: {cause.verify_message or 'rejected'}"
        if isinstance(cause, ssl.SSLError):
            text = str(cause).upper()
            if any(marker in text for marker in _NOT_TLS):
                return "the server is not speaking TLS (https) — check the URL's scheme"
            return "the TLS handshake failed"
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    # The reverse: a TLS server sends an alert record, or just hangs up, when spoken to in plain
    # HTTP; httpx keeps neither the bytes nor a reason, so this is a likely cause, not a certainty.
    if base_url.startswith("http://") and isinstance(exc, httpx.RemoteProtocolError):
        return "the server did not answer in plain HTTP; if it speaks TLS (https), check the URL's scheme"
    if base_url.startswith("http://") and isinstance(exc, httpx.ReadError):
        return "the connection dropped; if the cloud speaks TLS (https), check the URL's scheme"
    return None


def _parse(response: httpx.Response, model: type[Model]) -> Model:
    if len(response.content) > MAX_ANSWER_BYTES:
        raise InvalidAnswer("The license cloud sent an answer that is too large.", hint=CHECK_CLOUD)
    if response.is_success:
        try:
            return model.model_validate_json(response.content)
        except (ValidationError, RecursionError) as exc:
            # Only types and places: the input itself is cloud-controlled and may be huge.
            errors = exc.errors()[:3] if isinstance(exc, ValidationError) else []
            where = [(e["type"], e["loc"]) for e in errors]
            log.warning("malformed cloud answer for %s: %s", model.__name__, where)
            raise InvalidAnswer(
                "The license cloud sent an answer smartlic does not understand.", hint=CHECK_CLOUD
            ) from exc
    raise _problem_error(response)


def _problem_error(response: httpx.Response) -> SmartlicError:
    status = response.status_code
    try:
        body = response.json()
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        detail = str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""
    except (ValueError, RecursionError):
        code, detail = "", ""
    detail = detail[:300]
    if code == "customer_not_found":
        return NotFound(
            "The license cloud does not know this Customer ID.",
            hint="Check it in Manage Customer Accounts (it comes from the License Partner Portal).",
            code=code,
        )
    if status in (401, 403) and code in _DEVICE_REFUSALS:
        message, hint = _DEVICE_REFUSALS[code]
        return Unauthorized(message, hint=hint, code=code)
    if status in (401, 403):
        return Unauthorized("The license cloud refused the credentials.", code=code or "unauthorized")
    if status == 404:
        return NotFound(detail or "The license cloud has no such item.", code=code or "not_found")
    if status == 409:
        return Conflict(detail or "The license cloud reports a conflict.", code=code or "conflict")
    if status in (400, 422):
        return Refused(detail or "The license cloud refused the request.", code=code or "refused")
    if status in RETRY_STATUSES or status >= 500:
        return CloudUnreachable(
            f"The license cloud is not available right now (HTTP {status}).",
            hint="Try again in a minute; nothing was changed.",
            code=code or "unavailable",
        )
    return InvalidAnswer(f"The license cloud answered HTTP {status}.", hint=CHECK_CLOUD, code=code or None)
