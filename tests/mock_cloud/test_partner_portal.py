"""The Partner Portal API: accounts, inventory, hand-over, earmarks, tokens and isolation."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from core.mock_cloud.db import Customer, LicenseRecord, Partner
from core.models import ActivationAnswer, CloudLicensePage, LicenseKind
from tests.mock_cloud.offline import AUTH, HERE, OTHER, TODAY, problem

P = "/api/v1/partner"
OTHER_TOKEN = "other-partner-token"
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_TOKEN}"}


async def create_customer(cloud: httpx.AsyncClient, name: str, headers: dict[str, str] = AUTH) -> str:
    response = await cloud.post(f"{P}/customers", json={"name": name}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == name
    return str(uuid.UUID(body["customer_id"]))


async def add_licenses(
    cloud: httpx.AsyncClient, headers: dict[str, str] = AUTH, **body: Any
) -> list[dict[str, Any]]:
    response = await cloud.post(f"{P}/licenses", json=body, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def inventory(cloud: httpx.AsyncClient, headers: dict[str, str] = AUTH) -> list[dict[str, Any]]:
    response = await cloud.get(f"{P}/inventory", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def customer_licenses(cloud: httpx.AsyncClient, customer_id: str) -> list[dict[str, Any]]:
    response = await cloud.get(f"{P}/customers/{customer_id}/licenses", headers=AUTH)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def hand(cloud: httpx.AsyncClient, customer_id: str, ids: list[str], headers: dict[str, str] = AUTH):
    return await cloud.post(
        f"{P}/customers/{customer_id}/licenses", json={"license_ids": ids}, headers=headers
    )


def add_other_partner(app: FastAPI) -> tuple[str, str]:
    """A second partner with one customer and one license of its own: (customer_id, license_id)."""
    with app.state.db.write() as tx:
        partner = Partner(partner_id=uuid.uuid4(), name="Other Partner", token=OTHER_TOKEN)
        tx.add_partner(partner)
        customer = Customer(customer_id=uuid.uuid4(), partner_id=partner.partner_id, name="Their Customer")
        tx.add_customer(customer)
        record = tx.add_license(
            LicenseRecord(
                license_id=uuid.uuid4(), partner_id=partner.partner_id, kind=LicenseKind.CAPACITY, devices=50
            )
        )
    return str(customer.customer_id), str(record.license_id)


# --- the flow --------------------------------------------------------------------------------


async def test_create_add_hand_over_and_the_customer_sees_them(cloud: httpx.AsyncClient) -> None:
    customer = await create_customer(cloud, "Plant 7")
    listed = (await cloud.get(f"{P}/customers", headers=AUTH)).json()["items"]
    assert {"customer_id": customer, "name": "Plant 7"} in listed
    assert [c["name"] for c in listed] == sorted(c["name"] for c in listed)

    capacity = await add_licenses(cloud, kind="capacity", devices=100, count=2)
    maintenance = await add_licenses(cloud, kind="maintenance", devices=200, term_years=3)
    assert [(i["kind"], i["devices"], i["expires_on"]) for i in capacity] == [("capacity", 100, None)] * 2
    assert maintenance[0]["expires_on"] == date(TODAY.year + 3, TODAY.month, TODAY.day).isoformat()
    assert maintenance[0]["description"].startswith("200-device maintenance, 3-year")
    new_ids = [i["license_id"] for i in capacity + maintenance]
    assert len(set(new_ids)) == 3
    mine = await inventory(cloud)
    assert set(new_ids) <= {i["license_id"] for i in mine}
    assert all(i["customer_id"] is None for i in mine)

    response = await hand(cloud, customer, new_ids)
    assert response.status_code == 200, response.text
    assert all(i["customer_id"] == customer for i in response.json()["items"])
    assert not set(new_ids) & {i["license_id"] for i in await inventory(cloud)}

    theirs = await customer_licenses(cloud, customer)
    assert [i["license_id"] for i in theirs] == new_ids
    assert all(i["transfer_date"] == TODAY.isoformat() and i["install_code"] is None for i in theirs)

    # The device API of that Customer ID now offers them for download ...
    page = CloudLicensePage.model_validate((await cloud.get(f"/api/v1/customers/{customer}/licenses")).json())
    assert [str(i.license_id) for i in page.items] == new_ids
    # ... and once activated, the Customer Inventory says where.
    activated = await cloud.post(
        f"/api/v1/customers/{customer}/installs/{OTHER}/activate",
        json={"license_ids": new_ids[:1]},
        headers={"Idempotency-Key": "act-1"},
    )
    assert ActivationAnswer.model_validate(activated.json()).results[0].ok
    where = {i["license_id"]: i["install_code"] for i in await customer_licenses(cloud, customer)}
    assert where == {new_ids[0]: OTHER, new_ids[1]: None, new_ids[2]: None}


async def test_hand_over_is_all_or_nothing(cloud: httpx.AsyncClient) -> None:
    first = await create_customer(cloud, "First")
    second = await create_customer(cloud, "Second")
    a, b = (i["license_id"] for i in await add_licenses(cloud, kind="capacity", devices=10, count=2))
    assert (await hand(cloud, first, [a])).status_code == 200

    problem(await hand(cloud, second, [b, a]), 409, "license_not_in_inventory")
    problem(await hand(cloud, second, [b, str(uuid.uuid4())]), 404, "license_not_found")
    problem(await hand(cloud, str(uuid.uuid4()), [b]), 404, "customer_not_found")
    assert await customer_licenses(cloud, second) == []
    assert b in {i["license_id"] for i in await inventory(cloud)}

    # Handing again what the customer already has is harmless.
    again = await hand(cloud, first, [a, a])
    assert [i["license_id"] for i in again.json()["items"]] == [a]


async def test_earmark_reserves_for_one_install_code(cloud: httpx.AsyncClient) -> None:
    customer = await create_customer(cloud, "Earmarks")
    (lic,) = (i["license_id"] for i in await add_licenses(cloud, kind="capacity", devices=30))
    await hand(cloud, customer, [lic])

    marked = await cloud.post(f"{P}/licenses/{lic}/earmark", json={"install_code": HERE}, headers=AUTH)
    assert marked.status_code == 200 and marked.json()["earmarked_install_code"] == HERE
    there = (await cloud.get(f"/api/v1/customers/{customer}/licenses", params={"install_code": OTHER})).json()
    assert there["items"] == []
    refused = await cloud.post(
        f"/api/v1/customers/{customer}/installs/{OTHER}/activate",
        json={"license_ids": [lic]},
        headers={"Idempotency-Key": "e-1"},
    )
    assert ActivationAnswer.model_validate(refused.json()).results[0].code == "license_earmarked"

    cleared = await cloud.post(f"{P}/licenses/{lic}/earmark", json={"install_code": None}, headers=AUTH)
    assert cleared.json()["earmarked_install_code"] is None
    ok = await cloud.post(
        f"/api/v1/customers/{customer}/installs/{OTHER}/activate",
        json={"license_ids": [lic]},
        headers={"Idempotency-Key": "e-2"},
    )
    assert ActivationAnswer.model_validate(ok.json()).results[0].ok
    # Active on OTHER now: it cannot be reserved for a different controller.
    taken = await cloud.post(f"{P}/licenses/{lic}/earmark", json={"install_code": HERE}, headers=AUTH)
    problem(taken, 409, "license_taken")
    bad = await cloud.post(f"{P}/licenses/{lic}/earmark", json={"install_code": "NOPE"}, headers=AUTH)
    problem(bad, 422, "invalid_install_code")


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "capacity", "devices": 10, "term_years": 1},
        {"kind": "maintenance", "devices": 10},
        {"kind": "maintenance", "devices": 10, "term_years": 2},
        {"kind": "capacity", "devices": 0},
        {"kind": "capacity", "devices": 10, "count": 0},
        {"kind": "capacity", "devices": 10, "count": 1001},
        {"kind": "gold", "devices": 10},
        {"kind": "capacity", "devices": 10, "surprise": 1},
    ],
)
async def test_add_licenses_refuses_bad_bodies(cloud: httpx.AsyncClient, body: dict[str, Any]) -> None:
    before = await inventory(cloud)
    problem(await cloud.post(f"{P}/licenses", json=body, headers=AUTH), 422, "invalid_request")
    assert await inventory(cloud) == before


async def test_add_a_thousand_at_once(cloud: httpx.AsyncClient) -> None:
    items = await add_licenses(cloud, kind="maintenance", devices=5, term_years=1, count=1000)
    assert len({i["license_id"] for i in items}) == 1000


async def test_customer_names(cloud: httpx.AsyncClient) -> None:
    made = await cloud.post(f"{P}/customers", json={"name": "  Harbour   Office "}, headers=AUTH)
    assert made.json()["name"] == "Harbour Office"
    again = await cloud.post(f"{P}/customers", json={"name": "harbour office"}, headers=AUTH)
    problem(again, 409, "customer_exists")
    problem(await cloud.post(f"{P}/customers", json={"name": "   "}, headers=AUTH), 422, "invalid_request")
    problem(await cloud.post(f"{P}/customers", json={}, headers=AUTH), 422, "invalid_request")


async def test_idempotency_key_replays_per_partner(cloud: httpx.AsyncClient, cloud_app: FastAPI) -> None:
    add_other_partner(cloud_app)
    key = {"Idempotency-Key": "new-customer-1"}
    first = await cloud.post(f"{P}/customers", json={"name": "Once"}, headers={**AUTH, **key})
    again = await cloud.post(f"{P}/customers", json={"name": "Once"}, headers={**AUTH, **key})
    assert first.status_code == 200 and again.content == first.content
    other = await cloud.post(f"{P}/customers", json={"name": "Once"}, headers={**OTHER_AUTH, **key})
    assert other.status_code == 200 and other.json()["customer_id"] != first.json()["customer_id"]
    reused = await cloud.post(f"{P}/customers", json={"name": "Twice"}, headers={**AUTH, **key})
    problem(reused, 422, "idempotency_key_reused")


# --- tokens and isolation --------------------------------------------------------------------

ROUTES = [
    ("GET", "/customers", None),
    ("POST", "/customers", {"name": "X"}),
    ("GET", "/inventory", None),
    ("GET", "/customers/{c}/licenses", None),
    ("POST", "/licenses", {"kind": "capacity", "devices": 1}),
    ("POST", "/customers/{c}/licenses", {"license_ids": ["{l}"]}),
    ("POST", "/licenses/{l}/earmark", {"install_code": None}),
]


@pytest.mark.parametrize("method,path,body", ROUTES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic ZGVtbzp4"}, {"Authorization": "Bearer"}],
)
async def test_wrong_or_missing_token_is_401(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
) -> None:
    customer = str(cloud_app.state.demo_customer_id)
    license_id = (await inventory(cloud))[0]["license_id"]
    before = (await inventory(cloud), await customer_licenses(cloud, customer))
    url = P + path.format(c=customer, l=license_id)
    json_body = None if body is None else {k: v if v != ["{l}"] else [license_id] for k, v in body.items()}
    response = await cloud.request(method, url, json=json_body, headers=headers)
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await inventory(cloud), await customer_licenses(cloud, customer)) == before


async def test_partners_cannot_see_or_touch_each_other(cloud: httpx.AsyncClient, cloud_app: FastAPI) -> None:
    their_customer, their_license = add_other_partner(cloud_app)
    demo_customer = str(cloud_app.state.demo_customer_id)
    my_license = (await inventory(cloud))[0]["license_id"]
    before = (await inventory(cloud), await customer_licenses(cloud, demo_customer))

    # The other partner sees only its own.
    listed = (await cloud.get(f"{P}/customers", headers=OTHER_AUTH)).json()["items"]
    assert [c["customer_id"] for c in listed] == [their_customer]
    assert [i["license_id"] for i in await inventory(cloud, OTHER_AUTH)] == [their_license]

    # Mine are as good as nonexistent to it, and the answers do not tell them apart.
    get = await cloud.get(f"{P}/customers/{demo_customer}/licenses", headers=OTHER_AUTH)
    problem(get, 404, "customer_not_found")
    problem(await hand(cloud, demo_customer, [their_license], OTHER_AUTH), 404, "customer_not_found")
    problem(await hand(cloud, their_customer, [my_license], OTHER_AUTH), 404, "license_not_found")
    mark = await cloud.post(
        f"{P}/licenses/{my_license}/earmark", json={"install_code": HERE}, headers=OTHER_AUTH
    )
    problem(mark, 404, "license_not_found")
    unknown_id = str(uuid.uuid4())
    unknown = await cloud.post(
        f"{P}/licenses/{unknown_id}/earmark", json={"install_code": HERE}, headers=OTHER_AUTH
    )
    assert problem(unknown, 404, "license_not_found").detail == mark.json()["detail"].replace(
        my_license, unknown_id
    )
    # And the same the other way round.
    problem(await hand(cloud, their_customer, [my_license]), 404, "customer_not_found")
    problem(await hand(cloud, demo_customer, [their_license]), 404, "license_not_found")
    assert (await inventory(cloud), await customer_licenses(cloud, demo_customer)) == before


def test_openapi_documents_the_partner_routes(cloud_app: FastAPI) -> None:
    spec = cloud_app.openapi()
    paths = spec["paths"]
    ok = paths[f"{P}/customers"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/CustomerAccount"}
    listing = paths[f"{P}/inventory"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LicenseList"
    }
    assert "401" in listing
    earmark = paths[f"{P}/licenses/{{license_id}}/earmark"]["post"]
    assert earmark["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PartnerLicense"
    )
    assert {"install_code", "customer_id"} <= set(
        spec["components"]["schemas"]["PartnerLicense"]["properties"]
    )
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
