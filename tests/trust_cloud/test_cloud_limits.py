"""The mock cloud's limits: body size (413, while reading), bounded numbers, scoped and expiring keys."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from core.mock_cloud.app import create_app
from core.mock_cloud.idempotency import ANSWER_LIFETIME
from core.mock_cloud.limits import MAX_BODY_BYTES
from core.models import ActivationAnswer
from tests.trust_cloud.cloud_helpers import HERE, OTHER, Clock, bindings
from tests.trust_cloud.test_device_signatures import activate, batch_path, free_license, problem

NINE_MIB = 9 * 1024 * 1024
CHUNK = 64 * 1024


async def test_a_9_mib_body_with_content_length_is_413(curl: httpx.AsyncClient, app: FastAPI) -> None:
    assert MAX_BODY_BYTES == 8 * 1024 * 1024
    body = b'{"license_ids": ["' + b"x" * NINE_MIB + b'"]}'
    answer = await curl.post(batch_path(app, HERE, "activate"), content=body)
    problem(answer, 413, "payload_too_large")
    partner = await curl.post(
        "/api/v1/partner/customers", content=body, headers={"Content-Type": "application/json"}
    )
    problem(partner, 413, "payload_too_large")


async def test_a_chunked_9_mib_body_is_refused_while_reading(curl: httpx.AsyncClient, app: FastAPI) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        sent = 0
        while sent < NINE_MIB:
            sent += CHUNK
            yield b"x" * CHUNK

    answer = await curl.post(
        "/api/v1/portal/fulfil", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in answer.request.headers
    problem(answer, 413, "payload_too_large")
    assert sent <= MAX_BODY_BYTES + 2 * CHUNK  # refused as the limit passed, not after the whole body
    device = await curl.post(batch_path(app, HERE, "activate"), content=chunks())
    problem(device, 413, "payload_too_large")
    assert sent <= MAX_BODY_BYTES + 2 * CHUNK


async def test_a_chunked_body_is_refused_by_a_served_cloud_too(tmp_path: Path) -> None:
    from tests.support.cloud_process import running_cloud

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(NINE_MIB // CHUNK):
            yield b"x" * CHUNK

    with running_cloud(tmp_path / "cloud") as cloud:
        async with httpx.AsyncClient(base_url=cloud.url, timeout=30) as http:
            answer = await http.post("/api/v1/portal/fulfil", content=chunks())
            problem(answer, 413, "payload_too_large")
            assert (await http.get("/api/v1/health")).status_code == 200  # and it still serves


@pytest.mark.parametrize(
    "params",
    [
        {"offset": "99999999999999999999999"},
        {"offset": str(2**63)},
        {"limit": "99999999999999999999999"},
        {"offset": "-1"},
        {"offset": "1e3"},
    ],
)
async def test_query_numbers_out_of_bounds_are_422(
    device: httpx.AsyncClient, app: FastAPI, params: dict
) -> None:
    answer = await device.get(f"/api/v1/customers/{app.state.demo_customer_id}/licenses", params=params)
    problem(answer, 422, "invalid_request")


async def test_an_idempotency_key_never_replays_another_install_codes_answer(
    device: httpx.AsyncClient, app: FastAPI
) -> None:
    first = await free_license(device, app)
    assert (
        ActivationAnswer.model_validate((await activate(device, app, HERE, [first], "shared")).json())
        .results[0]
        .ok
    )
    second = next(i for i, code in bindings(app).items() if code is None and i != first)
    # The same key from another controller: its own call, not HERE's stored answer.
    answer = ActivationAnswer.model_validate((await activate(device, app, OTHER, [second], "shared")).json())
    assert [r.license_id for r in answer.results] == [uuid.UUID(second)] and answer.results[0].ok
    assert bindings(app)[first] == HERE and bindings(app)[second] == OTHER


async def test_stored_answers_expire_after_24_hours(
    device: httpx.AsyncClient, app: FastAPI, clock: Clock
) -> None:
    assert timedelta(hours=24) == ANSWER_LIFETIME
    first = await free_license(device, app)
    assert (await activate(device, app, HERE, [first], "k")).status_code == 200
    other = next(i for i, code in bindings(app).items() if code is None and i != first)
    clock.advance(timedelta(hours=23, minutes=59))
    problem(await activate(device, app, HERE, [other], "k"), 422, "idempotency_key_reused")
    clock.advance(timedelta(minutes=1))
    answer = ActivationAnswer.model_validate((await activate(device, app, HERE, [other], "k")).json())
    assert answer.results[0].ok and bindings(app)[other] == HERE
    with app.state.db.read() as tx:
        # Only the new answer is kept under the key.
        stored = tx.idempotency(f"device:{app.state.demo_customer_id}:{HERE}:k")
    assert stored is not None and str(other) in stored.response_json


async def test_admin_endpoints_exist_only_with_the_flag(tmp_path: Path, clock: Clock) -> None:
    for admin, status in ((False, 404), (True, 200)):
        cloud = create_app(tmp_path / f"cloud-{admin}", clock=clock, rng=random.Random(3), admin=admin)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=cloud), base_url="http://cloud"
        ) as http:
            assert (await http.post("/api/v1/admin/faults", json={"fail": 1})).status_code == status
            assert (await http.get("/api/v1/admin/faults")).status_code == status
            assert (await http.get("/api/v1/health")).status_code == (503 if admin else 200)


def test_served_cloud_has_admin_only_with_admin_or_faults(tmp_path: Path) -> None:
    from tests.support.cloud_process import running_cloud

    for extra, status in (((), 404), (("--admin",), 200), (("--faults", "delay=0"), 200)):
        with running_cloud(tmp_path / "cloud", *extra) as cloud:
            answer = httpx.post(f"{cloud.url}/api/v1/admin/faults", json={"delay": 0}, timeout=30)
            assert answer.status_code == status, (extra, answer.text)
