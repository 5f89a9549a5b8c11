"""Random sequences of activations, transfers, added devices and provisioning keep the invariants."""

from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from core import rules
from core.models import Device, DeviceState, License, LicenseKind, LicenseTerms, Protocol, SignedDocument

DOC = SignedDocument(payload={}, key_id="k", signature="s")

step = st.one_of(
    st.tuples(st.just("activate"), st.integers(min_value=1, max_value=40)),
    st.tuples(st.just("transfer"), st.just(0)),
    st.tuples(st.just("add_devices"), st.integers(min_value=1, max_value=15)),
    st.tuples(st.just("provision_all"), st.just(0)),
    st.tuples(st.just("provision_some"), st.integers(min_value=0, max_value=60)),
)


def capacity_license(devices: int) -> License:
    terms = LicenseTerms(license_id=uuid4(), kind=LicenseKind.CAPACITY, devices=devices)
    return License(terms=terms, install_code="abc1234", activated_at=datetime.now(UTC), document=DOC)


@settings(max_examples=150, deadline=None)
@given(st.lists(step, min_size=1, max_size=30))
def test_invariants_hold_after_every_step(steps: list[tuple[str, int]]) -> None:
    licenses: list[License] = []
    devices: list[Device] = []
    for action, n in steps:
        if action == "activate":
            licenses.append(capacity_license(n))
        elif action == "transfer":
            licenses = []
        elif action == "add_devices":
            start = len(devices)
            devices += [
                Device(
                    device_id=f"D{start + i:04d}",
                    install_code="abc1234",
                    protocol=list(Protocol)[i % 3],
                    name="d",
                    seq=start + i,
                    state=DeviceState.UNLICENSED,
                )
                for i in range(n)
            ]
        elif action == "provision_all":
            plan = rules.plan_provisioning(devices, None)
            devices = _provision(devices, plan.provision)
        else:
            plan = rules.plan_provisioning(devices, [d.device_id for d in devices[:n]])
            assert all(devices_by_id(devices)[i].state is DeviceState.UNLICENSED for i in plan.refused)
            devices = _provision(devices, plan.provision)
        cap = rules.capacity(licenses)
        before = list(devices)
        devices = rules.relicense(devices, cap)
        licensed = [d for d in devices if d.licensed]
        assert len(licensed) <= cap
        assert len(licensed) == min(cap, len(devices))
        assert not any(d.state is DeviceState.PROVISIONED and not d.licensed for d in devices)
        assert rules.relicense(before, cap) == devices  # deterministic
        assert rules.relicense(devices, cap) == devices  # stable


def devices_by_id(devices: list[Device]) -> dict[str, Device]:
    return {d.device_id: d for d in devices}


def _provision(devices: list[Device], ids: list[str]) -> list[Device]:
    chosen = set(ids)
    return [
        d.model_copy(update={"state": DeviceState.PROVISIONED}) if d.device_id in chosen else d
        for d in devices
    ]
