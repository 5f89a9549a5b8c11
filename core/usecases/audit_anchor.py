"""The audit log's signed head: signed at every entry, anchored in the cloud at sync, checked by verify.

Which key signs: the device key of the first segment (its *anchor install code*), not a key of its
own. The cloud has bound that key to the install code already (device calls are signed with it),
so it can refuse a head signed by any other key without a second trust-on-first-use. A separate
audit key would sit in the same store anyway: whoever can rewrite the store can read either key
and sign a rewritten history, which is why the local signature only catches clumsy edits and the
cloud's anchor (which only moves forward, and only along the history it holds) is the real check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.audit_head import AuditHead, head_verifies, sign_head
from core.device_keys import device_signer, stored_signer
from core.errors import CloudUnreachable, SmartlicError
from core.views import AuditCheck, SyncReport

if TYPE_CHECKING:
    from core.models import AuditEntry
    from core.store import Tx
    from core.usecases.context import Context

SIGNED_HEAD_KEY = "audit_head_signed"
WHAT_TO_DO = (
    "Keep this store as it is for investigation, tell whoever is responsible for the controller's "
    "security, and restore the store from a backup taken before the change."
)


def anchor_install_code(tx: Tx) -> str | None:
    segments = tx.segments()
    return segments[0].install_code if segments else None


def sign_new_head(tx: Tx, entry: AuditEntry) -> None:
    """Sign the head that ``entry`` makes, in the transaction that wrote it."""
    code = anchor_install_code(tx)
    if code is not None:
        head = sign_head(device_signer(tx, code), code, entry.seq, entry.hash, entry.at)
        tx.meta_set(SIGNED_HEAD_KEY, head.model_dump_json())


def head_problem(tx: Tx, entries: list[AuditEntry]) -> tuple[int | None, str | None]:
    """The signed head's entry count, and what is wrong with it (None when it holds).

    Called once the chain itself verified: the head must verify with the controller's key and
    name an entry the chain still has.
    """
    text = tx.meta_get(SIGNED_HEAD_KEY)
    code = anchor_install_code(tx)
    if text is None or code is None:
        return None, None
    signer = stored_signer(tx, code)
    try:
        head = AuditHead.model_validate_json(text)
    except ValidationError:
        return None, "The audit log's signed head is damaged: it was edited outside smartlic. " + WHAT_TO_DO
    if signer is None or head.install_code != code or not head_verifies(signer.public_key, head):
        return head.entries, (
            "The audit log's signed head does not verify with this controller's key: it was "
            "rewritten outside smartlic. " + WHAT_TO_DO
        )
    problem = _missing(entries, head, "as this controller signed it")
    return head.entries, problem


async def verify_with_cloud(ctx: Context, local: AuditCheck) -> AuditCheck:
    """``local`` (the chain and signature check), then the cloud's anchored head, when reachable."""
    if not local.ok:
        return local
    with ctx.store.read() as tx:
        code = anchor_install_code(tx)
        entries = tx.audit_entries()
    if code is None:
        return local
    try:
        held = await ctx.cloud.audit_head(code)
    except CloudUnreachable:
        return local.model_copy(
            update={
                "cloud": "unreachable",
                "message": f"{local.message} The check was local only: the license cloud could not be "
                "reached, and a history rewritten together with its chain and signature shows only "
                "against the head anchored there. Check again when the cloud is reachable.",
            }
        )
    if held is None:
        return local.model_copy(
            update={
                "cloud": "none anchored",
                "message": f"{local.message} The license cloud holds no anchored head for {code} yet "
                "(`smartlic sync` anchors one).",
            }
        )
    problem = _missing(
        entries, held, f"as the license cloud anchored it on {held.signed_at:%Y-%m-%d %H:%M} UTC"
    )
    if problem is not None:
        return local.model_copy(
            update={"ok": False, "cloud": "differs", "first_bad_seq": held.entries, "message": problem}
        )
    return local.model_copy(
        update={
            "cloud": "matches",
            "message": f"{local.message} The license cloud's anchored head (entry {held.entries}) matches.",
        }
    )


async def anchor_after_sync(ctx: Context, report: SyncReport) -> SyncReport:
    """Anchor the signed head in the cloud, when this sync talked to it; a refusal is a warning."""
    if ctx.store.read_only or len(report.skipped) == _segment_count(ctx):
        return report
    try:
        anchored = await _anchor(ctx)
    except SmartlicError as exc:
        warning = f"The audit log's head was not anchored in the license cloud: {exc.message}"
        return report.model_copy(update={"audit_warning": warning})
    return report.model_copy(update={"audit_anchored": anchored})


async def _anchor(ctx: Context) -> int | None:
    with ctx.store.write() as tx:
        head = _current_signed_head(tx)
        entries = tx.audit_entries()
    if head is None:
        return None
    held = await ctx.cloud.audit_head(head.install_code)
    held_hash = None
    if held is not None:
        problem = _missing(entries, held, "as the license cloud anchored it")
        if problem is not None:
            raise AuditRewritten(problem + " Run `smartlic audit verify`.")
        held_hash = held.hash
        if held.entries == head.entries:
            return held.entries
    return (await ctx.cloud.anchor_audit_head(head, held_hash)).entries


class AuditRewritten(SmartlicError):
    """The local audit log no longer holds the head the cloud anchored."""


def _current_signed_head(tx: Tx) -> AuditHead | None:
    """The signed head of the newest entry, signed now if it is not yet (older stores)."""
    newest = tx.audit_head()
    code = anchor_install_code(tx)
    if newest is None or code is None:
        return None
    text = tx.meta_get(SIGNED_HEAD_KEY)
    with_signature = None
    if text is not None:
        try:
            with_signature = AuditHead.model_validate_json(text)
        except ValidationError:
            with_signature = None
    if with_signature is not None and (with_signature.entries, with_signature.hash) == newest:
        return with_signature
    entry = next((e for e in tx.audit_entries(limit=1) if e.seq == newest[0]), None)
    if entry is None:
        return None  # the newest entry is gone: verify says so; nothing is vouched for
    sign_new_head(tx, entry)
    return AuditHead.model_validate_json(tx.meta_get(SIGNED_HEAD_KEY) or "")


def _missing(entries: list[AuditEntry], head: AuditHead, source: str) -> str | None:
    """Why the chain does not contain ``head``'s entry with its hash, or None when it does."""
    found = next((e for e in entries if e.seq == head.entries), None)
    if found is not None and found.hash == head.hash:
        return None
    if found is None:
        newest = entries[-1].seq if entries else 0
        what = f"it ends at entry {newest}, but had {head.entries} entries {source}"
    else:
        what = f"entry {head.entries} is not the one {source}"
    return (
        f"The audit log was rewritten: {what}; entries were deleted or edited and the chain "
        f"recomputed. {WHAT_TO_DO}"
    )


def _segment_count(ctx: Context) -> int:
    with ctx.store.read() as tx:
        return len(tx.segments())
