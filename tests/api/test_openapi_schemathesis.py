"""schemathesis against the mock cloud's own OpenAPI: no input makes it answer 500.

Device calls are signed by a controller key per install code (tests.device_signing), so the
generated cases reach the endpoints themselves, not only the signature check; cases whose
generated headers already carry a Signature exercise the refusals.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from core.mock_cloud.app import create_app
from tests.support.clock import fixed_clock
from tests.support.device_signing import DeviceAuth

# One app for the whole module: schemathesis reads the schema when the module is collected.
_DATA = Path(tempfile.mkdtemp(prefix="smartlic-schemathesis-"))
APP = create_app(_DATA / "cloud", clock=fixed_clock, rng=random.Random(5))
# Served without admin routes (they inject faults, 503s on purpose): the schema has none.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
KEYS = DeviceAuth(fixed_clock)


def signed(prepared: requests.PreparedRequest) -> requests.PreparedRequest:
    """A requests auth hook (schemathesis sends with requests): DeviceAuth's signature, if due."""
    body = prepared.body or b""
    assert isinstance(body, bytes | str), "schemathesis sends whole bodies, never streams"
    request = httpx.Request(
        prepared.method or "GET",
        prepared.url or "",
        headers={
            name: value if isinstance(value, str) else value.decode()
            for name, value in prepared.headers.items()
        },
        content=body.encode() if isinstance(body, str) else body,
    )
    for signed_request in KEYS.auth_flow(request):
        prepared.headers.update(signed_request.headers)
    return prepared


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call(auth=signed)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    if response.status_code >= 400:
        raw_type = response.headers["content-type"]
        content_type = raw_type[0] if isinstance(raw_type, list) else raw_type
        assert content_type.startswith("application/problem+json")
        assert "code" in response.json()
    if case.path.startswith(DEVICE_PATHS) and response.status_code != 401:
        SIGNED_THROUGH.add(case.operation.label)


SIGNED_THROUGH: set[str] = set()
DEVICE_PATHS = ("/api/v1/customers/", "/api/v1/devices/")


def test_device_endpoints_were_reached_past_the_signature_check() -> None:
    """The run above must not have stopped at 401 for every device call (it runs first)."""
    device_operations = {op.label for op in _operations() if op.path.startswith(DEVICE_PATHS)}
    # listing, activate, transfer, install view; audit head GET, PUT; cancel an offline return
    assert len(device_operations) == 7
    assert device_operations <= SIGNED_THROUGH, device_operations - SIGNED_THROUGH


def _operations() -> list[APIOperation]:
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    return operations
