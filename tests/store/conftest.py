"""Fixtures for the store tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.store import Store
from tests.store.store_helpers import open_store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "smartlic.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = open_store(db_path)
    yield opened
    opened.close()
