"""The service against the embedded mock cloud, in-process."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from core.errors import (
    CloudUnreachable,
    InvalidAnswer,
    InvalidInput,
    NotFound,
    Refused,
    SignatureInvalid,
)
from core.models import DeviceState, LicenseKind
from core.service import LicenseService
from tests.support.services import make_service
from tests.support.services import set_embedded_faults as set_faults

A = "SmartServer-A"
B = "SmartServer-B"


def snapshot(service: LicenseService) -> tuple:
    """Everything a failed operation must leave as it was."""
    return (
        service.segments(),
        [(r.license_id, r.note, r.return_pending) for r in service.license_rows()],
        service.devices(),
    )


async def capacity_ids(service: LicenseService, segment: str, *sizes: int) -> list[UUID]:
    offer = await service.cloud_licenses(segment)
    chosen = []
    for size in sizes:
        lic = next(
            x
            for x in offer.licenses
            if x.kind is LicenseKind.CAPACITY and x.devices == size and x.license_id not in chosen
        )
        chosen.append(lic.license_id)
    return chosen


async def test_first_run_demo(service: LicenseService) -> None:
    segments = service.segments()
    assert [s.name for s in segments] == [A, B]
    assert all(s.customer_id is None for s in segments)
    assert service.license_rows() == []
    assert 50 <= len(service.devices()) <= 70
    assert all(d.state is DeviceState.UNLICENSED for d in service.devices())
    summary = service.summaries()[0]
    assert summary.capacity == 0
    assert "Set a Customer ID" in (summary.next_step or "")


async def test_customer_id_rules(service: LicenseService, demo_customer: str) -> None:
    before = snapshot(service)
    with pytest.raises(InvalidInput):
        service.set_customer_id(A, "not-a-uuid")
    with pytest.raises(NotFound):
        service.set_customer_id("nope", demo_customer)
    assert snapshot(service) == before
    seg = service.set_customer_id(A, f"  {demo_customer.upper()}  ")
    assert str(seg.customer_id) == demo_customer
    assert str(service.segment(seg.install_code).customer_id) == demo_customer
    assert "Download Licenses" in (service.summaries()[0].next_step or "")


async def test_download_needs_customer_and_knows_unknown_customer(service: LicenseService) -> None:
    offer = await service.cloud_licenses(A)
    assert offer.licenses == [] and "No Customer ID" in (offer.empty_reason or "")
    service.set_customer_id(A, str(uuid4()))
    with pytest.raises(NotFound, match="does not know this Customer ID"):
        await service.cloud_licenses(A)


async def test_licenses_earmarked_for_another_controller_are_never_offered(
    service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, demo_customer)
    service.set_customer_id(B, demo_customer)
    offer_a = await service.cloud_licenses(A)
    earmarked_a = {x.license_id for x in offer_a.licenses if x.earmarked_install_code}
    assert earmarked_a, "the demo cloud earmarks some licenses for the first controller"
    pages: list = []
    offer_b = await service.cloud_licenses(B, lambda items, _total: pages.extend(items))
    offered_b = {x.license_id for x in offer_b.licenses}
    assert offered_b and not offered_b & earmarked_a
    # What streams page by page is what the offer holds: the screen shows only what it may activate.
    assert {x.license_id for x in pages} == offered_b
    assert all(x.earmarked_install_code in (None, service.segment(B).install_code) for x in pages)


async def test_activate_licenses_devices_then_transfer(service: LicenseService, demo_customer: str) -> None:
    service.set_customer_id(A, demo_customer)
    offer = await service.cloud_licenses(A)
    assert len(offer.licenses) >= 10
    ids = await capacity_ids(service, A, 25)
    maintenance = next(x for x in offer.licenses if x.kind is LicenseKind.MAINTENANCE and x.term_years == 3)
    result = await service.activate(A, [*ids, maintenance.license_id])
    assert sorted(result.activated, key=str) == sorted([*ids, maintenance.license_id], key=str)
    assert result.failed == []
    rows = service.license_rows(A)
    assert {r.license_id for r in rows} == set(result.activated)
    assert {r.description for r in rows} >= {"25-device capacity"}
    devices = service.devices(A)
    assert sum(d.licensed for d in devices) == 25
    assert service.journal() == []
    remaining = await service.cloud_licenses(A)
    assert not set(result.activated) & {x.license_id for x in remaining.licenses}

    provisioned = service.provision(A, None)
    assert len(provisioned.provisioned) == 25
    refused = service.provision(A, [d.device_id for d in devices if not d.licensed][:1])
    assert next(iter(refused.refused.values())).startswith("unlicensed")

    with pytest.raises(Refused, match="Transfer to Cloud first"):
        service.set_customer_id(A, str(uuid4()))

    transfer = await service.transfer(A)
    assert set(transfer.returned) == set(result.activated)
    assert transfer.devices_unlicensed == 25
    assert service.license_rows(A) == []
    assert all(d.state is DeviceState.UNLICENSED for d in service.devices(A))
    back = await service.cloud_licenses(A)
    assert set(result.activated) <= {x.license_id for x in back.licenses}
    ops = [e.operation for e in service.audit_entries()]
    assert ops.count("activate") == 2 and ops.count("transfer") == 2 and "provision" in ops


async def test_conflict_for_a_license_taken_elsewhere(service: LicenseService, demo_customer: str) -> None:
    service.set_customer_id(A, demo_customer)
    service.set_customer_id(B, demo_customer)
    first, second = await capacity_ids(service, A, 100, 200)
    await service.activate(B, [first])
    result = await service.activate(A, [first, second, uuid4()])
    assert result.activated == [second]
    codes = {f.license_id: f.code for f in result.failed}
    assert codes[first] == "license_taken"
    assert "license_not_found" in codes.values()
    assert len(service.license_rows(B)) == 1


async def test_activate_twice_is_harmless(service: LicenseService, demo_customer: str) -> None:
    service.set_customer_id(A, demo_customer)
    ids = await capacity_ids(service, A, 25)
    await service.activate(A, ids)
    again = await service.activate(A, ids)
    assert again.already_active == ids and again.activated == []
    assert len(service.license_rows(A)) == 1


async def test_forged_signature_stores_nothing_and_sync_heals(
    service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, demo_customer)
    ids = await capacity_ids(service, A, 100)
    before = snapshot(service)
    await set_faults(service, bad_signature=1)
    with pytest.raises(SignatureInvalid):
        await service.activate(A, ids)
    assert snapshot(service) == before
    assert len(service.journal()) == 1
    report = await service.sync()
    assert report.adopted == ids
    assert service.journal() == []
    assert sum(d.licensed for d in service.devices(A)) == len(service.devices(A))


async def test_malformed_answer_stores_nothing_and_sync_heals(
    service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, demo_customer)
    ids = await capacity_ids(service, A, 25)
    before = snapshot(service)
    await set_faults(service, malformed=1)
    with pytest.raises(InvalidAnswer):
        await service.activate(A, ids)
    assert snapshot(service) == before
    await service.sync()
    assert [r.license_id for r in service.license_rows(A)] == ids


async def test_document_for_another_install_code_is_refused(
    service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, demo_customer)
    service.set_customer_id(B, demo_customer)
    ids = await capacity_ids(service, A, 25)
    seg_b = service.segment(B)
    # The cloud hands out B's document; an answer claiming it for A must be refused whole.
    assert seg_b.customer_id is not None
    answer = await service.context.cloud.activate(seg_b.customer_id, seg_b.install_code, ids, uuid4())
    document = answer.results[0].document
    assert document is not None
    with pytest.raises(SignatureInvalid, match="another controller"):
        service.context.verify_grant(document, service.segment(A))


async def test_transfer_with_cloud_down_holds_licenses_back_until_sync(
    tmp_path, service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, demo_customer)
    ids = await capacity_ids(service, A, 25, 100)
    await service.activate(A, ids)
    await set_faults(service, fail=5)
    with pytest.raises(CloudUnreachable):
        await service.transfer(A)
    rows = service.license_rows(A)
    assert all(r.return_pending for r in rows)
    assert service.summaries()[0].capacity == 0
    assert all(not d.licensed for d in service.devices(A))
    assert len(service.journal()) == 1
    await set_faults(service, fail=0)
    report = await service.sync()
    assert set(report.returned) == set(ids)
    assert service.license_rows(A) == [] and service.journal() == []
    assert set(ids) <= {x.license_id for x in (await service.cloud_licenses(A)).licenses}


async def test_cloud_unreachable_leaves_store_unchanged(tmp_path, demo_customer: str) -> None:
    offline = make_service(tmp_path / "offline", cloud_url="http://127.0.0.1:9", timeout=2)
    try:
        offline.set_customer_id(A, demo_customer)
        before = snapshot(offline)
        with pytest.raises(CloudUnreachable) as info:
            await offline.cloud_licenses(A)
        assert info.value.exit_code == 3
        with pytest.raises(CloudUnreachable):
            await offline.activate(A, [uuid4()])
        assert snapshot(offline) == before
    finally:
        await offline.aclose()


async def test_status_alerts_on_shortfall(service: LicenseService, demo_customer: str) -> None:
    service.set_customer_id(A, demo_customer)
    ids = await capacity_ids(service, A, 200)
    await service.activate(A, ids)
    status = service.status()
    assert status.alert
    assert any("maintenance covers 0 of 200" in w.text for w in status.warnings)


async def test_status_warns_of_maintenance_expiring_within_30_days(
    service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, demo_customer)
    offer = await service.cloud_licenses(A)
    soon = next(x for x in offer.licenses if x.kind is LicenseKind.MAINTENANCE and x.devices == 25)
    small = next(x for x in offer.licenses if x.kind is LicenseKind.CAPACITY and x.devices == 25)
    await service.activate(A, [soon.license_id, small.license_id])
    status = service.status()
    expiry = [n for n in status.warnings if n.kind == "expiry"]
    assert len(expiry) == 1 and expiry[0].license_id == soon.license_id
    assert "30-day notice" in expiry[0].text
    assert not status.alert  # expiring, not expired, and 25 of 25 devices covered


async def test_notes_are_stored_cleaned(service: LicenseService, demo_customer: str) -> None:
    service.set_customer_id(A, demo_customer)
    ids = await capacity_ids(service, A, 25)
    await service.activate(A, ids)
    service.set_note(ids[0], "Plant room 2 [bold]east[/bold]\x1b[31m\x00")
    # Shown, not obeyed: the control characters are stored as visible escapes (core.sanitize).
    assert service.license_rows(A)[0].note == "Plant room 2 [bold]east[/bold]\\x1b[31m\\x00"
    with pytest.raises(NotFound):
        service.set_note(uuid4(), "x")
