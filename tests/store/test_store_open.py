"""First run: the demo seed, permissions, schema version; later runs: nothing reseeded."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import stat
from collections import Counter
from pathlib import Path

from core.audit_chain import verify_audit_chain
from core.models import DeviceState, Protocol
from core.rules import is_install_code
from core.store import SCHEMA_VERSION, Store
from tests.store.store_helpers import fixed_clock, open_store


def test_first_open_seeds_the_demo(store: Store) -> None:
    with store.read() as tx:
        segments = tx.segments()
        devices = tx.devices()
        assert tx.licenses() == []
        assert tx.journal() == []
        audit = tx.audit_entries()
    assert [s.name for s in segments] == ["SmartServer-A", "SmartServer-B"]
    assert all(is_install_code(s.install_code) and s.customer_id is None for s in segments)
    assert segments[0].install_code != segments[1].install_code
    assert 55 <= len(devices) <= 65
    assert {d.state for d in devices} == {DeviceState.UNLICENSED}
    assert {d.protocol for d in devices} == set(Protocol)
    assert len({d.device_id for d in devices}) == len(devices)
    per_segment = Counter(d.install_code for d in devices)
    assert per_segment == {segments[0].install_code: 34, segments[1].install_code: 26}
    for segment in segments:
        seqs = [d.seq for d in devices if d.install_code == segment.install_code]
        assert seqs == list(range(1, per_segment[segment.install_code] + 1))
    assert [(e.operation, e.actor) for e in audit] == [("seed", "system")]
    assert verify_audit_chain(audit) is None
    assert not store.read_only and store.safe_mode_reason is None


def test_seed_is_deterministic_for_a_given_rng(tmp_path: Path) -> None:
    first, second = open_store(tmp_path / "1.db"), open_store(tmp_path / "2.db")
    with first.read() as a, second.read() as b:
        assert a.segments() == b.segments()
        assert a.devices() == b.devices()
    first.close()
    second.close()


def test_device_ids_and_names_look_like_a_site(store: Store) -> None:
    with store.read() as tx:
        devices = tx.devices()
    assert all(d.device_id[:2] in ("A-", "B-") for d in devices)
    assert {d.device_id.split("-")[1] for d in devices} == {"LON", "BAC", "MOD"}
    names = {d.name for d in devices}
    assert {"VAV-01", "AHU-01 supply fan", "Energy meter 1"} <= names


def test_reopen_keeps_install_codes_and_does_not_reseed(db_path: Path) -> None:
    store = open_store(db_path)
    with store.read() as tx:
        codes = [s.install_code for s in tx.segments()]
    store.close()
    # Another rng would make other codes: a reseed would show.
    again = Store.open(db_path, clock=fixed_clock, rng=random.Random(99))
    with again.read() as tx:
        assert [s.install_code for s in tx.segments()] == codes
        assert len(tx.audit_entries()) == 1
        assert len(tx.devices()) == 60
    again.close()


def test_file_is_owner_only_wal_and_versioned(db_path: Path) -> None:
    store = open_store(db_path)
    with store.write() as tx:
        tx.meta_set("k", "v")  # makes sure -wal exists
    for suffix in ("", "-wal", "-shm"):
        sidecar = Path(f"{db_path}{suffix}")
        if sidecar.exists():
            assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, suffix
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    assert store.integrity_ok()
    store.close()


def test_open_tightens_a_loose_existing_file(db_path: Path) -> None:
    open_store(db_path).close()
    db_path.chmod(0o644)
    open_store(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_close_is_idempotent_and_closed_store_refuses(store: Store) -> None:
    store.close()
    store.close()
    try:
        with store.read():
            pass
    except RuntimeError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed store must refuse")


def _open_and_count(path: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    store = Store.open(Path(path), clock=fixed_clock)  # real randomness: two different seeds race
    store.close()


def test_two_processes_opening_a_new_store_seed_it_once(tmp_path: Path) -> None:
    path = tmp_path / "race" / "smartlic.db"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_open_and_count, args=(str(path), barrier)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    store = open_store(path)
    with store.read() as tx:
        assert len(tx.segments()) == 2
        assert len(tx.devices()) == 60
        assert [e.operation for e in tx.audit_entries()] == ["seed"]
    store.close()
