"""The mock cloud's wire faults (drop, duplicate, skew, oversized) against the real cloud client.

In-process: ``CloudClient`` over ``httpx.ASGITransport``. The served (uvicorn) behaviour of the same
faults is exercised by tests/faults.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import core.cloud
from core.cloud import CloudClient
from core.errors import CloudUnreachable, InvalidAnswer
from core.mock_cloud.app import create_app
from core.mock_cloud.crashpoints import cloud_crashpoint
from core.mock_cloud.faults import OVERSIZED_BYTES, Faults
from core.models import LicenseGrant, LicenseKind
from tests.support.clock import FIXED_NOW as NOW
from tests.support.clock import fixed_clock as fixed
from tests.support.device_signing import DeviceAuth

HERE = "17q5t6a"


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(tmp_path / "cloud", clock=fixed, rng=random.Random(7), admin=True)


def client_of(app: FastAPI, retries: int = 0) -> CloudClient:
    return CloudClient(
        "http://cloud",
        transport=httpx.ASGITransport(app=app),
        retries=retries,
        sleep=_no_sleep,
        signer_for=DeviceAuth(fixed).signer,
        clock=fixed,
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[CloudClient]:
    cloud = client_of(app)
    yield cloud
    await cloud.aclose()


def set_faults(app: FastAPI, **faults: float) -> None:
    app.state.faults.set(Faults(**faults))


def cloud_rows(app: FastAPI, sql: str) -> list[tuple]:
    db = sqlite3.connect(Path(app.state.public_key_path).parent / "cloud.db")
    try:
        return list(db.execute(sql))
    finally:
        db.close()


async def capacity_ids(client: CloudClient, app: FastAPI, n: int = 2) -> list[uuid.UUID]:
    offer = await client.list_licenses(app.state.demo_customer_id, HERE)
    ids = [x.license_id for x in offer if x.kind is LicenseKind.CAPACITY and x.earmarked_install_code is None]
    return ids[:n]


def bound_to(app: FastAPI, install_code: str) -> set[str]:
    rows = cloud_rows(app, f"SELECT license_id FROM licenses WHERE install_code = '{install_code}'")
    return {r[0] for r in rows}


async def test_drop_commits_then_the_client_sees_the_cloud_unreachable(client, app) -> None:
    cid = app.state.demo_customer_id
    ids = await capacity_ids(client, app)
    op = uuid.uuid4()
    set_faults(app, drop=1)
    with pytest.raises(CloudUnreachable):
        await client.activate(cid, HERE, ids, op)
    assert bound_to(app, HERE) == {str(i) for i in ids}  # the effect is in place
    answer = await client.activate(cid, HERE, ids, op)  # the retry with the same key gets the answer
    assert all(r.ok for r in answer.results)
    assert app.state.faults.get().drop == 0


async def test_drop_is_healed_by_the_clients_own_retry(app) -> None:
    cloud = client_of(app, retries=1)
    try:
        cid = app.state.demo_customer_id
        ids = await capacity_ids(cloud, app, 1)
        set_faults(app, drop=1)
        answer = await cloud.transfer(cid, HERE, ids, uuid.uuid4())  # not bound here: answered, no harm
        assert answer.results[0].code == "not_bound"
        set_faults(app, drop=1)
        activated = await cloud.activate(cid, HERE, ids, uuid.uuid4())
        assert activated.results[0].ok and cloud.requests_sent == 1 + 2 + 2  # list; transfer, activate: twice
    finally:
        await cloud.aclose()


async def test_duplicate_delivery_is_harmless_with_an_idempotency_key(client, app) -> None:
    cid = app.state.demo_customer_id
    ids = await capacity_ids(client, app)
    set_faults(app, duplicate=1)
    first = await client.activate(cid, HERE, ids, uuid.uuid4())
    assert all(r.ok for r in first.results)
    set_faults(app, duplicate=1)
    op = uuid.uuid4()
    back = await client.transfer(cid, HERE, ids, op)
    # Had the second copy run the effect again, it would say "not_bound" for licenses already back.
    assert [r.ok for r in back.results] == [True, True]
    assert bound_to(app, HERE) == set()
    assert cloud_rows(app, f"SELECT count(*) FROM idempotency WHERE key LIKE '%:{op}'") == [(1,)]
    assert app.state.faults.get().duplicate == 0


async def test_duplicate_of_a_read(client, app) -> None:
    set_faults(app, duplicate=3)
    view = await client.install_view(app.state.demo_customer_id, HERE)
    assert view.documents == []
    assert app.state.faults.get().duplicate == 2


async def test_skew_moves_the_clouds_clock(client, app) -> None:
    cid = app.state.demo_customer_id
    ids = await capacity_ids(client, app, 1)
    set_faults(app, skew=-86400.5)
    answer = await client.activate(cid, HERE, ids, uuid.uuid4())
    document = answer.results[0].document
    assert document is not None
    grant = LicenseGrant.model_validate(document.payload)
    assert grant.issued_at == NOW - timedelta(seconds=86400.5)
    set_faults(app)
    view = await client.install_view(cid, HERE)
    assert LicenseGrant.model_validate(view.documents[0].payload).issued_at == NOW


async def test_oversized_answer_is_refused_from_its_header(client, app) -> None:
    cid = app.state.demo_customer_id
    ids = await capacity_ids(client, app, 1)
    op = uuid.uuid4()
    set_faults(app, oversized=1)
    with pytest.raises(InvalidAnswer, match="too large"):
        await client.activate(cid, HERE, ids, op)
    assert bound_to(app, HERE) == {str(ids[0])}
    assert (await client.activate(cid, HERE, ids, op)).results[0].ok


async def test_oversized_claims_just_over_the_clients_limit() -> None:
    assert OVERSIZED_BYTES == core.cloud.MAX_ANSWER_BYTES + 1


async def test_client_caps_a_chunked_body_without_reading_it_all(monkeypatch) -> None:
    """No Content-Length: the client stops reading as soon as the body passes its limit."""
    monkeypatch.setattr(core.cloud, "MAX_ANSWER_BYTES", 1024 * 1024)
    served = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal served
        while served < 1000:
            served += 1
            yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Stream(endless()))

    cloud = CloudClient("http://cloud", transport=httpx.MockTransport(handler), retries=0)
    try:
        with pytest.raises(InvalidAnswer, match="too large"):
            await cloud.demo_info()
    finally:
        await cloud.aclose()
    assert served <= 1024 * 1024 // 65536 + 2  # stopped right after the limit, not after 64 MB


async def test_client_refuses_a_huge_declared_length(monkeypatch) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Length": str(10**12)}, stream=_Stream(_one(b'{"customer_id": 1}'))
        )

    cloud = CloudClient("http://cloud", transport=httpx.MockTransport(handler), retries=0)
    try:
        with pytest.raises(InvalidAnswer, match="too large"):
            await cloud.demo_info()
    finally:
        await cloud.aclose()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk


async def test_admin_sets_and_reads_the_new_faults(app) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloud") as http:
        sent = {"drop": 1, "duplicate": 2, "skew": -30.0, "oversized": 3}
        answer = await http.post("/api/v1/admin/faults", json=sent)
        assert answer.status_code == 200
        assert {k: answer.json()[k] for k in sent} == sent
        assert (await http.get("/api/v1/admin/faults")).json() == answer.json()  # admin is exempt
        with pytest.raises(httpx.TransportError):
            await http.get("/api/v1/health")  # drop acts first; the oversized answers are still due
        assert (await http.get("/api/v1/admin/faults")).json()["drop"] == 0


def test_fault_spec_parses_the_new_faults() -> None:
    assert Faults.parse("drop=1,duplicate=2,skew=-3600,oversized=1") == Faults(
        drop=1, duplicate=2, skew=-3600, oversized=1
    )
    for bad in ("drop=-1", "skew=1e12", "duplicate=x"):
        with pytest.raises(ValueError):
            Faults.parse(bad)


def test_cloud_crashpoint_is_inert_unless_asked(monkeypatch) -> None:
    monkeypatch.delenv("SMARTLIC_CLOUD_CRASH_AT", raising=False)
    cloud_crashpoint("after-commit", "activate")
    monkeypatch.setenv("SMARTLIC_CLOUD_CRASH_AT", "after-commit:transfer")
    cloud_crashpoint("after-commit", "activate")  # another operation
    cloud_crashpoint("before-commit", "transfer")  # another point
    monkeypatch.setenv("SMARTLIC_CLOUD_CRASH_AT", "after-commit")
    cloud_crashpoint("after-commit", "")  # partner calls share run_once but are no crash site
