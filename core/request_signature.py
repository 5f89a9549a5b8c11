"""Device request signatures: a minimal profile of HTTP Message Signatures (RFC 9421).

Every device call to the license cloud (listing, activate, transfer, install view) is signed by
the segment controller's own Ed25519 key, so that a Customer ID and an install code alone (both
printed in a support bundle) move nothing. The client (core.cloud) and the mock cloud both use
this module, so the profile lives in one place:

* ``Content-Digest: sha-256=:<base64 SHA-256 of the body bytes>:`` (RFC 9530; an empty body too).
* ``Signature-Input: sig1=("@method" "@path" "@query" "content-digest");created=<unix seconds>;
  keyid="<install code>";alg="ed25519"`` (one line). ``@path`` and ``@query`` together are the
  request target with its query; ``@query`` is ``?`` alone when there is none.
* ``Signature: sig1=:<base64 Ed25519 signature of the signature base>:``.
* ``Smartlic-Device-Key: :<base64 of the raw 32-byte public key>:`` on every call: the cloud binds
  the key to the install code on first use (or when a partner earmarks a license for it with the
  key) and refuses any other key for that install code afterwards (401 ``device_key_mismatch``).

The signature base (RFC 9421 §2.5) is one line per covered component, joined by ``\\n`` with no
final newline::

    "@method": POST
    "@path": /api/v1/customers/<customer id>/installs/<install code>/activate
    "@query": ?
    "content-digest": sha-256=:...:
    "@signature-params": ("@method" "@path" "@query" "content-digest");created=...;keyid="...";alg="ed25519"

A ``created`` more than :data:`MAX_CLOCK_SKEW` away from the cloud's clock is refused (401
``stale_signature``, with the cloud's time in unix seconds in ``Smartlic-Cloud-Time``: the client
signs its one retry in that time). The label must be ``sig1``; other labels, extra signatures and other
algorithms are not part of this profile.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.signing import Signer, raw_public_key

LABEL = "sig1"
ALGORITHM = "ed25519"
COVERED = ("@method", "@path", "@query", "content-digest")
CLOUD_TIME_HEADER = "Smartlic-Cloud-Time"
MAX_CLOCK_SKEW = timedelta(minutes=5)
DEVICE_KEY_HEADER = "Smartlic-Device-Key"
_INPUT = re.compile(
    r'^sig1=\((?P<components>(?:"[a-z@-]+" ?)*)\)'
    r'(?P<params>(?:;(?:created=\d{1,12}|keyid="[0-9a-z]{1,64}"|alg="[0-9a-z-]{1,32}"))*)$'
)


class RequestSignatureError(ValueError):
    """A request whose signature headers do not fit the profile; ``code`` is the problem code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class SignedRequest:
    """What a well-formed, fresh signed request claims; the key check itself is the caller's."""

    keyid: str
    created: int
    signature: bytes
    base: bytes
    offered_key: bytes | None  # the raw public key of Smartlic-Device-Key, when sent


def content_digest(body: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def signature_params(created: int, keyid: str) -> str:
    components = " ".join(f'"{name}"' for name in COVERED)
    return f'({components});created={created};keyid="{keyid}";alg="{ALGORITHM}"'


def signature_base(method: str, path: str, query: str, digest: str, params: str) -> bytes:
    lines = [
        f'"@method": {method.upper()}',
        f'"@path": {path}',
        f'"@query": ?{query}',
        f'"content-digest": {digest}',
        f'"@signature-params": {params}',
    ]
    return "\n".join(lines).encode()


def byte_sequence(value: bytes) -> str:
    """An RFC 8941 byte sequence: ``:base64:``."""
    return f":{base64.b64encode(value).decode()}:"


def signed_headers(
    signer: Signer, install_code: str, method: str, path: str, query: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers that sign one device request (``query`` without its ``?``)."""
    digest = content_digest(body)
    params = signature_params(int(now.timestamp()), install_code)
    signature = signer.sign_bytes(signature_base(method, path, query, digest, params))
    return {
        "Content-Digest": digest,
        "Signature-Input": f"{LABEL}={params}",
        "Signature": f"{LABEL}={byte_sequence(signature)}",
        DEVICE_KEY_HEADER: byte_sequence(raw_public_key(signer.public_key)),
    }


def _parse_bytes(text: str, prefix: str = "") -> bytes | None:
    if not (text.startswith(prefix + ":") and text.endswith(":")) or len(text) > 512:
        return None
    try:
        return base64.b64decode(text[len(prefix) + 1 : -1], validate=True)
    except (binascii.Error, ValueError):
        return None


def check_signed_request(
    headers: Mapping[str, str | None], method: str, path: str, query: str, body: bytes, now: datetime
) -> SignedRequest:
    """The claims of a signed request, after every check that needs no key; else RequestSignatureError.

    ``headers`` maps the four header names of the profile to their values (None when absent).
    """
    signature_input = headers.get("Signature-Input")
    signature_text = headers.get("Signature")
    if not signature_input or not signature_text:
        raise RequestSignatureError(
            "signature_required",
            "Device calls are signed with the segment controller's key (Signature-Input and Signature "
            "headers, RFC 9421); a Customer ID alone is not enough.",
        )
    match = _INPUT.match(signature_input.strip())
    if match is None:
        raise RequestSignatureError("invalid_signature", "Signature-Input does not fit the profile.")
    params_text = signature_input.strip()[len(LABEL) + 1 :]
    components = tuple(re.findall(r'"([^"]+)"', match["components"]))
    params = dict(re.findall(r';([a-z]+)=("?[^;]*"?)', match["params"]))
    if components != COVERED or "created" not in params or "keyid" not in params:
        raise RequestSignatureError(
            "invalid_signature",
            'The signature covers "@method" "@path" "@query" "content-digest" and names created, keyid.',
        )
    if params.get("alg", f'"{ALGORITHM}"') != f'"{ALGORITHM}"':
        raise RequestSignatureError("invalid_signature", "Device request signatures are Ed25519.")
    created = int(params["created"])
    if abs(now.timestamp() - created) > MAX_CLOCK_SKEW.total_seconds():
        raise RequestSignatureError(
            "stale_signature",
            "The request was signed more than 5 minutes away from the cloud's clock; check the "
            "controller's clock.",
        )
    digest = content_digest(body)
    if headers.get("Content-Digest") != digest:
        raise RequestSignatureError("content_digest_mismatch", "The Content-Digest does not match the body.")
    signature = _parse_bytes(signature_text.strip(), f"{LABEL}=")
    if signature is None:
        raise RequestSignatureError("invalid_signature", "The Signature header is not sig1=:base64:.")
    offered_text = headers.get(DEVICE_KEY_HEADER)
    offered = None if offered_text is None else _parse_bytes(offered_text.strip())
    if offered_text is not None and (offered is None or len(offered) != 32):
        raise RequestSignatureError(
            "invalid_device_key", f"{DEVICE_KEY_HEADER} is not :base64: of a 32-byte Ed25519 key."
        )
    return SignedRequest(
        keyid=params["keyid"].strip('"'),
        created=created,
        signature=signature,
        base=signature_base(method, path, query, digest, params_text),
        offered_key=offered,
    )
