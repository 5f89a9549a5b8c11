"""One license, one place: the reported cases, each as a scenario over one cloud and two controllers.

The world (tests/faults/ownership_model.py) is one in-process mock cloud with a small batch limit
and two controllers of the same customer; tests/faults/test_ownership_model.py explores the same
world at random.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from core.errors import CloudUnreachable, Refused, SmartlicError, StoreUnavailable
from core.models import LicenseKind
from tests.faults.ownership_model import NOW, Controller, World, receipt_body, uuid_list

A = "SmartServer-A"
B = "SmartServer-B"


@pytest.fixture
def world() -> Iterator[World]:
    made = World()
    yield made
    made.close()


def offline_activate(world: World, controller: Controller, ids: list[str]) -> None:
    request = world.new_file("request")
    controller.svc.offline_request(A, request)
    body = {"request": json.loads(request.read_text()), "license_ids": ids}
    answer = world.run(world.post("/portal/fulfil", body))
    assert answer.status_code == 200, answer.text
    response = world.new_file("response")
    response.write_text(answer.text)
    controller.svc.add_license_file(response)


def active(controller: Controller) -> set[str]:
    return {str(r.license_id) for r in controller.svc.license_rows() if not r.return_pending}


def test_an_offline_return_is_never_adopted_back_and_the_license_lives_in_one_place(world: World) -> None:
    one, two = world.controllers
    license_id = world.available(one.install_codes()[A])[0]
    offline_activate(world, one, [license_id])
    receipt = world.new_file("receipt")
    one.svc.offline_return(A, receipt)

    report = world.run(one.svc.sync())  # the cloud still binds it to controller 1
    assert report.adopted == [] and active(one) == set()
    notices = [n for n in one.svc.status().warnings if n.kind == "offline_return"]
    assert notices and "cancel-return" in notices[0].text

    credited = world.run(world.post("/portal/return", receipt_body(receipt)))
    assert credited.status_code == 200, credited.text
    world.run(two.svc.activate(A, uuid_list([license_id])))
    assert license_id in active(two) and license_id not in active(one)

    report = world.run(one.svc.sync())
    assert report.credited == [UUID(license_id)] and license_id not in active(one)
    assert world.problems() == []


def test_offline_return_of_online_licenses_is_credited(world: World) -> None:
    """An online activation is a device-signed call: the cloud holds the key the receipt is signed with."""
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:2]
    world.run(one.svc.activate(A, uuid_list(ids)))
    receipt = world.new_file("receipt")
    one.svc.offline_return(A, receipt)
    credited = world.run(world.post("/portal/return", receipt_body(receipt)))
    assert credited.status_code == 200, credited.text
    assert sorted(credited.json()["credited"]) == sorted(ids)


def test_offline_return_is_refused_up_front_while_the_cloud_has_not_seen_the_key(world: World) -> None:
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:2]
    world.run(one.svc.activate(A, uuid_list(ids)))
    with one.svc.context.store.write() as tx:  # as a store from before smartlic recorded it
        tx.meta_delete(f"cloud_knows_device_key:{one.install_codes()[A]}")
    before = active(one)
    with pytest.raises(Refused, match="could not credit") as refused:
        one.svc.offline_return(A, world.new_file("receipt"))
    assert (
        "Transfer to Cloud" in (refused.value.hint or "") and refused.value.code == "receipt_not_creditable"
    )
    assert active(one) == before


def test_licenses_activated_online_are_credited_once_the_cloud_knows_the_key(world: World) -> None:
    one = world.controllers[0]
    code = one.install_codes()[A]
    offline_activate(world, one, world.available(code)[:1])
    world.run(one.svc.activate(A, uuid_list(world.available(code)[:2])))
    receipt = world.new_file("receipt")
    returned = one.svc.offline_return(A, receipt)
    assert len(returned.license_ids) == 3
    credited = world.run(world.post("/portal/return", receipt_body(receipt)))
    assert credited.status_code == 200, credited.text
    assert sorted(credited.json()["credited"]) == sorted(str(i) for i in returned.license_ids)


def test_cancel_return_voids_the_receipt_and_restores_the_licenses(world: World) -> None:
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:2]
    offline_activate(world, one, ids)
    one.svc.set_note(UUID(ids[0]), "cabinet 4")
    receipt = world.new_file("receipt")
    one.svc.offline_return(A, receipt)

    result = world.run(one.svc.cancel_return(A))
    assert sorted(map(str, result.restored)) == sorted(ids) and result.credited == []
    assert active(one) == set(ids)
    assert {r.note for r in one.svc.license_rows(A)} == {"cabinet 4", ""}
    refused = world.run(world.post("/portal/return", receipt_body(receipt)))
    assert refused.status_code == 409 and refused.json()["code"] == "receipt_cancelled"
    audit = [e for e in one.svc.audit_entries() if e.operation == "offline-cancel-return"]
    assert [e.result for e in audit] == ["started", "ok"]
    with pytest.raises(Refused, match="no offline return"):
        world.run(one.svc.cancel_return(A))


def test_cancel_after_the_portal_credited_keeps_the_licenses_in_the_cloud(world: World) -> None:
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:1]
    offline_activate(world, one, ids)
    receipt = world.new_file("receipt")
    one.svc.offline_return(A, receipt)
    assert world.run(world.post("/portal/return", receipt_body(receipt))).status_code == 200
    result = world.run(one.svc.cancel_return(A))
    assert result.restored == [] and list(map(str, result.credited)) == ids
    assert active(one) == set() and ids[0] in world.available()


def test_activating_a_license_returned_offline_is_refused_with_the_way_out(world: World) -> None:
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:1]
    offline_activate(world, one, ids)
    one.svc.offline_return(A, world.new_file("receipt"))
    with pytest.raises(Refused, match="returned offline") as refused:
        world.run(one.svc.activate(A, uuid_list(ids)))
    assert "cancel-return" in (refused.value.hint or "")


def test_batches_split_at_the_advertised_limit_each_chunk_journaled(world: World) -> None:
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:8]
    assert len(ids) == 8
    result = world.run(one.svc.activate(A, uuid_list(ids)))
    assert sorted(map(str, result.activated)) == sorted(ids)
    started = [e for e in one.svc.audit_entries() if e.operation == "activate" and e.result == "started"]
    assert [len(e.detail["license_ids"]) for e in started] == [3, 3, 2]
    assert len({e.detail["op_id"] for e in started}) == 3
    transferred = world.run(one.svc.transfer(A))
    assert sorted(map(str, transferred.returned)) == sorted(ids)
    assert world.problems() == []


def test_a_batch_over_the_limit_is_refused_by_the_cloud_before_anything_changes(world: World) -> None:
    one = world.controllers[0]
    code = one.install_codes()[A]
    ids = world.available(code)[:4]
    # The controller's own client, signed with its key, past the use case that would split it.
    cloud = one.svc.context.cloud
    assert world.customer_id is not None
    with pytest.raises(SmartlicError) as refused:
        world.run(cloud.activate(UUID(world.customer_id), code, uuid_list(ids), uuid4()))
    assert refused.value.code == "batch_too_large", refused.value
    capabilities = world.run(world.http.get("/capabilities"))
    assert capabilities.json() == {"max_batch": 3}
    assert all(world.bindings()[i] is None for i in ids)


def test_one_failing_segment_does_not_block_another(world: World) -> None:
    one = world.controllers[0]
    code_a = one.install_codes()[A]
    ids = world.available(code_a)[:2]
    world.run(one.svc.activate(A, uuid_list(ids)))
    world.set_faults(fail=1)  # the transfer's first request: A's licenses stay "returning"
    with pytest.raises(CloudUnreachable):
        world.run(one.svc.transfer(A))
    world.set_faults(fail=1)  # the sync's first step (A's journal entry) fails again
    report = world.run(one.svc.sync())
    assert A in report.failed and report.exit_code == 3
    world.run(one.svc.activate(B, uuid_list(world.available(one.install_codes()[B])[:1])))
    assert len(one.svc.license_rows(B)) == 1
    report = world.run(one.svc.sync())
    assert report.failed == {} and sorted(map(str, report.returned)) == sorted(ids)


def test_a_dropped_answer_says_the_cloud_may_have_done_it_and_sync_settles_it(world: World) -> None:
    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:3]
    world.run(one.svc.context.cloud.capabilities())
    world.set_faults(drop=1)
    with pytest.raises(CloudUnreachable) as dropped:
        world.run(one.svc.activate(A, uuid_list(ids)))
    assert "may have done this" in (dropped.value.hint or "") and "nothing was changed" not in str(
        dropped.value
    )
    assert all(world.bindings()[i] == one.install_codes()[A] for i in ids)
    world.run(one.svc.sync())
    assert active(one) == set(ids)


def test_full_disk_after_the_cloud_bound_says_so_and_sync_stores_them(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from core.store.tx import Tx

    one = world.controllers[0]
    ids = world.available(one.install_codes()[A])[:2]

    def full(self: Tx, licenses: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Tx, "put_licenses", full)
    with pytest.raises(StoreUnavailable) as failed:
        world.run(one.svc.activate(A, uuid_list(ids)))
    text = str(failed.value)
    assert "The cloud activated 2 license(s)" in text and "could not record it" in text
    assert "smartlic sync" in text and "nothing was changed" not in text
    assert one.svc.license_rows(A) == [] and len(one.svc.journal()) == 1
    monkeypatch.undo()
    world.run(one.svc.sync())
    assert active(one) == set(ids) and one.svc.journal() == []


# --- trusted time ------------------------------------------------------------------------------


class MovableClock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def maintenance_until_2027(world: World) -> str:
    db_licenses = world.available()
    with world.app.state.db.read() as tx:
        records = tx.licenses_by_id([UUID(i) for i in db_licenses])
    return next(
        str(r.license_id)
        for r in records.values()
        if r.kind is LicenseKind.MAINTENANCE and r.expires_on and r.expires_on.year == 2027
    )


@pytest.mark.parametrize("synced_first", [True, False], ids=["synced-before", "never-synced"])
def test_clock_forward_then_back_then_a_signed_cloud_time(synced_first: bool) -> None:
    clock = MovableClock()
    world = World(controller_clock=clock)
    try:
        one = world.controllers[0]
        license_id = maintenance_until_2027(world)
        if synced_first:
            world.run(one.svc.activate(A, uuid_list([license_id])))  # the answer carries the time
        else:
            offline_activate(world, one, [license_id])  # no signed time seen yet
        assert one.svc.license_rows(A)[0].status == "Active"

        clock.now = NOW.replace(year=2099)  # one run with the clock far in the future
        report = one.svc.status()
        assert one.svc.license_rows(A)[0].status.startswith("Expired")
        if synced_first:
            assert any(n.kind == "clock" and "past the license cloud" in n.text for n in report.warnings)

        clock.now = NOW + timedelta(hours=1)  # the clock is fixed
        if synced_first:  # the far-ahead reading was never recorded
            assert one.svc.license_rows(A)[0].status == "Active"
        else:  # it was: expiry is held at 2099 and status says the clock looks wrong ...
            assert one.svc.license_rows(A)[0].status.startswith("Expired")
            assert any(n.kind == "clock" for n in one.svc.status().warnings)
        world.run(one.svc.sync())  # ... until a signed cloud time is seen
        assert one.svc.license_rows(A)[0].status == "Active"
        assert not any(n.kind == "clock" for n in one.svc.status().warnings)

        clock.now = NOW - timedelta(days=3)  # turning the clock back is still caught
        assert any(n.kind == "clock" for n in one.svc.status().warnings)
    finally:
        world.close()


def test_a_chunk_the_cloud_refuses_outright_is_closed_and_blocks_nothing(world: World) -> None:
    one = world.controllers[0]
    one.svc.set_customer_id(B, "2133c667-af41-4518-94df-a2bb3b775330")  # a customer the cloud lacks
    with pytest.raises(SmartlicError, match="does not know this Customer ID"):
        world.run(one.svc.activate(B, uuid_list([world.available()[0]])))
    assert one.svc.journal() == []
    closing = [e for e in one.svc.audit_entries() if e.operation == "activate"][-1]
    assert closing.result == "refused by the cloud" and closing.detail["refused"] == "customer_not_found"
    world.run(one.svc.activate(A, uuid_list(world.available(one.install_codes()[A])[:1])))
    report = world.run(one.svc.sync())
    assert B in report.failed and A not in report.failed
