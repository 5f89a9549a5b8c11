"""schemathesis against the mock cloud's own OpenAPI: no input makes it answer 500."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from core.mock_cloud.app import create_app
from tests.support.clock import fixed_clock

# One app for the whole module: schemathesis reads the schema when the module is collected.
_DATA = Path(tempfile.mkdtemp(prefix="smartlic-schemathesis-"))
APP = create_app(_DATA / "cloud", clock=fixed_clock, rng=random.Random(5))
# The admin routes inject faults (503s on purpose), so they are left out.
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path_regex="^/api/v1/admin/")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    if response.status_code >= 400:
        content_type = response.headers["content-type"]
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json")
        assert "code" in response.json()
