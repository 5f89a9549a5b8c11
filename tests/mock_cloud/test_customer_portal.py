"""The Customer Portal API: fulfilling offline request files and crediting return receipts."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.mock_cloud.db import _MIGRATIONS, SCHEMA_VERSION, CloudDB, Customer, LicenseRecord
from core.models import (
    ActivationAnswer,
    CloudLicense,
    CloudLicensePage,
    LicenseGrant,
    LicenseKind,
    OfflineResponse,
    SignedDocument,
)
from core.signing import Signer, load_public_key, verify_with
from tests.mock_cloud.offline import (
    HERE,
    NOW,
    OTHER,
    TODAY,
    dump,
    problem,
    receipt_doc,
    request_doc,
    tampered,
)
from tests.support.device_signing import DeviceAuth

FULFIL = "/api/v1/portal/fulfil"
RETURN = "/api/v1/portal/return"


def cid(app: FastAPI) -> str:
    return str(app.state.demo_customer_id)


async def available(cloud: httpx.AsyncClient, app: FastAPI, install_code: str = HERE) -> list[CloudLicense]:
    response = await cloud.get(
        f"/api/v1/customers/{cid(app)}/licenses", params={"install_code": install_code}
    )
    return CloudLicensePage.model_validate(response.json()).items


def unmarked(items: list[CloudLicense]) -> list[str]:
    return [str(i.license_id) for i in items if i.earmarked_install_code is None]


def snapshot(app: FastAPI) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    with app.state.db.read() as tx:
        licenses = [r.model_dump() for r in tx.customer_licenses(app.state.demo_customer_id)]
        keys = [tx.device_key(code) for code in (HERE, OTHER)]
    return licenses, keys


async def fulfil(cloud: httpx.AsyncClient, document: SignedDocument, ids: list[str]) -> httpx.Response:
    return await cloud.post(FULFIL, json={"request": dump(document), "license_ids": ids})


async def give_back(cloud: httpx.AsyncClient, document: SignedDocument) -> httpx.Response:
    return await cloud.post(RETURN, json={"receipt": dump(document)})


async def cloud_key(cloud: httpx.AsyncClient) -> Any:
    return load_public_key((await cloud.get("/api/v1/public-key")).json()["pem"].encode())


@pytest.fixture
def device(device_auth: DeviceAuth) -> Signer:
    """The controller at HERE: its key signs both its offline files and its device calls."""
    return device_auth.signer(HERE)


# --- fulfil ----------------------------------------------------------------------------------


async def test_fulfil_assigns_and_answers_a_signed_response(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    ids = unmarked(await available(cloud, cloud_app))[:3]
    request = request_doc(device, HERE, cid(cloud_app))
    response = await fulfil(cloud, request, ids)
    assert response.status_code == 200, response.text

    key = await cloud_key(cloud)
    document = SignedDocument.model_validate(response.json())
    answer = OfflineResponse.model_validate(verify_with(key, document))
    assert answer.request_id == request.payload["request_id"]
    assert (answer.install_code, str(answer.customer_id), answer.issued_at) == (HERE, cid(cloud_app), NOW)
    grants = [LicenseGrant.model_validate(verify_with(key, d)) for d in answer.licenses]
    assert [str(g.license_id) for g in grants] == ids
    assert all(g.install_code == HERE and str(g.customer_id) == cid(cloud_app) for g in grants)

    # Assigned exactly as an online activation would: gone from the download list, on the install.
    assert not set(ids) & set(unmarked(await available(cloud, cloud_app)))
    view = (await cloud.get(f"/api/v1/customers/{cid(cloud_app)}/installs/{HERE}/licenses")).json()
    assert [d["payload"]["license_id"] for d in view["documents"]] == ids
    with cloud_app.state.db.read() as tx:
        assert all(tx.license(uuid.UUID(i)).transfer_date == TODAY for i in ids)
        registered = tx.device_key(HERE)
    assert registered is not None and registered.key_id == device.key_id


async def test_refulfil_returns_the_same_bytes(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    first_ids, *others = unmarked(await available(cloud, cloud_app))
    request = request_doc(device, HERE, cid(cloud_app))
    first = await fulfil(cloud, request, [first_ids])
    before = snapshot(cloud_app)
    again = await fulfil(cloud, request, others[:2])
    assert again.status_code == 200 and again.content == first.content
    assert snapshot(cloud_app) == before

    # Another request file that reuses the id is refused, not answered with someone else's licenses.
    impostor = request_doc(
        device, HERE, cid(cloud_app), request_id=request.payload["request_id"], segment_name="B"
    )
    problem(await fulfil(cloud, impostor, others[:1]), 409, "request_id_reused")


@pytest.mark.parametrize(
    "field,value",
    [
        ("request_id", "f" * 32),
        ("install_code", OTHER),
        ("customer_id", str(uuid.uuid4())),
        ("segment_name", "SmartServer-B"),
        ("created_at", (NOW + timedelta(seconds=1)).isoformat()),
        ("device_public_key", Signer.generate().public_pem().decode()),
        ("device_public_key", "not a key"),
        ("type", "smartlic.offline-request.v2"),
        ("extra", "field"),
    ],
)
async def test_tampered_request_is_refused(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer, field: str, value: str
) -> None:
    ids = unmarked(await available(cloud, cloud_app))[:1]
    before = snapshot(cloud_app)
    document = tampered(request_doc(device, HERE, cid(cloud_app)), **{field: value})
    problem(await fulfil(cloud, document, ids), 422, "invalid_request_signature")
    assert snapshot(cloud_app) == before


async def test_forged_signature_or_key_id_is_refused(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    ids = unmarked(await available(cloud, cloud_app))[:1]
    good = request_doc(device, HERE, cid(cloud_app))
    intruder = Signer.generate()
    # Signed by another key while naming the device's public key.
    forged = intruder.sign(good.payload)
    other_key_id = good.model_copy(update={"key_id": intruder.key_id})
    garbage = good.model_copy(update={"signature": "!!!"})
    before = snapshot(cloud_app)
    for document in (forged, other_key_id, garbage):
        problem(await fulfil(cloud, document, ids), 422, "invalid_request_signature")
    assert snapshot(cloud_app) == before


async def test_refusals_change_nothing(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device_auth: DeviceAuth
) -> None:
    items = await available(cloud, cloud_app)
    free = unmarked(items)
    marked = next(str(i.license_id) for i in items if i.earmarked_install_code == HERE)
    with cloud_app.state.db.write() as tx:
        demo = tx.customer(cloud_app.state.demo_customer_id)
        assert demo is not None
        stranger = Customer(customer_id=uuid.uuid4(), partner_id=demo.partner_id, name="Stranger")
        tx.add_customer(stranger)
        foreign = tx.add_license(
            LicenseRecord(
                license_id=uuid.uuid4(),
                partner_id=demo.partner_id,
                customer_id=stranger.customer_id,
                kind=LicenseKind.CAPACITY,
                devices=10,
            )
        )
        expired = tx.add_license(
            LicenseRecord(
                license_id=uuid.uuid4(),
                partner_id=demo.partner_id,
                customer_id=demo.customer_id,
                kind=LicenseKind.MAINTENANCE,
                devices=10,
                term_years=1,
                expires_on=TODAY - timedelta(days=1),
            )
        )
    taken = free[-1]
    online = await cloud.post(
        f"/api/v1/customers/{cid(cloud_app)}/installs/{OTHER}/activate",
        json={"license_ids": [taken]},
        headers={"Idempotency-Key": "online-1"},
    )
    assert ActivationAnswer.model_validate(online.json()).results[0].ok
    before = snapshot(cloud_app)
    good = free[0]

    def req(**over: Any) -> SignedDocument:
        code = over.pop("install_code", HERE)
        # Each controller's own key, the one its online calls are signed with too.
        return request_doc(device_auth.signer(code), code, over.pop("customer", cid(cloud_app)), **over)

    cases = [
        (req(customer=uuid.uuid4()), [good], 404, "customer_not_found"),
        (req(), [good, str(foreign.license_id)], 404, "license_not_found"),
        (req(), [good, str(uuid.uuid4())], 404, "license_not_found"),
        (req(), [good, taken], 409, "license_taken"),
        (req(install_code=OTHER), [marked], 409, "license_earmarked"),
        (req(), [str(expired.license_id), good], 409, "license_expired"),
        (req(install_code="NOT-ONE"), [good], 422, "invalid_install_code"),
    ]
    for document, ids, status, code in cases:
        body = problem(await fulfil(cloud, document, ids), status, code)
        if code.startswith("license_"):
            assert body.model_extra and body.model_extra["license_id"] in ids
        # Nothing assigned, no device key remembered, and the request is not spent.
        assert snapshot(cloud_app) == before
        with cloud_app.state.db.read() as tx:
            assert tx.offline_request(document.payload["request_id"]) is None
    problem(
        await cloud.post(FULFIL, json={"request": dump(req()), "license_ids": []}), 422, "invalid_request"
    )


async def test_earmarked_license_goes_to_its_controller(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    marked = next(str(i.license_id) for i in await available(cloud, cloud_app) if i.earmarked_install_code)
    assert (await fulfil(cloud, request_doc(device, HERE, cid(cloud_app)), [marked])).status_code == 200


# --- return receipts -------------------------------------------------------------------------


async def fulfilled(cloud: httpx.AsyncClient, app: FastAPI, device: Signer, count: int = 2) -> list[str]:
    ids = unmarked(await available(cloud, app))[:count]
    assert (await fulfil(cloud, request_doc(device, HERE, cid(app)), ids)).status_code == 200
    return ids


async def test_return_receipt_credits_back_once(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    ids = await fulfilled(cloud, cloud_app, device)
    receipt = receipt_doc(device, HERE, cid(cloud_app), ids)
    response = await give_back(cloud, receipt)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "receipt_id": receipt.payload["receipt_id"],
        "install_code": HERE,
        "customer_id": cid(cloud_app),
        "credited": ids,
    }
    assert set(ids) <= set(unmarked(await available(cloud, cloud_app)))
    with cloud_app.state.db.read() as tx:
        assert all(tx.license(uuid.UUID(i)).install_code is None for i in ids)

    # Activated again elsewhere; replaying the old receipt answers the same and takes nothing back.
    again = await cloud.post(
        f"/api/v1/customers/{cid(cloud_app)}/installs/{HERE}/activate",
        json={"license_ids": ids},
        headers={"Idempotency-Key": "again-1"},
    )
    assert all(r.ok for r in ActivationAnswer.model_validate(again.json()).results)
    before = snapshot(cloud_app)
    replay = await give_back(cloud, receipt)
    assert replay.status_code == 200 and replay.content == response.content
    assert snapshot(cloud_app) == before
    impostor = receipt_doc(device, HERE, cid(cloud_app), ids[:1], receipt_id=receipt.payload["receipt_id"])
    problem(await give_back(cloud, impostor), 409, "receipt_id_reused")


@pytest.mark.parametrize(
    "field,value",
    [
        ("receipt_id", "e" * 32),
        ("license_ids", "extra"),
        ("customer_id", str(uuid.uuid4())),
        ("created_at", (NOW + timedelta(days=1)).isoformat()),
        ("type", "smartlic.offline-return.v2"),
    ],
)
async def test_tampered_receipt_is_refused(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer, field: str, value: str
) -> None:
    ids = await fulfilled(cloud, cloud_app, device)
    if value == "extra":
        value = [*ids, unmarked(await available(cloud, cloud_app))[0]]  # type: ignore[assignment]
    before = snapshot(cloud_app)
    document = tampered(receipt_doc(device, HERE, cid(cloud_app), ids[:1]), **{field: value})
    problem(await give_back(cloud, document), 422, "invalid_receipt_signature")
    assert snapshot(cloud_app) == before


async def test_receipt_from_another_key_is_refused(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    ids = await fulfilled(cloud, cloud_app, device)
    intruder = Signer.generate()
    before = snapshot(cloud_app)
    # The intruder signs with its own key and says so ...
    problem(
        await give_back(cloud, receipt_doc(intruder, HERE, cid(cloud_app), ids)), 403, "device_key_mismatch"
    )
    # ... or names the registered key while signing with its own.
    named = receipt_doc(device, HERE, cid(cloud_app), ids)
    problem(await give_back(cloud, intruder.sign(named.payload)), 422, "invalid_receipt_signature")
    # ... or moves the receipt to an install code no request was ever fulfilled for.
    problem(
        await give_back(cloud, receipt_doc(device, OTHER, cid(cloud_app), ids)), 403, "unknown_device_key"
    )
    assert snapshot(cloud_app) == before


async def test_receipt_must_name_licenses_active_there(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    ids = await fulfilled(cloud, cloud_app, device)
    idle = unmarked(await available(cloud, cloud_app))[0]
    before = snapshot(cloud_app)
    not_active = await give_back(cloud, receipt_doc(device, HERE, cid(cloud_app), [ids[0], idle]))
    assert problem(not_active, 409, "license_not_active").model_extra == {"license_id": idle}
    unknown = await give_back(cloud, receipt_doc(device, HERE, cid(cloud_app), [ids[0], uuid.uuid4()]))
    problem(unknown, 404, "license_not_found")
    other_customer = await give_back(cloud, receipt_doc(device, HERE, uuid.uuid4(), ids))
    problem(other_customer, 404, "license_not_found")
    assert snapshot(cloud_app) == before


async def test_a_new_device_key_takes_over_only_when_nothing_is_active(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, device: Signer
) -> None:
    ids = await fulfilled(cloud, cloud_app, device, count=1)
    reset = Signer.generate()  # the same controller after a reset makes a new key
    spare = unmarked(await available(cloud, cloud_app))[0]
    before = snapshot(cloud_app)
    problem(
        await fulfil(cloud, request_doc(reset, HERE, cid(cloud_app)), [spare]), 409, "device_key_mismatch"
    )
    assert snapshot(cloud_app) == before

    assert (await give_back(cloud, receipt_doc(device, HERE, cid(cloud_app), ids))).status_code == 200
    assert (await fulfil(cloud, request_doc(reset, HERE, cid(cloud_app)), [spare])).status_code == 200
    with cloud_app.state.db.read() as tx:
        assert tx.device_key(HERE).key_id == reset.key_id
    # The old key can no longer return anything.
    problem(
        await give_back(cloud, receipt_doc(device, HERE, cid(cloud_app), [spare])), 403, "device_key_mismatch"
    )


# --- schema ----------------------------------------------------------------------------------


def test_openapi_documents_the_portal(cloud_app: FastAPI) -> None:
    paths = cloud_app.openapi()["paths"]
    fulfil_ok = paths[FULFIL]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert fulfil_ok == {"$ref": "#/components/schemas/SignedDocument"}
    return_ok = paths[RETURN]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert return_ok == {"$ref": "#/components/schemas/ReturnAnswer"}
    assert "application/problem+json" in paths[FULFIL]["post"]["responses"]["409"]["content"]


def test_version_1_database_migrates(tmp_path: Path) -> None:
    path = tmp_path / "cloud.db"
    conn = sqlite3.connect(path)
    conn.executescript(_MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    db = CloudDB(path)
    try:
        assert db.schema_version() == SCHEMA_VERSION
        with db.read() as tx:
            assert tx.device_key(HERE) is None and tx.offline_request("0" * 32) is None
    finally:
        db.close()
