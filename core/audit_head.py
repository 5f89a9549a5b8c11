"""The signed head of the audit log: what the controller vouches for and the cloud anchors.

The controller signs "my audit log has ``entries`` entries and the newest has hash ``hash``" with
the device key of its anchor install code (the first segment's), the key the cloud has bound to
that install code already. Sync sends the head to the cloud, which keeps the newest per install
code, so that a history rewritten later (by anyone who can write the store, and so can also read
the key and sign again) no longer contains the head the cloud holds.

Pure, and shared by the controller (core.usecases.audit_anchor) and the mock cloud.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, ConfigDict, Field

from core.models import Frozen
from core.signing import canonical_json, verifies
from core.utc import utc_text

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from core.signing import Signer

HASH_PATTERN = r"^[0-9a-f]{64}$"


class AuditHead(Frozen):
    install_code: str = Field(pattern=r"^[0-9a-z]{7}$", description="The anchor install code")
    entries: int = Field(ge=1, le=10**12, description="How many entries the audit log has")
    hash: str = Field(pattern=HASH_PATTERN, description="The hash of the newest entry")
    signed_at: AwareDatetime
    signature: str = Field(max_length=128, description="base64 Ed25519 signature by the device key")

    def signed_bytes(self) -> bytes:
        return head_bytes(self.install_code, self.entries, self.hash, self.signed_at)


class AuditHeadAnchor(Frozen):
    """The body of PUT /devices/{install_code}/audit-head."""

    # Built at once: FastAPI wraps it with a field alias, which a deferred model would ignore (and warn).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=False)

    head: AuditHead
    held_hash: str | None = Field(
        default=None,
        pattern=HASH_PATTERN,
        description="The controller's hash at the entry count the cloud holds (when it holds one): "
        "a head that does not extend the anchored history is refused",
    )


def head_bytes(install_code: str, entries: int, digest: str, signed_at: Any) -> bytes:
    body = {
        "kind": "smartlic-audit-head",
        "install_code": install_code,
        "entries": entries,
        "hash": digest,
        "signed_at": utc_text(signed_at),
    }
    return canonical_json(body)


def sign_head(signer: Signer, install_code: str, entries: int, digest: str, at: Any) -> AuditHead:
    signature = signer.sign_bytes(head_bytes(install_code, entries, digest, at))
    return AuditHead(
        install_code=install_code,
        entries=entries,
        hash=digest,
        signed_at=at,
        signature=base64.b64encode(signature).decode(),
    )


def head_verifies(public_key: Ed25519PublicKey, head: AuditHead) -> bool:
    try:
        signature = base64.b64decode(head.signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    return verifies(public_key, signature, head.signed_bytes())
