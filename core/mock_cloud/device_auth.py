"""Who is calling a device endpoint: the install code whose bound key signed the request.

The profile of the signature is core.request_signature (RFC 9421, minimal). Here the cloud looks
up the key bound to the signer's install code, binds the offered key on first use, and refuses
with a 401 problem document otherwise, so that a Customer ID and an install code alone move
nothing. ``created`` is judged by the cloud's own clock without the skew fault (the fault moves
the dates the cloud writes, not the way it checks a caller).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Header, Request
from starlette.concurrency import run_in_threadpool

from core.mock_cloud.db import CloudDB, DeviceKey
from core.mock_cloud.device_keys import bind_on_first_use, parse_raw
from core.mock_cloud.problems import ApiProblem
from core.request_signature import (
    CLOUD_TIME_HEADER,
    DEVICE_KEY_HEADER,
    RequestSignatureError,
    SignedRequest,
    check_signed_request,
)
from core.rules import is_install_code
from core.signing import load_public_key, verifies

if TYPE_CHECKING:
    from datetime import date

    from core.mock_cloud.api import CloudContext

_CHALLENGE = {"WWW-Authenticate": 'Signature realm="smartlic device"'}


def valid_install_code(text: str) -> str:
    if not is_install_code(text):
        raise ApiProblem(
            422, "invalid_install_code", f"{text!r} is not an install code: 7 characters, 0-9 and a-z."
        )
    return text


def _refused(code: str, detail: str) -> ApiProblem:
    return ApiProblem(401, code, detail, headers=_CHALLENGE)


async def device_install_code(
    request: Request,
    signature_input: Annotated[
        str | None, Header(alias="Signature-Input", description="RFC 9421, see the README")
    ] = None,
    signature: Annotated[str | None, Header(alias="Signature")] = None,
    content_digest: Annotated[str | None, Header(alias="Content-Digest")] = None,
    device_key: Annotated[
        str | None, Header(alias=DEVICE_KEY_HEADER, description=":base64: of the raw Ed25519 public key")
    ] = None,
) -> str:
    """The install code that signed this request (a FastAPI dependency); 401 when it did not."""
    context: CloudContext = request.app.state.cloud
    named = request.path_params.get("install_code") or request.query_params.get("install_code")
    if named is not None:
        valid_install_code(named)  # a typo is told as such, not as a bad signature
    body = await request.body()
    path = (request.scope.get("raw_path") or request.scope["path"].encode()).decode("latin-1")
    query = request.scope.get("query_string", b"").decode("latin-1")
    headers = {
        "Signature-Input": signature_input,
        "Signature": signature,
        "Content-Digest": content_digest,
        DEVICE_KEY_HEADER: device_key,
    }
    try:
        signed = check_signed_request(headers, request.method, path, query, body, context.base_clock())
    except RequestSignatureError as exc:
        problem = _refused(exc.code, str(exc))
        if exc.code == "stale_signature":
            # The cloud's time, so that a controller whose clock is off can sign its retry in the
            # cloud's time (as Kerberos answers a skewed ticket). Unsigned: it moves nothing but
            # the retry's `created`, and the controller's trusted time comes from signed answers.
            problem.headers[CLOUD_TIME_HEADER] = str(int(context.base_clock().timestamp()))
        raise problem from None
    if not is_install_code(signed.keyid) or (named is not None and named != signed.keyid):
        raise _refused(
            "signature_keyid_mismatch",
            "The signature's keyid must be the install code the request is about.",
        )
    await run_in_threadpool(_check_key, context.db, signed, context.base_clock().date())
    return signed.keyid


def _check_key(db: CloudDB, signed: SignedRequest, today: date) -> None:
    """The signature verifies against the key bound to its install code (bound now if none was)."""
    offered = None if signed.offered_key is None else parse_raw(signed.offered_key)
    if signed.offered_key is not None and offered is None:
        raise _refused("invalid_device_key", f"{DEVICE_KEY_HEADER} is not an Ed25519 public key.")
    with db.read() as tx:
        bound = tx.device_key(signed.keyid)
    _refuse_other_key(bound, offered, signed.keyid)
    if bound is not None:
        pem = bound.public_key_pem
    elif offered is not None:
        pem = offered[1]
    else:
        raise _refused(
            "device_key_unknown",
            f"The cloud knows no key for install code {signed.keyid}; send it in {DEVICE_KEY_HEADER}.",
        )
    if not verifies(load_public_key(pem.encode()), signed.signature, signed.base):
        raise _refused("invalid_signature", "The request signature does not verify.")
    if bound is None:
        assert offered is not None
        with db.write() as tx:
            # Another request may have bound a key meanwhile: the first one wins.
            _refuse_other_key(bind_on_first_use(tx, signed.keyid, *offered, today), offered, signed.keyid)


def _refuse_other_key(bound: DeviceKey | None, offered: tuple[str, str] | None, install_code: str) -> None:
    if bound is not None and offered is not None and offered[0] != bound.key_id:
        raise _refused(
            "device_key_mismatch",
            f"Install code {install_code} is bound to another controller key; this request is refused.",
        )
