"""A read-only store is announced on Manage Licenses, and changes are refused with the reason."""

from __future__ import annotations

import sqlite3

from tests.support.tui import SIZE, make_app, make_tui_service, settle, static_text, toasts


async def test_read_only_store_banner_and_refusal(tmp_path) -> None:
    data = tmp_path / "data"
    first = make_tui_service(data)
    await first.aclose()
    db = sqlite3.connect(data / "smartlic.db")
    db.execute("PRAGMA user_version = 99")
    db.close()

    app = make_app(data)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            banner = static_text(pilot, "#banner")
            assert "newer" in banner and "✖" in banner
            await pilot.press("c")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press(*"2133c667-af41-4518-94df-a2bb3b775330", "enter")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            assert "read-only" in toasts(pilot)
            assert app.service.segments()[0].customer_id is None
    finally:
        await app.service.aclose()
