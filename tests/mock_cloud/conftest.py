"""Fixtures of the portal tests: the cloud app in-process over a fresh seeded folder."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from core.mock_cloud.app import create_app
from tests.support.clock import fixed_clock as fixed
from tests.support.device_signing import DeviceAuth


@pytest.fixture
def cloud_app(tmp_path: Path) -> FastAPI:
    return create_app(tmp_path / "cloud", clock=fixed, rng=random.Random(1))


@pytest.fixture
def device_auth() -> DeviceAuth:
    """The controllers' keys: one per install code, signing the device calls of ``cloud``."""
    return DeviceAuth(fixed)


@pytest.fixture
async def cloud(cloud_app: FastAPI, device_auth: DeviceAuth) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=cloud_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud", auth=device_auth) as client:
        yield client
