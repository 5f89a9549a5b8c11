from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from core import rules
from core.models import Device, DeviceState, License, LicenseKind, LicenseTerms, Protocol, SignedDocument

TODAY = date(2026, 11, 28)
DOC = SignedDocument(payload={}, key_id="k", signature="s")


def lic(kind: LicenseKind, devices: int, expires: date | None = None, pending: bool = False) -> License:
    terms = LicenseTerms(
        license_id=uuid4(),
        kind=kind,
        devices=devices,
        term_years=None if kind is LicenseKind.CAPACITY else 1,
        expires_on=expires,
    )
    return License(
        terms=terms,
        install_code="abc1234",
        activated_at=datetime(2026, 1, 1, tzinfo=UTC),
        document=DOC,
        return_pending=pending,
    )


def dev(seq: int, state: DeviceState = DeviceState.UNLICENSED) -> Device:
    return Device(
        device_id=f"D{seq:03d}",
        install_code="abc1234",
        protocol=Protocol.LON,
        name=f"d{seq}",
        seq=seq,
        state=state,
    )


def test_capacity_sums_active_capacity_licenses_only() -> None:
    licenses = [
        lic(LicenseKind.CAPACITY, 100),
        lic(LicenseKind.CAPACITY, 25),
        lic(LicenseKind.MAINTENANCE, 200, date(2027, 1, 1)),
        lic(LicenseKind.CAPACITY, 1000, pending=True),
    ]
    assert rules.capacity(licenses) == 125


def test_maintenance_coverage_and_shortfall() -> None:
    licenses = [
        lic(LicenseKind.CAPACITY, 200),
        lic(LicenseKind.MAINTENANCE, 100, date(2027, 1, 1)),
        lic(LicenseKind.MAINTENANCE, 50, date(2026, 11, 27)),  # expired yesterday
    ]
    coverage = rules.maintenance_coverage(licenses, TODAY)
    assert (coverage.capacity, coverage.covered, coverage.shortfall) == (200, 100, 100)
    assert rules.maintenance_coverage([lic(LicenseKind.MAINTENANCE, 10, TODAY)], TODAY).shortfall == 0


@pytest.mark.parametrize(
    ("expires", "days", "text", "level"),
    [
        (None, 60, "Active", "ok"),
        (date(2027, 6, 1), 60, "Active", "ok"),
        (date(2027, 1, 27), 60, "Expiring 2027-01-27", "warning"),
        (date(2027, 1, 28), 60, "Active", "ok"),
        (date(2027, 1, 27), 30, "Active", "ok"),
        (TODAY, 60, "Expiring 2026-11-28", "warning"),
        (date(2026, 11, 27), 60, "Expired 2026-11-27", "error"),
    ],
)
def test_status_text(expires: date | None, days: int, text: str, level: str) -> None:
    terms = LicenseTerms(
        license_id=uuid4(), kind=LicenseKind.MAINTENANCE, devices=1, term_years=1, expires_on=expires
    )
    state = rules.status(terms, TODAY, days)
    assert (state.text, state.level.value) == (text, level)


def test_descriptions() -> None:
    assert rules.description(LicenseKind.CAPACITY, 200, None) == "200-device capacity"
    assert rules.description(LicenseKind.MAINTENANCE, 200, 3) == "200-device maintenance, 3-year"
    terms = LicenseTerms(
        license_id=uuid4(),
        kind=LicenseKind.MAINTENANCE,
        devices=25,
        term_years=1,
        expires_on=date(2027, 2, 3),
    )
    assert rules.cloud_description(terms) == "25-device maintenance, 1-year, expires 2027-02-03"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2133c667-af41-4518-94df-a2bb3b775330", True),
        ("  2133C667-AF41-4518-94DF-A2BB3B775330 \n", True),
        ("", False),
        ("2133c667", False),
        ("2133c667-af41-4518-94df-a2bb3b77533z", False),
        ("2133c667af414518-94df-a2bb3b775330-", False),
        ("[bold]x[/bold]", False),
    ],
)
def test_customer_id_validation(text: str, ok: bool) -> None:
    assert (rules.customer_id_problem(text) is None) is ok
    if ok:
        assert rules.parse_customer_id(text) == UUID(text.strip())
    else:
        with pytest.raises(ValueError):
            rules.parse_customer_id(text)


