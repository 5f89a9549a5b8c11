"""Two sessions on one file (CLI + TUI, two SSH logins) and several threads on one Store lose nothing."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from uuid import UUID

from core.store import Store
from tests.store.store_helpers import fixed_clock, make_license, open_store

ROUNDS = 50


def _increment(store: Store, key: str = "counter") -> None:
    """Read-modify-write: loses updates unless the read happens under the write lock."""
    with store.write() as tx:
        value = int(tx.meta_get(key) or "0")
        tx.meta_set(key, str(value + 1))


def _append_note(store: Store, mark: str) -> None:
    with store.write() as tx:
        lic = tx.license(UUID(int=1))
        assert lic is not None
        tx.set_note(lic.license_id, lic.note + mark)


def _counter(store: Store, key: str = "counter") -> int:
    with store.read() as tx:
        return int(tx.meta_get(key) or "0")


def _add_license(store: Store) -> None:
    with store.read() as tx:
        code = tx.segments()[0].install_code
    with store.write() as tx:
        tx.put_licenses([make_license(1, code)])


def test_two_store_objects_interleaved(db_path: Path) -> None:
    first, second = open_store(db_path), open_store(db_path)
    for _ in range(20):
        _increment(first)
        _increment(second)
    assert _counter(first) == _counter(second) == 40
    first.close()
    second.close()


def test_a_reader_sees_a_consistent_snapshot(db_path: Path) -> None:
    writer, reader = open_store(db_path), open_store(db_path)
    _increment(writer)
    with reader.read() as tx:
        before = tx.meta_get("counter")
        _increment(writer)  # commits while the snapshot is open: WAL readers do not block writers
        assert tx.meta_get("counter") == before
    assert _counter(reader) == 2
    writer.close()
    reader.close()


def test_threads_on_two_stores_lose_no_update(db_path: Path) -> None:
    stores = [open_store(db_path), open_store(db_path)]
    _add_license(stores[0])

    def work(store: Store, mark: str) -> None:
        for _ in range(25):
            _increment(store)
            _append_note(store, mark)

    threads = [threading.Thread(target=work, args=(stores[n % 2], "ab"[n % 2])) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert _counter(stores[0]) == 100
    with stores[1].read() as tx:
        lic = tx.license(UUID(int=1))
    assert lic is not None and sorted(lic.note) == ["a"] * 50 + ["b"] * 50
    for store in stores:
        store.close()


def _process_worker(path: str, mark: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    store = Store.open(Path(path), clock=fixed_clock)
    barrier.wait()
    for _ in range(ROUNDS):
        _increment(store)
        _append_note(store, mark)
    store.close()


def test_two_processes_lose_no_update(db_path: Path) -> None:
    store = open_store(db_path)
    _add_license(store)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_process_worker, args=(str(db_path), mark, barrier)) for mark in "ab"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert _counter(store) == 2 * ROUNDS
    with store.read() as tx:
        lic = tx.license(UUID(int=1))
    assert lic is not None and sorted(lic.note) == ["a"] * ROUNDS + ["b"] * ROUNDS
    assert store.integrity_ok()
    store.close()
