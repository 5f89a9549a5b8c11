"""The audit log's hash chain: each entry's hash covers its fields and the hash before it.

Pure: the store writes what ``audit_hash`` returns, and anyone holding the entries can check them
with ``verify_audit_chain`` without the store.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from core.models import AuditEntry
from core.signing import canonical_json
from core.utc import utc_text

__all__ = ["GENESIS_HASH", "audit_hash", "recomputed_hash", "verify_audit_chain"]

GENESIS_HASH = "0" * 64
# The fields of an entry its hash covers, besides the hash before it.
_HASHED_FIELDS = {"seq", "at", "actor", "operation", "install_code", "detail", "result"}


def audit_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    operation: str,
    install_code: str | None,
    detail: dict[str, Any],
    result: str,
) -> str:
    body = {
        "seq": seq,
        "at": utc_text(at),
        "actor": actor,
        "operation": operation,
        "install_code": install_code,
        "detail": detail,
        "result": result,
    }
    return hashlib.sha256(prev_hash.encode() + canonical_json(body)).hexdigest()


def recomputed_hash(entry: AuditEntry) -> str:
    return audit_hash(entry.prev_hash, **entry.model_dump(include=_HASHED_FIELDS))


def verify_audit_chain(entries: list[AuditEntry]) -> int | None:
    """The seq of the first entry that breaks the chain, or None when the whole list holds.

    A list that starts at seq 1 must start from the genesis hash; a tail (``audit_entries(limit=…)``)
    is anchored on its first entry's ``prev_hash``, which its own hash still covers.
    """
    expected_prev: str | None = GENESIS_HASH if entries and entries[0].seq == 1 else None
    expected_seq: int | None = None
    for entry in entries:
        if expected_seq is not None and entry.seq != expected_seq:
            return entry.seq  # a missing or reordered entry
        if expected_prev is not None and entry.prev_hash != expected_prev:
            return entry.seq
        if recomputed_hash(entry) != entry.hash:
            return entry.seq
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    return None
