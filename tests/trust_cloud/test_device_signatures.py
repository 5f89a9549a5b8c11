"""Device calls are signed by the controller's key; a Customer ID and install code alone move nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from core.models import ActivationAnswer, Problem
from core.request_signature import DEVICE_KEY_HEADER
from core.signing import Signer
from tests.support.device_signing import DeviceAuth, sign
from tests.trust_cloud.cloud_helpers import HERE, OTHER, Clock, bindings

AUTH = {"Authorization": "Bearer demo-partner-token"}


def problem(response: httpx.Response, status: int, code: str) -> Problem:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = Problem.model_validate(response.json())
    assert (body.status, body.code) == (status, code) and body.detail
    return body


def batch_path(app: FastAPI, install_code: str, verb: str) -> str:
    return f"/api/v1/customers/{app.state.demo_customer_id}/installs/{install_code}/{verb}"


async def free_license(device: httpx.AsyncClient, app: FastAPI) -> str:
    page = await device.get(
        f"/api/v1/customers/{app.state.demo_customer_id}/licenses", params={"install_code": HERE}
    )
    assert page.status_code == 200, page.text
    return next(i["license_id"] for i in page.json()["items"] if i["earmarked_install_code"] is None)


async def activate(
    client: httpx.AsyncClient, app: FastAPI, code: str, ids: list[str], key: str
) -> httpx.Response:
    return await client.post(
        batch_path(app, code, "activate"), json={"license_ids": ids}, headers={"Idempotency-Key": key}
    )


async def signed_by(
    client: httpx.AsyncClient, signer: Signer, clock: Clock, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    request = client.build_request(method, url, **kwargs)
    sign(request, signer, HERE, clock())
    return await client.send(request)


async def test_customer_id_and_install_code_alone_move_nothing(
    device: httpx.AsyncClient, curl: httpx.AsyncClient, app: FastAPI
) -> None:
    license_id = await free_license(device, app)
    # Unsigned, as with curl and the two values from a support bundle:
    problem(await activate(curl, app, OTHER, [license_id], "steal-1"), 401, "signature_required")
    assert bindings(app)[license_id] is None
    # The genuine controller activates; curl cannot give it back to the cloud (to take it elsewhere).
    assert (
        ActivationAnswer.model_validate((await activate(device, app, HERE, [license_id], "a-1")).json())
        .results[0]
        .ok
    )
    back = await curl.post(
        batch_path(app, HERE, "transfer"),
        json={"license_ids": [license_id]},
        headers={"Idempotency-Key": "t-1"},
    )
    problem(back, 401, "signature_required")
    problem(await curl.get(batch_path(app, HERE, "licenses")), 401, "signature_required")
    assert bindings(app)[license_id] == HERE


async def test_another_key_for_a_known_install_code_is_refused(
    device: httpx.AsyncClient, app: FastAPI, clock: Clock
) -> None:
    license_id = await free_license(device, app)
    assert (await activate(device, app, HERE, [license_id], "a-1")).status_code == 200  # binds HERE's key
    intruder = Signer.generate()
    body = {"license_ids": [license_id]}
    answer = await signed_by(
        device,
        intruder,
        clock,
        "POST",
        batch_path(app, HERE, "transfer"),
        json=body,
        headers={"Idempotency-Key": "x"},
    )
    problem(answer, 401, "device_key_mismatch")
    # Without offering its key, the intruder's signature is checked against the bound key, and fails.
    request = device.build_request(
        "POST", batch_path(app, HERE, "transfer"), json=body, headers={"Idempotency-Key": "y"}
    )
    sign(request, intruder, HERE, clock())
    del request.headers[DEVICE_KEY_HEADER]
    problem(await device.send(request), 401, "invalid_signature")
    assert bindings(app)[license_id] == HERE


async def test_tampered_stale_or_misdirected_signatures_are_refused(
    device: httpx.AsyncClient, app: FastAPI, keys: DeviceAuth, clock: Clock
) -> None:
    license_id = await free_license(device, app)
    path = batch_path(app, HERE, "activate")
    request = device.build_request(
        "POST", path, json={"license_ids": [license_id]}, headers={"Idempotency-Key": "1"}
    )
    sign(request, keys.signer(HERE), HERE, clock())
    tampered = device.build_request(
        "POST", path, content=b'{"license_ids": []}', headers={**request.headers, "Content-Length": "19"}
    )
    problem(await device.send(tampered), 401, "content_digest_mismatch")

    stale = device.build_request(
        "POST", path, json={"license_ids": [license_id]}, headers={"Idempotency-Key": "2"}
    )
    sign(stale, keys.signer(HERE), HERE, clock() - timedelta(minutes=5, seconds=1))
    problem(await device.send(stale), 401, "stale_signature")

    # Signed as HERE, sent for OTHER's install code.
    elsewhere = device.build_request(
        "POST",
        batch_path(app, OTHER, "activate"),
        json={"license_ids": [license_id]},
        headers={"Idempotency-Key": "3"},
    )
    sign(elsewhere, keys.signer(HERE), HERE, clock())
    problem(await device.send(elsewhere), 401, "signature_keyid_mismatch")

    garbled = device.build_request("GET", batch_path(app, HERE, "licenses"))
    sign(garbled, keys.signer(HERE), HERE, clock())
    garbled.headers["Signature-Input"] = garbled.headers["Signature-Input"].replace('"@query" ', "")
    problem(await device.send(garbled), 401, "invalid_signature")
    assert bindings(app)[license_id] is None


async def test_a_partner_earmark_can_bind_the_controllers_key(
    device: httpx.AsyncClient, app: FastAPI, keys: DeviceAuth, clock: Clock
) -> None:
    license_id = await free_license(device, app)
    genuine = keys.signer(OTHER)
    earmark = await device.post(
        f"/api/v1/partner/licenses/{license_id}/earmark",
        json={"install_code": OTHER, "device_public_key": genuine.public_pem().decode()},
        headers=AUTH,
    )
    assert earmark.status_code == 200, earmark.text
    # Bound before the controller's first call: a first caller with another key cannot take it.
    first = device.build_request(
        "POST",
        batch_path(app, OTHER, "activate"),
        json={"license_ids": [license_id]},
        headers={"Idempotency-Key": "1"},
    )
    sign(first, Signer.generate(), OTHER, clock())
    problem(await device.send(first), 401, "device_key_mismatch")
    answer = await activate(device, app, OTHER, [license_id], "2")
    assert ActivationAnswer.model_validate(answer.json()).results[0].ok
    # Another key for the same install code cannot be earmarked in afterwards.
    again = await device.post(
        f"/api/v1/partner/licenses/{license_id}/earmark",
        json={"install_code": OTHER, "device_public_key": Signer.generate().public_pem().decode()},
        headers=AUTH,
    )
    problem(again, 409, "device_key_mismatch")
