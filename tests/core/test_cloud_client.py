"""The cloud client against scripted transports: retries, error mapping, malformed answers."""

import json
from uuid import UUID

import httpx
import pytest

from core.cloud import CloudClient
from core.errors import CloudUnreachable, InvalidAnswer, NotFound, Refused
from core.models import ActivationAnswer

CUSTOMER = UUID("11111111-2222-4333-8444-555555555555")
LICENSE = UUID("2133c667-af41-4518-94df-a2bb3b775330")


def client(handler, retries: int = 3) -> tuple[CloudClient, list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return CloudClient(
        "http://cloud", transport=httpx.MockTransport(handler), retries=retries, sleep=sleep
    ), sleeps


def problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "type": "about:blank",
            "title": "x",
            "status": status,
            "code": code,
            "detail": "Detail for a human.",
        },
    )


async def test_retries_503_honouring_retry_after_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503, headers={"Retry-After": "2"})
        return httpx.Response(
            200, json={"results": [{"license_id": str(LICENSE), "ok": False, "code": "license_taken"}]}
        )

    cloud, sleeps = client(handler)
    answer = await cloud.transfer(CUSTOMER, "17q5t6a", [LICENSE], UUID(int=1))
    assert answer.results[0].code == "license_taken"
    assert len(calls) == 3
    assert all(c.headers["Idempotency-Key"] == str(UUID(int=1)) for c in calls)
    assert json.loads(calls[0].content) == {"license_ids": [str(LICENSE)]}
    assert sleeps and all(s >= 2 for s in sleeps)


async def test_gives_up_after_retries_with_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    cloud, sleeps = client(handler, retries=2)
    with pytest.raises(CloudUnreachable) as info:
        await cloud.install_view(CUSTOMER, "17q5t6a")
    assert len(sleeps) == 2
    assert "Cannot reach the license cloud" in info.value.message
    assert info.value.exit_code == 3


async def test_problem_documents_map_to_domain_errors() -> None:
    cloud, _ = client(lambda r: problem(404, "customer_not_found"))
    with pytest.raises(NotFound, match="does not know this Customer ID"):
        await cloud.list_page(CUSTOMER, "17q5t6a")
    cloud, _ = client(lambda r: problem(422, "idempotency_key_reused"))
    with pytest.raises(Refused) as info:
        await cloud.activate(CUSTOMER, "17q5t6a", [LICENSE], UUID(int=2))
    assert info.value.code == "idempotency_key_reused"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"results": "no"}',
        b'{"results": [{"license_id": "x", "ok": true}]}',
        b"[]",
        b'{"items": [], "total": 0, "extra": 1}',
    ],
)
async def test_malformed_answers_are_invalid_answer(body: bytes) -> None:
    cloud, _ = client(lambda r: httpx.Response(200, content=body))
    with pytest.raises(InvalidAnswer):
        await cloud.activate(CUSTOMER, "17q5t6a", [LICENSE], UUID(int=3))


async def test_paging_collects_every_page_and_refuses_loops() -> None:
    cursors: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        cursors.append(request.url.params.get("after"))
        nxt = offset + 1 if offset < 2 else None
        item = {
            "license_id": str(UUID(int=offset + 10)),
            "kind": "capacity",
            "devices": 25,
            "description": "25-device capacity",
        }
        return httpx.Response(200, json={"items": [item], "total": 3, "next_offset": nxt})

    cloud, _ = client(handler)
    pages = []
    items = await cloud.list_licenses(CUSTOMER, "17q5t6a", on_page=lambda page, total: pages.append(total))
    assert [i.license_id.int for i in items] == [10, 11, 12]
    assert pages == [3, 3, 3]
    # Each page after the first names the last license seen, so the cloud can seek to it.
    assert cursors == [None, str(UUID(int=10)), str(UUID(int=11))]

    cloud, _ = client(lambda r: httpx.Response(200, json={"items": [], "total": 1, "next_offset": 0}))
    with pytest.raises(InvalidAnswer, match="does not advance"):
        await cloud.list_licenses(CUSTOMER, "17q5t6a")


async def test_unkeyed_posts_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    cloud, _ = client(handler)
    with pytest.raises(CloudUnreachable):
        await cloud._call("POST", "/x", ActivationAnswer)
    assert len(calls) == 1
