"""The mock license cloud driven in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI

from core.errors import SignatureInvalid
from core.mock_cloud.app import create_app
from core.mock_cloud.db import SCHEMA_VERSION, LicenseRecord
from core.mock_cloud.faults import Faults
from core.models import (
    ActivationAnswer,
    CloudLicense,
    CloudLicensePage,
    InstallView,
    LicenseGrant,
    LicenseKind,
    Problem,
    SignedDocument,
    TransferAnswer,
)
from core.signing import load_public_key, verify_with
from tests.support.clock import FIXED_NOW as NOW
from tests.support.clock import fixed_clock as fixed
from tests.support.device_signing import DeviceAuth

TODAY = NOW.date()
HERE = "17q5t6a"  # the seed's default earmark
OTHER = "9zz0abc"


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return create_app(tmp_path, clock=fixed, rng=random.Random(1), admin=True)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cloud", auth=DeviceAuth(fixed)
    ) as c:
        yield c


def cid(app: FastAPI) -> str:
    return str(app.state.demo_customer_id)


async def listing(client: httpx.AsyncClient, app: FastAPI, **params: str | int) -> CloudLicensePage:
    response = await client.get(f"/api/v1/customers/{cid(app)}/licenses", params=params)
    assert response.status_code == 200, response.text
    return CloudLicensePage.model_validate(response.json())


async def all_available(
    client: httpx.AsyncClient, app: FastAPI, install_code: str = HERE
) -> list[CloudLicense]:
    return (await listing(client, app, install_code=install_code)).items


def pick(items: list[CloudLicense], kind: LicenseKind, devices: int, earmarked: bool = False) -> CloudLicense:
    return next(
        i
        for i in items
        if i.kind is kind and i.devices == devices and (i.earmarked_install_code is not None) == earmarked
    )


async def post(
    client: httpx.AsyncClient,
    app: FastAPI,
    install_code: str,
    action: str,
    ids: Sequence[object],
    key: str | None,
) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await client.post(
        f"/api/v1/customers/{cid(app)}/installs/{install_code}/{action}",
        json={"license_ids": [str(i) for i in ids]},
        headers=headers,
    )


def problem(response: httpx.Response, status: int, code: str) -> Problem:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = Problem.model_validate(response.json())
    assert body.status == status
    assert body.code == code
    assert body.title
    return body


async def public_key(client: httpx.AsyncClient) -> Ed25519PublicKey:
    response = await client.get("/api/v1/public-key")
    assert response.status_code == 200
    return load_public_key(response.json()["pem"].encode())


# --- basics ----------------------------------------------------------------------------------


async def test_health_public_key_and_demo(client: httpx.AsyncClient, app: FastAPI, tmp_path: Path) -> None:
    health = (await client.get("/api/v1/health")).json()
    assert health["status"] == "ok"
    assert datetime.fromisoformat(health["time"]) == NOW

    key = (await client.get("/api/v1/public-key")).json()
    assert key["pem"].encode() == app.state.public_key_path.read_bytes()
    assert app.state.public_key_path == tmp_path / "cloud_key.pub"
    assert len(key["key_id"]) == 16

    demo = (await client.get("/api/v1/demo")).json()
    assert demo == {"customer_id": cid(app), "partner_name": "Demo Partner"}


def test_files_are_private_and_schema_versioned(app: FastAPI, tmp_path: Path) -> None:
    assert (tmp_path / "cloud.db").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cloud_key.pem").stat().st_mode & 0o777 == 0o600
    assert app.state.db.schema_version() == SCHEMA_VERSION


def test_seed_is_deterministic_and_kept(tmp_path: Path) -> None:
    first = create_app(tmp_path / "a", clock=fixed, rng=random.Random(1))
    second = create_app(tmp_path / "b", clock=fixed, rng=random.Random(1))
    assert first.state.demo_customer_id == second.state.demo_customer_id
    # Reopening an existing folder does not seed again, whatever the rng.
    again = create_app(tmp_path / "a", clock=fixed, rng=random.Random(99))
    assert again.state.demo_customer_id == first.state.demo_customer_id
    with again.state.db.read() as tx:
        assert len(tx.customer_licenses(again.state.demo_customer_id)) == 11


async def test_seed_content(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    assert len(items) >= 10
    sizes = {(i.kind, i.devices, i.term_years) for i in items}
    for devices in (25, 100, 200, 1000):
        assert (LicenseKind.CAPACITY, devices, None) in sizes
    assert (LicenseKind.MAINTENANCE, 200, 3) in sizes
    assert (LicenseKind.MAINTENANCE, 100, 1) in sizes
    maintenance = [i for i in items if i.kind is LicenseKind.MAINTENANCE]
    assert all(i.expires_on is not None and i.expires_on > TODAY for i in maintenance)
    assert len({i.expires_on for i in maintenance}) == len(maintenance)
    soon = [i for i in maintenance if i.expires_on is not None and i.expires_on <= TODAY + timedelta(days=30)]
    assert [(s.devices, s.expires_on) for s in soon] == [(25, TODAY + timedelta(days=20))]
    earmarked = [i for i in items if i.earmarked_install_code is not None]
    assert [e.earmarked_install_code for e in earmarked] == [HERE]
    assert all(i.transfer_date is not None and i.transfer_date < TODAY for i in items)
    assert pick(items, LicenseKind.MAINTENANCE, 200).description.startswith("200-device maintenance, ")
    assert pick(items, LicenseKind.CAPACITY, 200).description == "200-device capacity"
    assert len({i.license_id for i in items}) == len(items)
    # The partner's own inventory exists, and customers never see it.
    with app.state.db.read() as tx:
        partner = tx.partner_by_token("demo-partner-token")
        assert partner is not None
        assert len(tx.inventory(partner.partner_id)) >= 2


async def test_listing_pages_in_stable_order(client: httpx.AsyncClient, app: FastAPI) -> None:
    everything = (await listing(client, app)).items
    seen: list[CloudLicense] = []
    offset: int | None = 0
    while offset is not None:
        page = await listing(client, app, offset=offset, limit=4)
        assert page.total == len(everything)
        seen += page.items
        offset = page.next_offset
    assert seen == everything
    last = await listing(client, app, offset=len(everything) - 1, limit=4)
    assert last.next_offset is None and len(last.items) == 1


async def test_listing_with_cursor_pages_as_offsets_do(client: httpx.AsyncClient, app: FastAPI) -> None:
    everything = (await listing(client, app)).items
    seen: list[CloudLicense] = []
    offset: int | None = 0
    while offset is not None:
        after = {"after": str(seen[-1].license_id)} if seen else {}
        page = await listing(client, app, offset=offset, limit=4, **after)
        assert page.total == len(everything)
        seen += page.items
        offset = page.next_offset
    assert seen == everything
    # A cursor that is none of the customer's licenses is ignored: the offset counts.
    stranger = await listing(client, app, offset=2, limit=3, after=str(uuid.uuid4()))
    assert stranger.items == everything[2:5]


async def test_listing_cursor_and_count_follow_changes_between_pages(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    everything = (await listing(client, app)).items
    first = await listing(client, app, limit=4)
    # Meanwhile a license of the first page is activated, and one further on too.
    gone = [everything[0].license_id, everything[6].license_id]
    assert (await post(client, app, HERE, "activate", gone, "op-between")).status_code == 200
    rest = await listing(client, app, offset=4, limit=100, after=str(first.items[-1].license_id))
    # The cursor continues right after the last license seen, and the count is today's.
    assert rest.items == [i for i in everything[4:] if i.license_id not in gone]
    assert rest.total == len(everything) - 2
    assert rest.next_offset is None
    # A license handed back behind the cursor is in the count but not ahead of it: the page
    # list still ends (a next_offset that does not advance would be refused by the client).
    assert (await post(client, app, HERE, "transfer", gone[:1], "op-back")).status_code == 200
    last = await listing(client, app, offset=4, limit=100, after=str(rest.items[-1].license_id))
    assert last.items == [] and last.next_offset is None
    assert last.total == len(everything) - 1


async def test_listing_hides_licenses_earmarked_for_another_segment(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    here = await all_available(client, app, HERE)
    there = await all_available(client, app, OTHER)
    assert len(there) == len(here) - 1
    assert all(i.earmarked_install_code is None for i in there)


async def test_listing_refuses_bad_input(client: httpx.AsyncClient, app: FastAPI) -> None:
    base = f"/api/v1/customers/{cid(app)}/licenses"
    problem(await client.get(base, params={"install_code": "ABC"}), 422, "invalid_install_code")
    problem(await client.get(base, params={"limit": 5001}), 422, "invalid_request")
    problem(await client.get(base, params={"offset": -1}), 422, "invalid_request")
    problem(await client.get(base, params={"offset": "99999999999999999999999"}), 422, "invalid_request")
    assert (await client.get(base, params={"limit": 5000})).status_code == 200


async def test_unknown_customer_is_404_problem(client: httpx.AsyncClient) -> None:
    body = problem(await client.get(f"/api/v1/customers/{uuid.uuid4()}/licenses"), 404, "customer_not_found")
    assert body.detail and "Customer ID" in body.detail


async def test_invalid_customer_id_is_422_problem(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/api/v1/customers/not-a-uuid/licenses"), 422, "invalid_customer_id")
    assert body.detail


async def test_unknown_route_and_bad_body_are_problems(client: httpx.AsyncClient, app: FastAPI) -> None:
    problem(await client.get("/api/v1/nowhere"), 404, "not_found")
    response = await client.post(
        f"/api/v1/customers/{cid(app)}/installs/{HERE}/activate",
        json={"license_ids": ["nope"]},
        headers={"Idempotency-Key": "k"},
    )
    problem(response, 422, "invalid_request")


# --- activation ------------------------------------------------------------------------------


async def test_activate_signs_a_bound_document(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    cap = pick(items, LicenseKind.CAPACITY, 1000)
    mnt = pick(items, LicenseKind.MAINTENANCE, 200)
    response = await post(client, app, HERE, "activate", [cap.license_id, mnt.license_id], "op-1")
    assert response.status_code == 200, response.text
    answer = ActivationAnswer.model_validate(response.json())
    assert [r.license_id for r in answer.results] == [cap.license_id, mnt.license_id]
    assert all(r.ok and r.document for r in answer.results)

    key = await public_key(client)
    for result, listed in zip(answer.results, (cap, mnt), strict=True):
        assert result.document is not None
        grant = LicenseGrant.model_validate(verify_with(key, result.document))
        assert grant.license_id == listed.license_id
        assert grant.kind is listed.kind
        assert grant.devices == listed.devices
        assert grant.term_years == listed.term_years
        assert grant.expires_on == listed.expires_on
        assert str(grant.customer_id) == cid(app)
        assert grant.install_code == HERE
        assert grant.issued_at == NOW

    remaining = {i.license_id for i in await all_available(client, app)}
    assert cap.license_id not in remaining and mnt.license_id not in remaining


async def test_tampered_document_does_not_verify(client: httpx.AsyncClient, app: FastAPI) -> None:
    cap = pick(await all_available(client, app), LicenseKind.CAPACITY, 25)
    answer = ActivationAnswer.model_validate(
        (await post(client, app, HERE, "activate", [cap.license_id], "op-t")).json()
    )
    document = answer.results[0].document
    assert document is not None
    forged = SignedDocument(
        payload={**document.payload, "devices": 100000},
        key_id=document.key_id,
        signature=document.signature,
    )
    with pytest.raises(SignatureInvalid):
        verify_with(await public_key(client), forged)


async def test_activate_again_on_same_install_code_heals(client: httpx.AsyncClient, app: FastAPI) -> None:
    cap = pick(await all_available(client, app), LicenseKind.CAPACITY, 200)
    await post(client, app, HERE, "activate", [cap.license_id], "op-a")
    again = ActivationAnswer.model_validate(
        (await post(client, app, HERE, "activate", [cap.license_id], "op-b")).json()
    )
    assert again.results[0].ok and again.results[0].document is not None


async def test_license_taken_on_another_install_code(client: httpx.AsyncClient, app: FastAPI) -> None:
    cap = pick(await all_available(client, app), LicenseKind.CAPACITY, 200)
    assert (await post(client, app, HERE, "activate", [cap.license_id], "op-1")).status_code == 200
    answer = ActivationAnswer.model_validate(
        (await post(client, app, OTHER, "activate", [cap.license_id], "op-2")).json()
    )
    (result,) = answer.results
    assert not result.ok and result.document is None
    assert result.code == "license_taken"
    assert result.reason and "another segment controller" in result.reason


async def test_earmarked_license_refused_elsewhere(client: httpx.AsyncClient, app: FastAPI) -> None:
    marked = pick(await all_available(client, app), LicenseKind.CAPACITY, 200, earmarked=True)
    answer = ActivationAnswer.model_validate(
        (await post(client, app, OTHER, "activate", [marked.license_id], "op-e")).json()
    )
    assert answer.results[0].code == "license_earmarked"
    assert answer.results[0].reason and HERE in answer.results[0].reason
    ok = ActivationAnswer.model_validate(
        (await post(client, app, HERE, "activate", [marked.license_id], "op-f")).json()
    )
    assert ok.results[0].ok


async def test_unknown_and_foreign_licenses_not_found(client: httpx.AsyncClient, app: FastAPI) -> None:
    with app.state.db.read() as tx:
        partner = tx.partner_by_token("demo-partner-token")
        inventory_id = tx.inventory(partner.partner_id)[0].license_id
    answer = ActivationAnswer.model_validate(
        (await post(client, app, HERE, "activate", [uuid.uuid4(), inventory_id], "op-n")).json()
    )
    assert [r.code for r in answer.results] == ["license_not_found", "license_not_found"]


async def test_expired_maintenance_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    with app.state.db.write() as tx:
        partner = tx.partner_by_token("demo-partner-token")
        old = tx.add_license(
            LicenseRecord(
                license_id=uuid.uuid4(),
                partner_id=partner.partner_id,
                customer_id=app.state.demo_customer_id,
                kind=LicenseKind.MAINTENANCE,
                devices=100,
                term_years=1,
                expires_on=TODAY - timedelta(days=1),
                transfer_date=date(2025, 1, 1),
            )
        )
    answer = ActivationAnswer.model_validate(
        (await post(client, app, HERE, "activate", [old.license_id], "op-x")).json()
    )
    assert answer.results[0].code == "license_expired"


async def test_batch_is_answered_in_request_order(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    marked = pick(items, LicenseKind.CAPACITY, 200, earmarked=True)
    ids = [items[0].license_id, uuid.uuid4(), marked.license_id, items[1].license_id]
    answer = ActivationAnswer.model_validate((await post(client, app, OTHER, "activate", ids, "op-o")).json())
    assert [r.license_id for r in answer.results] == ids
    assert [r.ok for r in answer.results] == [True, False, False, True]


async def test_concurrent_activations_elsewhere_give_one_winner(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    cap = pick(await all_available(client, app), LicenseKind.CAPACITY, 1000)
    codes = [f"race{n:03d}" for n in range(8)]
    responses = await asyncio.gather(
        *(post(client, app, code, "activate", [cap.license_id], f"op-{code}") for code in codes)
    )
    results = [ActivationAnswer.model_validate(r.json()).results[0] for r in responses]
    assert sum(r.ok for r in results) == 1
    assert {r.code for r in results if not r.ok} == {"license_taken"}


# --- transfer and install view ---------------------------------------------------------------


async def test_transfer_returns_license_to_cloud(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    cap, other = pick(items, LicenseKind.CAPACITY, 1000), pick(items, LicenseKind.CAPACITY, 25)
    await post(client, app, HERE, "activate", [cap.license_id], "op-1")
    response = await post(
        client, app, HERE, "transfer", [cap.license_id, other.license_id, uuid.uuid4()], "op-2"
    )
    assert response.status_code == 200, response.text
    answer = TransferAnswer.model_validate(response.json())
    assert [(r.ok, r.code) for r in answer.results] == [
        (True, None),
        (False, "not_bound"),
        (False, "license_not_found"),
    ]
    back = next(i for i in await all_available(client, app) if i.license_id == cap.license_id)
    assert back.transfer_date == TODAY
    # Now it may be activated elsewhere.
    moved = ActivationAnswer.model_validate(
        (await post(client, app, OTHER, "activate", [cap.license_id], "op-3")).json()
    )
    assert moved.results[0].ok


async def test_install_view_lists_fresh_documents(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    ids = [
        pick(items, LicenseKind.CAPACITY, 100).license_id,
        pick(items, LicenseKind.MAINTENANCE, 1000).license_id,
    ]
    await post(client, app, HERE, "activate", ids, "op-1")
    response = await client.get(f"/api/v1/customers/{cid(app)}/installs/{HERE}/licenses")
    assert response.status_code == 200
    view = InstallView.model_validate(response.json())
    assert view.install_code == HERE
    key = await public_key(client)
    got = {verify_with(key, d)["license_id"] for d in view.documents}
    assert got == {str(i) for i in ids}
    empty = await client.get(f"/api/v1/customers/{cid(app)}/installs/{OTHER}/licenses")
    assert InstallView.model_validate(empty.json()).documents == []


# --- idempotency -----------------------------------------------------------------------------


async def test_idempotency_key_required(client: httpx.AsyncClient, app: FastAPI) -> None:
    cap = pick(await all_available(client, app), LicenseKind.CAPACITY, 25)
    problem(
        await post(client, app, HERE, "activate", [cap.license_id], None), 400, "idempotency_key_required"
    )
    problem(
        await post(client, app, HERE, "transfer", [cap.license_id], None), 400, "idempotency_key_required"
    )


async def test_replay_is_identical_and_has_no_new_effect(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    cap = pick(items, LicenseKind.CAPACITY, 1000)
    first = await post(client, app, HERE, "activate", [cap.license_id], "same-key")
    await post(client, app, HERE, "transfer", [cap.license_id], "transfer-key")
    replay = await post(client, app, HERE, "activate", [cap.license_id], "same-key")
    assert replay.status_code == first.status_code == 200
    assert replay.content == first.content
    # The replay did not activate the license again: it is still back in the cloud.
    assert cap.license_id in {i.license_id for i in await all_available(client, app)}


async def test_key_reused_for_another_request_is_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    await post(client, app, HERE, "activate", [items[0].license_id], "key-1")
    problem(
        await post(client, app, HERE, "activate", [items[1].license_id], "key-1"),
        422,
        "idempotency_key_reused",
    )
    problem(
        await post(client, app, HERE, "transfer", [items[0].license_id], "key-1"),
        422,
        "idempotency_key_reused",
    )
    # Nothing happened to the second license.
    assert items[1].license_id in {i.license_id for i in await all_available(client, app)}


# --- faults ----------------------------------------------------------------------------------


async def test_fail_faults_give_503_then_ok(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/admin/faults", json={"fail": 2})
    assert response.status_code == 200 and response.json()["fail"] == 2
    for _ in range(2):
        failed = await client.get("/api/v1/health")
        problem(failed, 503, "unavailable")
        assert failed.headers["retry-after"] == "1"
    assert (await client.get("/api/v1/health")).status_code == 200


async def test_malformed_fault_keeps_effect_and_replay_heals(tmp_path: Path) -> None:
    app = create_app(
        tmp_path, clock=fixed, rng=random.Random(1), faults=Faults.parse("malformed=1"), admin=True
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cloud", auth=DeviceAuth(fixed)
    ) as client:
        with pytest.raises(ValueError):
            (await client.get("/api/v1/health")).json()  # the fault given at creation
        cap = pick(await all_available(client, app), LicenseKind.CAPACITY, 25)
        (await client.post("/api/v1/admin/faults", json={"malformed": 1})).raise_for_status()
        garbled = await post(client, app, HERE, "activate", [cap.license_id], "op-m")
        with pytest.raises(ValueError):
            garbled.json()
        healed = await post(client, app, HERE, "activate", [cap.license_id], "op-m")
        assert ActivationAnswer.model_validate(healed.json()).results[0].ok


async def test_bad_signature_fault(client: httpx.AsyncClient, app: FastAPI) -> None:
    items = await all_available(client, app)
    await client.post("/api/v1/admin/faults", json={"bad_signature": 1})
    ids = [
        pick(items, LicenseKind.CAPACITY, 25).license_id,
        pick(items, LicenseKind.CAPACITY, 200).license_id,
    ]
    answer = ActivationAnswer.model_validate((await post(client, app, HERE, "activate", ids, "op-s")).json())
    key = await public_key(client)
    first, second = (r.document for r in answer.results)
    assert first is not None and second is not None
    with pytest.raises(SignatureInvalid):
        verify_with(key, first)
    verify_with(key, second)
    assert (await client.get("/api/v1/admin/faults")).json()["bad_signature"] == 0


async def test_delay_fault(tmp_path: Path) -> None:
    app = create_app(tmp_path, clock=fixed, rng=random.Random(1), faults=Faults(delay=0.2))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cloud", auth=DeviceAuth(fixed)
    ) as client:
        started = time.monotonic()
        assert (await client.get("/api/v1/health")).status_code == 200
        assert time.monotonic() - started >= 0.2


def test_fault_spec_parsing() -> None:
    assert Faults.parse("delay=0.1,fail=3,malformed=1,bad_signature=1") == Faults(
        delay=0.1, fail=3, malformed=1, bad_signature=1
    )
    assert Faults.parse("") == Faults()
    for bad in ("fail", "fail=x", "oops=1", "fail=-1"):
        with pytest.raises(ValueError):
            Faults.parse(bad)


async def test_batch_naming_a_license_twice_answers_as_one_by_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # The batch is read and written in one statement each; a repeated id must still see the
    # earlier change of the same batch.
    items = await all_available(client, app)
    first, second = items[0].license_id, items[1].license_id
    answer = ActivationAnswer.model_validate(
        (await post(client, app, HERE, "activate", [first, second, first], "op-twice-a")).json()
    )
    assert [(r.license_id, r.ok) for r in answer.results] == [(first, True), (second, True), (first, True)]
    with app.state.db.read() as tx:
        assert {r.install_code for r in tx.licenses_by_id([first, second]).values()} == {HERE}
    returned = TransferAnswer.model_validate(
        (await post(client, app, HERE, "transfer", [first, first, second], "op-twice-t")).json()
    )
    assert [(r.ok, r.code) for r in returned.results] == [(True, None), (False, "not_bound"), (True, None)]
    with app.state.db.read() as tx:
        assert {r.install_code for r in tx.licenses_by_id([first, second]).values()} == {None}
