"""A segment of 20,000 licenses (2,000 in `make test`): activate, list, sync, transfer, in chunks.

In process, over the ownership model's world (one mock cloud behind httpx.ASGITransport) with a
batch limit of 500, so the largest case is 40 chunks each way. The figures are printed at the end
("large segment: N licenses, chunks of 500: activate … s, list … s, sync … s, transfer … s").
"""

from __future__ import annotations

import os
import time
import uuid

from tests.faults.matrix import add_customer_licenses
from tests.faults.ownership_model import FIGURES, STATS, World

A = "SmartServer-A"
SIZE = 20_000 if int(os.environ.get("SMARTLIC_FUZZ_SCALE", "1")) > 1 else 2_000
BATCH = 500


def test_a_large_segment_activates_lists_syncs_and_transfers() -> None:
    world = World(max_batch=BATCH)
    try:
        add_customer_licenses(world.root / "cloud", SIZE, devices=1)
        one = world.controllers[0]
        code = one.install_codes()[A]
        ids = [uuid.UUID(i) for i in world.available(code)][:SIZE]
        assert len(ids) == SIZE
        figures = {}
        started = time.monotonic()
        result = world.run(one.svc.activate(A, ids))
        figures["activate"] = time.monotonic() - started
        assert len(result.activated) == SIZE and result.failed == []
        started = time.monotonic()
        assert len(one.svc.license_rows(A)) == SIZE
        figures["list"] = time.monotonic() - started
        started = time.monotonic()
        report = world.run(one.svc.sync())
        figures["sync"] = time.monotonic() - started
        assert report.adopted == [] and report.removed == [] and report.failed == {}
        assert world.problems() == []
        started = time.monotonic()
        transferred = world.run(one.svc.transfer(A))
        figures["transfer"] = time.monotonic() - started
        assert len(transferred.returned) == SIZE and one.svc.license_rows(A) == []
        bindings = world.bindings()
        assert all(bindings[str(i)] is None for i in ids)
        STATS["largest"] = max(STATS["largest"], SIZE)
        spent = ", ".join(f"{what} {seconds:.1f} s" for what, seconds in figures.items())
        FIGURES.append(f"large segment: {SIZE} licenses, chunks of {BATCH}: {spent}")
    finally:
        world.close()
