"""A store smartlic cannot trust opens read-only: reads work, changes are refused, status says so."""

from __future__ import annotations

import sqlite3

import pytest

from core.errors import StoreUnavailable
from tests.support.services import make_service

A = "SmartServer-A"


async def test_store_from_a_newer_smartlic_is_read_only(tmp_path) -> None:
    first = make_service(tmp_path)
    names = [s.name for s in first.segments()]
    await first.aclose()
    db = sqlite3.connect(tmp_path / "smartlic.db")
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = (tmp_path / "smartlic.db").read_bytes()

    service = make_service(tmp_path)
    try:
        assert service.read_only
        assert [s.name for s in service.segments()] == names
        report = service.status()
        assert report.warnings[0].kind == "store"
        assert "newer" in report.warnings[0].text and "Upgrade smartlic" in report.warnings[0].text
        with pytest.raises(StoreUnavailable):
            service.set_customer_id(A, "2133c667-af41-4518-94df-a2bb3b775330")
    finally:
        await service.aclose()
    assert (tmp_path / "smartlic.db").read_bytes() == before
