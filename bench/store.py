"""The store: activating 500 licenses that relicense 20,000 devices, against a bare executemany."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

from bench.common import Report, Row, Sample
from bench.data import SEGMENT, add_cloud_licenses, add_devices, make_data_dir, service_for, settings_for

LICENSE_SQL = (
    "INSERT OR REPLACE INTO licenses (license_id, install_code, kind, devices, term_years, "
    "expires_on, activated_at, note, document, return_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DEVICE_SQL = (
    "INSERT INTO devices (device_id, install_code, protocol, name, seq, state) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
    "install_code = excluded.install_code, protocol = excluded.protocol, name = excluded.name, "
    "seq = excluded.seq, state = excluded.state"
)


def store_bench(work: Path, runs: int, report: Report, licenses: int = 500, devices: int = 20_000) -> None:
    data_dir = work / "store"
    facts = make_data_dir(data_dir, active=0)
    settings = settings_for(data_dir)
    add_cloud_licenses(
        settings.embedded_cloud_dir, uuid.UUID(facts["customer_id"]), licenses + 40, devices // licenses
    )
    add_devices(settings.store_path, facts["install_code"], devices)
    ours, bare, commits, relicensed = asyncio.run(_run(data_dir, work, runs, licenses))
    report.rows.append(
        Row(
            f"store: activate {licenses} licenses, {relicensed:,} devices relicensed",
            f"executemany {bare.text()}",
            f"{ours.text()}, {commits} tx",
            ours.median / bare.median,
            3,
            passed=commits == 1 and ours.median / bare.median <= 3,
        )
    )


async def _run(data_dir: Path, work: Path, runs: int, count: int) -> tuple[Sample, Sample, int, int]:
    from core.cloud import CloudClient
    from core.store import Store

    events: list[tuple[str, float]] = []

    class TimedStore(Store):
        """Times each outermost write transaction, commit included."""

        depth = 0

        @contextmanager
        def write(self):
            self.depth += 1
            t = time.perf_counter()
            try:
                with super().write() as tx:
                    yield tx
            finally:
                self.depth -= 1
            if not self.depth:
                events.append(("commit", time.perf_counter() - t))

    class MarkedCloud(CloudClient):
        """Notes when the cloud's activation answer arrives."""

        async def activate(self, *args, **kwargs):
            answer = await super().activate(*args, **kwargs)
            events.append(("answer", 0.0))
            return answer

    service = service_for(data_dir, store_type=TimedStore, cloud_type=MarkedCloud)
    store_path = settings_for(data_dir).store_path
    ours, bare = Sample([]), Sample([])
    commits = relicensed = 0
    try:
        offer = await service.cloud_licenses(SEGMENT)
        ids = [lic.license_id for lic in offer.licenses if lic.kind == "capacity"][:count]
        install_code = service.segment(SEGMENT).install_code
        for run in range(runs):
            copy = work / f"store-copy-{run}.db"
            with closing(sqlite3.connect(store_path)) as src, closing(sqlite3.connect(copy)) as dst:
                src.backup(dst)
            events.clear()
            result = await service.activate(SEGMENT, ids)
            assert len(result.activated) == count, result.failed[:3]
            after = [d for kind, d in events[events.index(("answer", 0.0)) + 1 :] if kind == "commit"]
            commits = len(after)
            ours.values.append(sum(after))
            with closing(sqlite3.connect(store_path)) as conn:
                rows = _rows(conn, install_code)
            relicensed = sum(1 for d in rows[1] if d[5] != "unlicensed")
            bare.values.append(_bare(copy, rows))
            copy.unlink()
            await service.transfer(SEGMENT)
    finally:
        await service.aclose()
    return ours, bare, commits, relicensed


def _rows(conn: sqlite3.Connection, install_code: str) -> tuple[list[tuple], list[tuple]]:
    licenses = conn.execute(
        "SELECT license_id, install_code, kind, devices, term_years, expires_on, activated_at, note, "
        "document, return_pending FROM licenses WHERE install_code = ?",
        (install_code,),
    ).fetchall()
    devices = conn.execute(
        "SELECT device_id, install_code, protocol, name, seq, state FROM devices WHERE install_code = ?",
        (install_code,),
    ).fetchall()
    return [tuple(r) for r in licenses], [tuple(r) for r in devices]


def _bare(path: Path, rows: tuple[list[tuple], list[tuple]]) -> float:
    """The floor: the same rows written by plain executemany in one transaction, same file settings."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(LICENSE_SQL, rows[0])
        conn.executemany(DEVICE_SQL, rows[1])
        conn.execute("COMMIT")
        return time.perf_counter() - t
    finally:
        conn.close()
