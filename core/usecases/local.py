"""Changes that stay on the controller: Customer ID, notes, provisioning, trusted keys."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from core import rules
from core.errors import InvalidInput, NotFound, Refused
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
)


def customer_id_problem(text: str) -> str | None:
    """Why ``text`` would be refused by set_customer_id, for checking as the user types.

    An empty value is fine: it clears the Customer ID.
    """
    return rules.customer_id_problem(text) if text.strip() else None


def customer_id_change(tx: Tx, ref: str, text: str) -> tuple[SegmentController, UUID | None] | None:
    """The segment and its new Customer ID, or None when it has that one already; refused (with the
    reason) while the segment holds licenses. Set and its dry run (--check) both ask this."""
    customer_id = None
    if text.strip():
        try:
            customer_id = rules.parse_customer_id(text)
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalid_customer_id") from exc
    seg = find_segment(tx, ref)
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


def set_customer_id(ctx: Context, ref: str, text: str) -> SegmentController:
    """Set (or, with an empty ``text``, clear) the segment's Customer ID."""
    with ctx.store.write() as tx:
        change = customer_id_change(tx, ref, text)
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


def set_note(ctx: Context, license_id: UUID, note: str) -> None:
    clean = "".join(c for c in note if c.isprintable())[:500]
    with ctx.store.write() as tx:
        lic = tx.license(license_id)
        if lic is None:
            raise NotFound(f"No license {license_id} is active on this controller.")
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