def test_install_codes() -> None:
    import random

    codes = {rules.new_install_code(random.Random(i)) for i in range(50)}
    assert all(rules.is_install_code(c) for c in codes)
    assert len(codes) == 50
    assert not rules.is_install_code("17Q5T6A")
    assert not rules.is_install_code("17q5t6")


def test_relicense_rises_oldest_first_and_leaves_provisioning_manual() -> None:
    devices = [dev(3), dev(1), dev(2)]
    after = rules.relicense(devices, 2)
    states = {d.device_id: d.state for d in after}
    assert states == {
        "D001": DeviceState.UNPROVISIONED,
        "D002": DeviceState.UNPROVISIONED,
        "D003": DeviceState.UNLICENSED,
    }
    assert [d.device_id for d in after] == ["D003", "D001", "D002"]  # input order kept


def test_relicense_falls_newest_unprovisioned_first() -> None:
    devices = [
        dev(1, DeviceState.PROVISIONED),
        dev(2, DeviceState.UNPROVISIONED),
        dev(3, DeviceState.PROVISIONED),
    ]
    after = {d.device_id: d.state for d in rules.relicense(devices, 2)}
    assert after == {
        "D001": DeviceState.PROVISIONED,
        "D002": DeviceState.UNLICENSED,
        "D003": DeviceState.PROVISIONED,
    }
    assert all(d.state is DeviceState.UNLICENSED for d in rules.relicense(devices, 0))


def test_relicense_is_idempotent_and_keeps_unchanged_objects() -> None:
    devices = [dev(i) for i in range(1, 6)]
    once = rules.relicense(devices, 3)
    twice = rules.relicense(once, 3)
    assert once == twice
    assert all(a is b for a, b in zip(once, twice, strict=True))


def test_plan_provisioning_refuses_unlicensed_and_unknown() -> None:
    devices = [dev(1, DeviceState.UNPROVISIONED), dev(2), dev(3, DeviceState.PROVISIONED)]
    plan = rules.plan_provisioning(devices, ["D001", "D002", "D009", "D003"])
    assert plan.provision == ["D001"]
    assert set(plan.refused) == {"D002", "D009"}
    assert "unlicensed" in plan.refused["D002"]
    assert rules.plan_provisioning(devices, None).provision == ["D001"]


@pytest.mark.parametrize(
    ("expires", "expected"),
    [
        (None, None),
        (date(2027, 3, 1), None),
        (date(2027, 1, 20), "expires in 53 days (2027-01-20; 60-day notice)"),
        (date(2026, 12, 20), "expires in 22 days (2026-12-20; 30-day notice)"),
        (date(2026, 11, 29), "expires in 1 day (2026-11-29; 7-day notice)"),
        (TODAY, "expires today (2026-11-28)"),
        (date(2026, 11, 1), "expired on 2026-11-01"),
    ],
)
def test_expiry_warning_thresholds(expires: date | None, expected: str | None) -> None:
    terms = LicenseTerms(
        license_id=uuid4(), kind=LicenseKind.MAINTENANCE, devices=1, term_years=1, expires_on=expires
    )
    assert rules.expiry_warning(terms, TODAY, (60, 30, 7)) == expected


def test_a_license_is_offered_unless_earmarked_for_another_controller() -> None:
    assert rules.offered_here(None, "abc1234")
    assert rules.offered_here("abc1234", "abc1234")
    assert not rules.offered_here("zzz9999", "abc1234")
