"""The transactional primitives: licenses, notes, devices, segments, journal, meta."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from core.errors import NotFound
from core.models import DeviceState, JournalEntry, LicenseKind, OperationKind
from core.store import Store
from tests.store.store_helpers import NOW, make_license


def _codes(store: Store) -> tuple[str, str]:
    with store.read() as tx:
        a, b = tx.segments()
    return a.install_code, b.install_code


def test_license_round_trip_keeps_the_document_exactly(store: Store) -> None:
    a, _ = _codes(store)
    lic = make_license(1, a, kind=LicenseKind.MAINTENANCE, note="rack 3")
    with store.write() as tx:
        tx.put_licenses([lic])
    with store.read() as tx:
        got = tx.license(lic.license_id)
        assert tx.license(UUID(int=999)) is None
    assert got == lic
    assert got is not None
    assert got.document.payload == lic.document.payload
    assert list(got.document.payload) == list(lic.document.payload)  # key order too
    assert got.document.model_dump_json() == lic.document.model_dump_json()
    assert got.activated_at.tzinfo is not None


def test_put_licenses_replaces_and_converts_times_to_utc(store: Store) -> None:
    a, _ = _codes(store)
    plus_two = timezone(timedelta(hours=2))
    with store.write() as tx:
        tx.put_licenses([make_license(1, a, devices=10)])
        tx.put_licenses(
            [make_license(1, a, devices=20, activated_at=datetime(2026, 1, 1, 12, tzinfo=plus_two))]
        )
    with store.read() as tx:
        [got] = tx.licenses()
    assert got.terms.devices == 20
    assert got.activated_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert got.activated_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store) -> None:
    a, _ = _codes(store)
    with pytest.raises(ValueError, match="naive"), store.write() as tx:
        tx.put_licenses([make_license(1, a, activated_at=datetime(2026, 1, 1))])


def test_license_order(store: Store) -> None:
    a, b = _codes(store)
    later = NOW + timedelta(seconds=1)
    lics = [
        make_license(1, b),
        make_license(2, a, kind=LicenseKind.MAINTENANCE),
        make_license(3, a, activated_at=later),
        make_license(4, a, activated_at=NOW + timedelta(microseconds=1)),
        make_license(6, a),
        make_license(5, a),
    ]
    with store.write() as tx:
        tx.put_licenses(lics)
    with store.read() as tx:
        order = [lic.license_id.int for lic in tx.licenses()]
        only_b = [lic.license_id.int for lic in tx.licenses(b)]
    # segment position, capacity first, activation time, license id
    assert order == [5, 6, 4, 3, 2, 1]
    assert only_b == [1]


def test_return_pending_and_delete(store: Store) -> None:
    a, _ = _codes(store)
    with store.write() as tx:
        tx.put_licenses([make_license(n, a) for n in (1, 2, 3)])
        tx.set_return_pending([UUID(int=1), UUID(int=2), UUID(int=42)], True)
    with store.read() as tx:
        assert [lic.return_pending for lic in tx.licenses()] == [True, True, False]
    with store.write() as tx:
        tx.set_return_pending([UUID(int=2)], False)
        tx.delete_licenses([UUID(int=1), UUID(int=42)])
    with store.read() as tx:
        assert [(lic.license_id.int, lic.return_pending) for lic in tx.licenses()] == [(2, False), (3, False)]


@pytest.mark.parametrize(
    "note",
    [
        "Keller, Schrank 3 – Zürich ☃ 日本語",
        "[bold]not markup[/bold] [red]",
        "x" * 10_000,
        "",
        "line1\nline2\t",
    ],
)
def test_notes_are_kept_verbatim(store: Store, note: str) -> None:
    a, _ = _codes(store)
    with store.write() as tx:
        tx.put_licenses([make_license(1, a)])
        assert tx.set_note(UUID(int=1), note) is True
        assert tx.set_note(UUID(int=2), note) is False
    with store.read() as tx:
        got = tx.license(UUID(int=1))
    assert got is not None and got.note == note


def test_put_devices_updates_state(store: Store) -> None:
    with store.read() as tx:
        devices = tx.devices()
    changed = [d.model_copy(update={"state": DeviceState.UNPROVISIONED}) for d in devices[:5]]
    changed[0] = changed[0].model_copy(update={"state": DeviceState.PROVISIONED})
    with store.write() as tx:
        tx.put_devices(changed)
    with store.read() as tx:
        after = tx.devices()
        a_only = tx.devices(devices[0].install_code)
    assert after[:5] == changed
    assert after[5:] == devices[5:]
    assert len(a_only) == 34 and all(d.install_code == devices[0].install_code for d in a_only)


def test_segment_lookup_and_customer_id(store: Store) -> None:
    a, _ = _codes(store)
    customer = UUID("2133c667-af41-4518-94df-a2bb3b775330")
    with store.write() as tx:
        tx.set_customer_id(a, customer)
        with pytest.raises(NotFound):
            tx.set_customer_id("zzzzzzz", customer)
    with store.read() as tx:
        assert tx.segment("smartserver-a") == tx.segment(a) == tx.segment(a.upper())
        found = tx.segment("SmartServer-A")
        assert found is not None and found.customer_id == customer
        assert tx.segment("SmartServer") is None
    with store.write() as tx:
        tx.set_customer_id(a, None)
    with store.read() as tx:
        found = tx.segment(a)
        assert found is not None and found.customer_id is None


def test_journal_open_close(store: Store) -> None:
    a, _ = _codes(store)
    first = JournalEntry(
        op_id=uuid4(),
        kind=OperationKind.ACTIVATE,
        install_code=a,
        customer_id=uuid4(),
        license_ids=[UUID(int=1), UUID(int=2)],
        created_at=NOW,
    )
    second = first.model_copy(
        update={
            "op_id": uuid4(),
            "kind": OperationKind.TRANSFER,
            "created_at": NOW + timedelta(minutes=1),
            "phase": "requested",
        }
    )
    with store.write() as tx:
        tx.journal_open(second)
        tx.journal_open(first)
    with store.read() as tx:
        assert tx.journal() == [first, second]  # oldest first, phase kept
    with store.write() as tx:
        tx.journal_close(first.op_id)
        tx.journal_close(first.op_id)  # closing twice is harmless (resumed operations)
    with store.read() as tx:
        assert tx.journal() == [second]


def test_meta(store: Store) -> None:
    with store.write() as tx:
        assert tx.meta_get("device_key") is None
        tx.meta_set("device_key", "abc")
        tx.meta_set("device_key", "def")
    with store.read() as tx:
        assert tx.meta_get("device_key") == "def"


def test_read_transaction_refuses_changes(store: Store) -> None:
    with store.read() as tx, pytest.raises(RuntimeError, match="read"):
        tx.meta_set("k", "v")
    with store.read(), pytest.raises(RuntimeError, match=r"inside store\.read"), store.write():
        pass


def test_nested_transactions_join_the_outer_one(store: Store) -> None:
    with store.write() as outer:
        outer.meta_set("a", "1")
        with store.write() as inner:
            assert inner is outer
            inner.meta_set("b", "2")
        with store.read() as inner_read:
            assert inner_read.meta_get("b") == "2"
    with store.read() as tx:
        assert (tx.meta_get("a"), tx.meta_get("b")) == ("1", "2")


def test_tx_is_dead_after_its_block(store: Store) -> None:
    with store.write() as tx:
        pass
    with pytest.raises(RuntimeError, match="over"):
        tx.meta_set("k", "v")


def test_write_rolls_back_on_exception(store: Store) -> None:
    a, _ = _codes(store)
    with store.read() as tx:
        devices_before = tx.devices()
    with pytest.raises(KeyError), store.write() as tx:
        tx.put_licenses([make_license(1, a)])
        tx.meta_set("k", "v")
        tx.put_devices([devices_before[0].model_copy(update={"state": DeviceState.UNPROVISIONED})])
        tx.audit(actor="t", operation="x", install_code=a, detail={}, result="ok", at=NOW)
        raise KeyError("boom")
    with store.read() as tx:
        assert tx.licenses() == []
        assert tx.meta_get("k") is None
        assert tx.devices() == devices_before
        assert len(tx.audit_entries()) == 1
    with store.write() as tx:  # the store is usable again
        tx.meta_set("k", "after")


def test_unknown_segment_is_refused_by_the_schema(store: Store) -> None:
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError), store.write() as tx:
        tx.put_licenses([make_license(1, "nosuch1")])


def test_device_rows_are_light_and_page_by_seq(store: Store) -> None:
    a, _ = _codes(store)
    with store.read() as tx:
        full = tx.devices(a)
        rows = tx.device_rows(a)
        first = tx.device_rows(a, limit=10)
        rest = tx.device_rows(a, after_seq=first[-1].seq, limit=1000)
    assert [(r.device_id, r.protocol, r.name, r.state, r.seq) for r in rows] == [
        (d.device_id, d.protocol, d.name, d.state, d.seq) for d in full
    ]
    assert first + rest == rows and len(first) == 10
    assert all(isinstance(r.state, DeviceState) for r in rows)
