"""Fuzz: whatever the cloud answers, CloudClient returns a validated model or raises a SmartlicError.

Answers: HTTP 100-599, wrong content types, non-JSON bytes, JSON of random structure, valid answers
with a field dropped / retyped / added, 10^4-item lists, deep nesting, junk Retry-After headers.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.cloud import MAX_RETRY_AFTER, CloudClient
from core.errors import CloudUnreachable, SmartlicError
from core.models import ActivationAnswer, CloudLicense, CloudLicensePage, InstallView, TransferAnswer
from tests.fuzz.fuzz_helpers import (
    attempt,
    cloud_license_json,
    fuzz_settings,
    json_values,
    mutate_object,
    run,
)

CUSTOMER = UUID("11111111-2222-4333-8444-555555555555")
LICENSE = UUID("2133c667-af41-4518-94df-a2bb3b775330")
DOC = {"payload": {"type": "smartlic.license.v1"}, "key_id": "abc", "signature": "c2ln"}
_rng = random.Random(7)

VALID: dict[str, dict[str, Any]] = {
    "page": {"items": [cloud_license_json(_rng)], "total": 1, "next_offset": None},
    "activate": {"results": [{"license_id": str(LICENSE), "ok": True, "document": DOC}]},
    "transfer": {"results": [{"license_id": str(LICENSE), "ok": False, "code": "license_taken"}]},
    "view": {"install_code": "17q5t6a", "documents": [DOC]},
}
LIST_FIELD = {"page": "items", "activate": "results", "transfer": "results", "view": "documents"}
HUGE = {  # 10^4 valid items: must parse (or be refused) without trouble
    name: json.dumps({**body, LIST_FIELD[name]: body[LIST_FIELD[name]] * 10_000}).encode()
    for name, body in VALID.items()
}
HUGE["page"] = json.dumps(
    {"items": [cloud_license_json(_rng) for _ in range(10_000)], "total": 10_000, "next_offset": None}
).encode()
STATUSES = st.one_of(
    st.sampled_from(
        [200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503]
    ),
    st.integers(100, 599),
)
CONTENT_TYPES = st.sampled_from(
    [None, "application/json", "application/problem+json", "text/html", "application/octet-stream",
     "application/json; charset=latin-1", "text/plain; charset=utf-16", "\x00junk"]
)  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn, name: str) -> bytes:
    kind = draw(
        st.sampled_from(["mutated", "mutated-item", "json", "bytes", "problem", "huge", "nested", "text"])
    )
    valid = VALID[name]
    if kind == "mutated":
        return json.dumps(mutate_object(draw, valid, list(valid))).encode()
    if kind == "mutated-item":
        field = LIST_FIELD[name]
        item = valid[field][0]
        items = [mutate_object(draw, item, list(item)) if draw(st.booleans()) else item for _ in range(3)]
        return json.dumps({**valid, field: items}).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "problem":
        problem = {"title": draw(json_values), "status": draw(json_values), "code": draw(json_values)}
        problem["detail"] = draw(st.one_of(json_values, st.text(min_size=300, max_size=2000)))
        return json.dumps(
            draw(st.sampled_from([problem, mutate_object(draw, problem, list(problem))]))
        ).encode()
    if kind == "huge":
        return HUGE[name]
    if kind == "nested":  # shallow enough for json.loads: the deep case is a known bug below
        depth = draw(st.integers(1, 200))
        return b"[" * depth + b"]" * depth
    return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")


@st.composite
def answers(draw: st.DrawFn, name: str) -> tuple[int, bytes, str | None]:
    status = draw(STATUSES)
    body = draw(st.one_of(bodies(name), st.just(json.dumps(VALID[name]).encode())))
    return status, body, draw(CONTENT_TYPES)


def _response(answer: tuple[int, bytes, str | None]) -> httpx.Response:
    status, body, content_type = answer
    headers = {"Content-Type": content_type} if content_type else {}
    return httpx.Response(status, content=body, headers=headers)


CALLS = {
    "page": (lambda c: c.list_page(CUSTOMER, "17q5t6a"), CloudLicensePage),
    "activate": (lambda c: c.activate(CUSTOMER, "17q5t6a", [LICENSE], UUID(int=1)), ActivationAnswer),
    "transfer": (lambda c: c.transfer(CUSTOMER, "17q5t6a", [LICENSE], UUID(int=2)), TransferAnswer),
    "view": (lambda c: c.install_view(CUSTOMER, "17q5t6a"), InstallView),
}


async def _call(name: str, responses: list[httpx.Response]) -> Any:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if queue else httpx.Response(503)

    client = CloudClient("http://cloud", transport=httpx.MockTransport(handler), retries=0)
    try:
        if name == "list":
            return await client.list_licenses(CUSTOMER, "17q5t6a")
        return await CALLS[name][0](client)
    finally:
        await client.aclose()


@fuzz_settings(200)
@given(st.sampled_from(sorted(CALLS)).flatmap(lambda name: st.tuples(st.just(name), answers(name))))
@example(("view", (200, b"[" * 100_000 + b"]" * 100_000, "application/json")))
@example(("page", (200, HUGE["page"], "application/json")))
@example(("activate", (101, b"", None)))
@example(("transfer", (599, b"\xff\xfe\x00", "application/json")))
def test_every_answer_is_a_model_or_a_clear_error(case: tuple[str, tuple[int, bytes, str | None]]) -> None:
    name, answer = case
    with attempt():
        try:
            result = run(_call(name, [_response(answer)]))
        except SmartlicError as exc:
            assert exc.message and str(exc)
            return
        assert isinstance(result, CALLS[name][1])
        assert 200 <= answer[0] < 300


@st.composite
def page_answers(draw: st.DrawFn) -> list[tuple[int, bytes, str | None]]:
    """A few pages: valid ones with random next_offset, or any junk answer."""
    pages: list[tuple[int, bytes, str | None]] = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            items = [
                cloud_license_json(random.Random(draw(st.integers()))) for _ in range(draw(st.integers(0, 3)))
            ]
            next_offset = draw(st.one_of(st.none(), st.integers(-5, 5000)))
            body = {"items": items, "total": draw(st.integers(-1, 10)), "next_offset": next_offset}
            pages.append((200, json.dumps(body).encode(), "application/json"))
        else:
            pages.append(draw(answers("page")))
    return pages


@fuzz_settings(100)
@given(page_answers())
def test_list_licenses_pages_end_or_fail_clearly(pages: list[tuple[int, bytes, str | None]]) -> None:
    with attempt():
        try:
            result = run(_call("list", [_response(p) for p in pages]))
        except SmartlicError:
            return
        assert isinstance(result, list) and all(isinstance(i, CloudLicense) for i in result)


@fuzz_settings(100)
@given(
    st.sampled_from([429, 502, 503, 504]),
    st.one_of(
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
        st.sampled_from(
            ["nan", "inf", "-inf", "1e309", "-1e309", "-5", " 3 ", "0x10", "1_0", "Wed, 21 Oct 2015"]
        ),
    ),
)
def test_retry_after_junk_never_sleeps_forever(status: int, retry_after: str) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def go() -> None:
        client = CloudClient(
            "http://cloud",
            transport=httpx.MockTransport(
                lambda r: httpx.Response(status, headers={"Retry-After": retry_after})
            ),
            retries=2,
            sleep=sleep,
        )
        try:
            await client.install_view(CUSTOMER, "17q5t6a")
        finally:
            await client.aclose()

    with attempt(), pytest.raises(CloudUnreachable):
        run(go())
    assert len(sleeps) == 2
    assert all(math.isfinite(s) and 0 <= s <= MAX_RETRY_AFTER for s in sleeps), sleeps


@fuzz_settings(20)
@given(st.sampled_from(sorted(CALLS)), st.integers(400, 599), st.integers(10_000, 200_000))
@example("view", 500, 100_000)
def test_deeply_nested_error_bodies_are_a_clear_error(name: str, status: int, depth: int) -> None:
    with attempt(), contextlib.suppress(SmartlicError):
        run(_call(name, [httpx.Response(status, content=b"[" * depth + b"]" * depth)]))
