"""Fixtures of the trust-boundary tests: the mock cloud in-process, curl-like raw clients."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from core.mock_cloud.app import create_app
from tests.support.device_signing import DeviceAuth
from tests.trust_cloud.cloud_helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> FastAPI:
    return create_app(tmp_path / "cloud", clock=clock, rng=random.Random(11))


@pytest.fixture
def keys(clock: Clock) -> DeviceAuth:
    """The genuine controllers: one key per install code."""
    return DeviceAuth(clock)


@pytest.fixture
async def device(app: FastAPI, keys: DeviceAuth) -> AsyncIterator[httpx.AsyncClient]:
    """Calls as the genuine controllers make them (signed)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cloud", auth=keys
    ) as c:
        yield c


@pytest.fixture
async def curl(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Plain calls, as with curl: whatever headers the test sets, nothing signed."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloud") as c:
        yield c
