"""Changes that stay on the controller: Customer ID, notes, provisioning, trusted keys."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from core import rules, sanitize
from core.errors import ChangedMeanwhile, InvalidInput, NotFound, Refused
from core.models import (
    DeviceState,
    SegmentController,
)
from core.store import Tx
from core.usecases.context import (
    Context,
    find_segment,
    str_or_none,
)
from core.views import (
    ProvisionResult,
    TrustedKey,
)


def customer_id_problem(text: str) -> str | None:
    """Why ``text`` would be refused by set_customer_id, for checking as the user types.

    An empty value is fine: it clears the Customer ID.
    """
    return rules.customer_id_problem(text) if text.strip() else None


def _parse_customer_id(text: str) -> UUID | None:
    """The Customer ID in ``text``, or None for an empty text (it clears the ID)."""
    if not text.strip():
        return None
    try:
        return rules.parse_customer_id(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_customer_id") from exc


def _refuse_if_changed(what: str, stored: str, expected: str | None) -> None:
    """Compare-and-set: an edit that began from ``expected`` saves only while ``stored`` is still it.

    ``expected`` None means the caller did not say what it started from (no check).
    """
    if expected is not None and stored != expected:
        raise ChangedMeanwhile(
            f"{what} was changed meanwhile (now {stored or '(none)'}); nothing was saved.",
            stored=stored,
            hint="Keep yours by saving again over it, or take the stored value.",
        )


def customer_id_change(
    tx: Tx, ref: str, text: str, expected: str | None = None
) -> tuple[SegmentController, UUID | None] | None:
    """The segment and its new Customer ID, or None when it has that one already; refused (with the
    reason) while the segment holds licenses, or when it is no longer ``expected`` (the Customer ID
    the edit started from, "" for none). Set and its dry run (--check) both ask this."""
    customer_id = _parse_customer_id(text)
    expected_id = None if expected is None else str_or_none(_parse_customer_id(expected)) or ""
    seg = find_segment(tx, ref)
    _refuse_if_changed(f"The Customer ID of {seg.name}", str_or_none(seg.customer_id) or "", expected_id)
    if seg.customer_id == customer_id:
        return None
    active = tx.licenses(seg.install_code)
    if active:
        raise Refused(
            f"{seg.name} still has {len(active)} license(s) under its current Customer ID.",
            hint="Transfer to Cloud first, then change the Customer ID.",
            code="licenses_active",
        )
    return seg, customer_id


def set_customer_id(ctx: Context, ref: str, text: str, expected: str | None = None) -> SegmentController:
    """Set (or, with an empty ``text``, clear) the segment's Customer ID.

    ``expected``: the Customer ID the edit started from ("" for none); when the stored one differs,
    ChangedMeanwhile is raised and nothing changes.
    """
    with ctx.store.write() as tx:
        change = customer_id_change(tx, ref, text, expected)
        if change is None:
            return find_segment(tx, ref)
        seg, customer_id = change
        tx.set_customer_id(seg.install_code, customer_id)
        ctx.audit(
            tx,
            "set-customer-id",
            seg.install_code,
            {"old": str_or_none(seg.customer_id), "new": str_or_none(customer_id)},
            "ok",
        )
        return seg.model_copy(update={"customer_id": customer_id})


def clean_note(note: str) -> str:
    """What a Note keeps of ``note``: at most 500 characters, control and bidi ones as visible escapes."""
    return sanitize.clean(note)[:500]


def set_note(ctx: Context, license_id: UUID, note: str, expected: str | None = None) -> None:
    """Set a license's Note; ``expected`` (the Note the edit started from) makes it compare-and-set."""
    clean = clean_note(note)
    with ctx.store.write() as tx:
        lic = tx.license(license_id)
        if lic is None:
            raise NotFound(f"No license {license_id} is active on this controller.")
        if expected is not None:
            _refuse_if_changed(f"The Note of license {license_id}", lic.note, clean_note(expected))
        tx.set_note(license_id, clean)
        ctx.audit(tx, "set-note", lic.install_code, {"license_id": str(license_id)}, "ok")


def provision(ctx: Context, ref: str, device_ids: Sequence[str] | None) -> ProvisionResult:
    """Provision the given devices, or (``None``) every licensed unprovisioned one."""
    with ctx.store.write() as tx:
        seg = find_segment(tx, ref)
        plan = rules.plan_provisioning(tx.device_ranks(seg.install_code), device_ids)
        tx.set_device_states(dict.fromkeys(plan.provision, DeviceState.PROVISIONED))
        ctx.audit(
            tx,
            "provision",
            seg.install_code,
            {"provisioned": plan.provision, "refused": plan.refused},
            "ok" if plan.provision or not plan.refused else "refused",
        )
    return ProvisionResult(provisioned=plan.provision, refused=plan.refused)


def trust_add(ctx: Context, pem: bytes) -> str:
    key_id = ctx.trust.add(pem)
    with ctx.store.write() as tx:
        ctx.audit(tx, "trust-add", None, {"key_id": key_id}, "ok")
    return key_id


def trust_list(ctx: Context) -> list[TrustedKey]:
    """Every trusted key: the trust store's files, then the embedded demo's (in memory only)."""
    return [TrustedKey(key_id=k, source="trust store") for k in ctx.trust.key_ids()] + [
        TrustedKey(key_id=k, source="embedded demo") for k in ctx.trust.process_key_ids()
    ]


def trust_remove(ctx: Context, key_id: str, reason: str = "removed by the user") -> None:
    """Stop trusting ``key_id``: licenses it signed are refused from now on."""
    if key_id in ctx.trust.process_key_ids():
        raise Refused(
            f"Key {key_id} is the embedded demo cloud's; it is trusted only while no cloud URL is set.",
            hint="Set SMARTLIC_CLOUD_URL (or cloud_url in the settings file) to stop trusting it.",
            code="embedded_key",
        )
    with ctx.store.write() as tx:
        if not ctx.trust.remove(key_id):
            raise NotFound(
                f"No trusted key has the id {key_id!r}.",
                hint="`smartlic trust list` shows the trusted keys.",
                code="key_not_found",
            )
        ctx.audit(tx, "trust-remove", None, {"key_id": key_id, "reason": reason}, "ok")
