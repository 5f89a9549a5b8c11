"""Round trips against the mock cloud with injected latency, and listing 100,000 licenses."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from pathlib import Path

import httpx

from bench.common import Report, Row, Sample, fmt
from bench.data import SEGMENT, add_cloud_licenses, fixed_clock, make_data_dir, settings_for

DELAY = 0.1
BATCH = 500


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts requests and the bytes of both directions (request line, headers, bodies)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests = 0
        self.sent = 0
        self.received = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests += 1
        self.sent += len(request.method) + len(request.url.raw_path) + 11 + _header_bytes(request.headers)
        self.sent += len(body)
        response = await self.inner.handle_async_request(request)
        data = await response.aread()
        self.received += 15 + _header_bytes(response.headers) + len(data)
        return httpx.Response(response.status_code, headers=response.headers, content=data)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _header_bytes(headers: httpx.Headers) -> int:
    return sum(len(k) + len(v) + 4 for k, v in headers.raw)


def service_over(data_dir: Path, *, delay: float):
    """A service whose cloud is the mock cloud of ``data_dir`` with ``delay`` seconds per request."""
    from core.cloud import CloudClient
    from core.device_keys import signer_source
    from core.mock_cloud.app import create_app
    from core.mock_cloud.faults import Faults
    from core.service import LicenseService
    from core.signing import TrustStore
    from core.store import Store

    settings = settings_for(data_dir)
    app = create_app(
        settings.embedded_cloud_dir, clock=fixed_clock, rng=random.Random(3), faults=Faults(delay=delay)
    )
    trust = TrustStore(settings.trust_dir)
    trust.trust_for_this_process(Path(app.state.public_key_path).read_bytes())
    counter = CountingTransport(httpx.ASGITransport(app=app))
    store = Store.open(settings.store_path, clock=fixed_clock)
    cloud = CloudClient(
        "http://bench-cloud", transport=counter, retries=0, signer_for=signer_source(store), clock=fixed_clock
    )
    return LicenseService(store, cloud, trust, clock=fixed_clock), counter


def round_trips(work: Path, runs: int, report: Report, batch: int = BATCH) -> None:
    data_dir = work / "wire"
    facts = make_data_dir(data_dir, active=0)
    add_cloud_licenses(
        settings_for(data_dir).embedded_cloud_dir, uuid.UUID(facts["customer_id"]), batch + 40, 10
    )
    asyncio.run(_round_trips(data_dir, runs, report, batch))


async def _round_trips(data_dir: Path, runs: int, report: Report, batch: int) -> None:
    service, counter = service_over(data_dir, delay=DELAY)
    try:
        await service.demo_info()  # warm: first request builds routes, opens the cloud's db
        rtt = Sample([])
        for _ in range(runs):
            t = time.perf_counter()
            await service.demo_info()
            rtt.values.append(time.perf_counter() - t)
        offer = await service.cloud_licenses(SEGMENT)
        ids = [lic.license_id for lic in offer.licenses if lic.kind == "capacity"][:batch]
        assert len(ids) == batch, f"only {len(ids)} licenses to activate"
        act, tra = Sample([]), Sample([])
        act_req = tra_req = 0
        act_bytes = tra_bytes = 0
        for _ in range(runs):
            before = (service.cloud.requests_sent, counter.sent + counter.received)
            t = time.perf_counter()
            result = await service.activate(SEGMENT, ids)
            act.values.append(time.perf_counter() - t)
            assert len(result.activated) == batch, result.failed[:3]
            act_req = service.cloud.requests_sent - before[0]
            act_bytes = counter.sent + counter.received - before[1]
            before = (service.cloud.requests_sent, counter.sent + counter.received)
            t = time.perf_counter()
            returned = await service.transfer(SEGMENT)
            tra.values.append(time.perf_counter() - t)
            assert len(returned.returned) == batch, returned.failed[:3]
            tra_req = service.cloud.requests_sent - before[0]
            tra_bytes = counter.sent + counter.received - before[1]
    finally:
        await service.aclose()
    naive = batch * rtt.median
    for name, sample, requests, size in (
        ("activate", act, act_req, act_bytes),
        ("transfer", tra, tra_req, tra_bytes),
    ):
        report.rows.append(
            Row(
                f"{name} {batch}, {DELAY * 1000:.0f} ms latency: round trips",
                f"naive {batch} req",
                f"{requests} req, {fmt(size, 'B')}",
                requests,
                2,
                passed=requests <= 2,
            )
        )
        report.rows.append(
            Row(
                f"{name} {batch}: wall / one round trip",
                f"RTT {rtt.text()}; naive {fmt(naive, 's')}*",
                sample.text(),
                sample.median / rtt.median,
                3,
            )
        )
    report.notes.append(
        f"* naive = {batch} sequential requests, computed as {batch} x one round trip"
        f" ({fmt(rtt.median, 's')}) rather than run."
    )


def listing(large_dir: Path, runs: int, report: Report, expected: int) -> None:
    asyncio.run(_listing(large_dir, runs, report, expected))


async def _listing(data_dir: Path, runs: int, report: Report, expected: int) -> None:
    from pydantic import TypeAdapter

    from core.models import CloudLicense

    service, counter = service_over(data_dir, delay=0.0)
    wall = Sample([])
    try:
        for _ in range(runs):
            before = (counter.requests, counter.received + counter.sent)
            t = time.perf_counter()
            offer = await service.cloud_licenses(SEGMENT)
            wall.values.append(time.perf_counter() - t)
            pages = counter.requests - before[0]
            wire = counter.received + counter.sent - before[1]
    finally:
        await service.aclose()
    items = offer.licenses
    assert len(items) >= expected, (len(items), expected)
    data = len(TypeAdapter(list[CloudLicense]).dump_json(items))
    report.rows.append(
        Row(
            f"list {len(items):,} cloud licenses: bytes on the wire / JSON of the data",
            f"{fmt(data, 'B')} JSON",
            f"{fmt(wire, 'B')} in {pages} pages, {wall.text()}",
            wire / data,
            1.5,
        )
    )
