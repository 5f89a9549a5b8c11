"""Dry runs (``--check``) of the mutating commands: what each would change, by the rules the command
itself applies, writing nothing. Cloud questions are reads (the offer, the install view)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from core import rules
from core.models import DeviceState
from core.signing import key_id_of, load_public_key
from core.store import Tx
from core.usecases import online, reads
from core.usecases.context import Context, find_segment
from core.usecases.local import customer_id_change
from core.views import Plan

NOT_OFFERED = "the cloud does not offer it to this controller"


def customer_id(ctx: Context, ref: str, text: str) -> Plan:
    with ctx.store.read() as tx:
        change = customer_id_change(tx, ref, text)
        seg = find_segment(tx, ref)
    if change is None:
        return Plan(changed=False, unchanged=[f"{seg.name}: Customer ID is {seg.customer_id or '(none)'}"])
    new = change[1]
    return Plan(
        changed=True,
        changes=[f"{seg.name}: Customer ID {seg.customer_id or '(none)'} -> {new or '(none)'}"],
    )


async def activate(ctx: Context, ref: str, license_ids: Sequence[UUID]) -> Plan:
    seg = ctx.segment_with_customer(ref)
    wanted = list(dict.fromkeys(license_ids))
    with ctx.store.read() as tx:
        active = rules.already_active(tx.licenses(seg.install_code), wanted)
    to_send = [i for i in wanted if i not in active]
    offered: set[UUID] = set()
    if to_send:
        offered = {lic.license_id for lic in (await online.cloud_licenses(ctx, seg.install_code)).licenses}
    return Plan(
        changed=any(i in offered for i in to_send),
        changes=[f"{seg.name}: activate {i}" for i in to_send if i in offered],
        unchanged=[f"{seg.name}: {i} is active already" for i in active],
        refused={str(i): NOT_OFFERED for i in to_send if i not in offered},
    )


def transfer(ctx: Context, ref: str) -> Plan:
    seg = ctx.segment_with_customer(ref)
    with ctx.store.read() as tx:
        licenses = tx.licenses(seg.install_code)
        licensed = _licensed_devices(tx, seg.install_code)
    if not licenses:
        return Plan(changed=False, refused={seg.name: "it has no licenses to transfer"})
    changes = [f"{seg.name}: return {lic.license_id} to the cloud" for lic in licenses]
    changes.append(f"{seg.name}: {licensed} device(s) become unlicensed")
    return Plan(changed=True, changes=changes)


def provision(ctx: Context, ref: str, device_ids: Sequence[str] | None) -> Plan:
    with ctx.store.read() as tx:
        seg = find_segment(tx, ref)
        plan = rules.plan_provisioning(tx.device_ranks(seg.install_code), device_ids)
    asked = list(dict.fromkeys(device_ids)) if device_ids is not None else []
    done = [d for d in asked if d not in plan.provision and d not in plan.refused]
    return Plan(
        changed=bool(plan.provision),
        changes=[f"{seg.name}: provision {d}" for d in plan.provision],
        unchanged=[f"{seg.name}: {d} is provisioned already" for d in done],
        refused=plan.refused,
    )


async def sync(ctx: Context) -> Plan:
    changes = [f"finish the interrupted {op.kind.value} {op.op_id}" for op in reads.journal(ctx)]
    unchanged: list[str] = []
    for seg in reads.segments(ctx):
        if seg.customer_id is None:
            unchanged.append(f"{seg.name}: skipped (no Customer ID)")  # as sync skips it
            continue
        view = await ctx.cloud.install_view(seg.customer_id, seg.install_code)
        cloud = [ctx.verify_grant(document, seg).license_id for document in view.documents]
        with ctx.store.read() as tx:
            local = [lic.license_id for lic in tx.licenses(seg.install_code)]
        adopted, removed = rules.reconcile_diff(local, cloud)
        changes += [f"{seg.name}: adopt {i} (the cloud holds it here)" for i in adopted]
        changes += [f"{seg.name}: remove {i} (the cloud does not hold it here)" for i in removed]
        if not adopted and not removed:
            unchanged.append(f"{seg.name}: agrees with the cloud")
    return Plan(changed=bool(changes), changes=changes, unchanged=unchanged)


def trust_add(ctx: Context, pem: bytes) -> Plan:
    key_id = key_id_of(load_public_key(pem))
    if key_id in ctx.trust.key_ids():
        return Plan(changed=False, unchanged=[f"key {key_id} is trusted already"])
    return Plan(changed=True, changes=[f"trust key {key_id}"])


def _licensed_devices(tx: Tx, install_code: str) -> int:
    return sum(1 for d in tx.device_ranks(install_code) if d.state is not DeviceState.UNLICENSED)
