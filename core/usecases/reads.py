"""Reads of the controller's state, shaped for the faces."""

from __future__ import annotations

from datetime import date

from core import rules
from core.models import (
    AuditEntry,
    Device,
    DeviceState,
    JournalEntry,
    License,
    SegmentController,
)
from core.usecases.context import (
    Context,
    find_segment,
)
from core.views import (
    DeviceRow,
    LicenseRow,
    SegmentSummary,
)


def segments(ctx: Context) -> list[SegmentController]:
    with ctx.store.read() as tx:
        return tx.segments()


def segment(ctx: Context, ref: str) -> SegmentController:
    with ctx.store.read() as tx:
        return find_segment(tx, ref)


def license_rows(ctx: Context, ref: str | None = None) -> list[LicenseRow]:
    today = ctx.effective_now()[0].date()
    with ctx.store.read() as tx:
        names = {s.install_code: s.name for s in tx.segments()}
        install_code = find_segment(tx, ref).install_code if ref else None
        licenses = tx.licenses(install_code)
    return [
        _row(lic, names.get(lic.install_code, lic.install_code), today, ctx.expiring_days) for lic in licenses
    ]


def _row(lic: License, segment_name: str, today: date, expiring_days: int) -> LicenseRow:
    terms = lic.terms
    state = rules.status(terms, today, expiring_days)
    return LicenseRow(
        segment_name=segment_name,
        install_code=lic.install_code,
        license_id=terms.license_id,
        kind=terms.kind,
        devices=terms.devices,
        term_years=terms.term_years,
        expires_on=terms.expires_on,
        description=rules.description(terms.kind, terms.devices, terms.term_years),
        status="Returning to cloud" if lic.return_pending else state.text,
        status_level=state.level,
        activated_at=lic.activated_at,
        note=lic.note,
        return_pending=lic.return_pending,
    )


def summaries(ctx: Context) -> list[SegmentSummary]:
    today = ctx.effective_now()[0].date()
    with ctx.store.read() as tx:
        return [
            _summary(seg, tx.licenses(seg.install_code), tx.device_counts(seg.install_code), today)
            for seg in tx.segments()
        ]


def devices(ctx: Context, ref: str | None = None) -> list[Device]:
    with ctx.store.read() as tx:
        install_code = find_segment(tx, ref).install_code if ref else None
        return tx.devices(install_code)


def device_rows(
    ctx: Context, ref: str, *, after_seq: int | None = None, limit: int | None = None
) -> list[DeviceRow]:
    """One segment's devices as light rows for lists, in ``seq`` order; one page of at most
    ``limit`` rows after ``after_seq`` when given, so a long list can paint its first rows first."""
    with ctx.store.read() as tx:
        install_code = find_segment(tx, ref).install_code
        return tx.device_rows(install_code, after_seq=after_seq, limit=limit)


def journal(ctx: Context) -> list[JournalEntry]:
    with ctx.store.read() as tx:
        return tx.journal()


def audit_entries(ctx: Context, limit: int | None = None) -> list[AuditEntry]:
    with ctx.store.read() as tx:
        return tx.audit_entries(limit)


def _summary(
    seg: SegmentController, licenses: list[License], counts: dict[DeviceState, int], today: date
) -> SegmentSummary:
    coverage = rules.maintenance_coverage(licenses, today)
    next_step = None
    if coverage.capacity == 0:
        next_step = (
            "No device capacity. Download Licenses from the Cloud and activate a capacity license."
            if seg.customer_id
            else "No device capacity. Set a Customer ID in Manage Customer Accounts, "
            "then Download Licenses from the Cloud."
        )
    return SegmentSummary(
        segment=seg,
        capacity=coverage.capacity,
        licensed=counts[DeviceState.UNPROVISIONED] + counts[DeviceState.PROVISIONED],
        unlicensed=counts[DeviceState.UNLICENSED],
        unprovisioned=counts[DeviceState.UNPROVISIONED],
        provisioned=counts[DeviceState.PROVISIONED],
        maintenance_covered=coverage.covered,
        maintenance_shortfall=coverage.shortfall,
        next_step=next_step,
    )
