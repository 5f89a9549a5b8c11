"""Devices with many rows: the first screenful paints first, the rest follows in pages."""

from __future__ import annotations

from core.models import Device, DeviceState, Protocol
from core.service import LicenseService
from tests.support.tui import static_text
from tui.app import SmartlicApp
from tui.screens import devices as devices_module
from tui.screens.devices import DevicesScreen
from tui.widgets.vtable import VirtualTable

SEGMENT = "SmartServer-A"


def add_devices(service: LicenseService, count: int) -> None:
    install_code = service.segment(SEGMENT).install_code
    with service.context.store.write() as tx:
        tx.put_devices(
            Device(
                device_id=f"A-MANY-{i:04d}",
                install_code=install_code,
                protocol=Protocol.LON,
                name=f"Many {i}",
                seq=1000 + i,
                state=DeviceState.UNLICENSED,
            )
            for i in range(count)
        )


async def test_rows_arrive_in_pages_after_the_first_screenful(app: SmartlicApp, monkeypatch) -> None:
    monkeypatch.setattr(devices_module, "FIRST_PAGE", 20)
    monkeypatch.setattr(devices_module, "CHUNK", 30)
    add_devices(app.service, 100)
    total = len(app.service.devices(SEGMENT))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = DevicesScreen(app.service.segment(SEGMENT).install_code)
        app.push_screen(screen)
        await pilot.pause()
        table = screen.query_one(VirtualTable)
        for _ in range(50):
            if not screen.streaming:
                break
            await pilot.pause(0.01)
        assert not screen.streaming
        assert table.row_count == total == len(screen.devices)
        assert table.keys() == [d.device_id for d in app.service.devices(SEGMENT)]
        # The counts by state come right after the first paint, with the first page.
        assert f"{total} unlicensed" in static_text(pilot, "#counts")
        await pilot.press("a")
        assert len(screen.selection) == total
        assert f"{total} of {total} selected" in static_text(pilot, "#count")


async def test_refresh_keeps_the_cursor_row_and_reads_once(app: SmartlicApp, monkeypatch) -> None:
    add_devices(app.service, 300)
    reads: list[dict] = []
    real = app.service.device_rows

    def counting(*args, **kwargs):
        reads.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(app.service, "device_rows", counting)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = DevicesScreen(app.service.segment(SEGMENT).install_code)
        app.push_screen(screen)
        while screen.streaming or not screen.devices:
            await pilot.pause(0.01)
        # One first page and one page for the rest: the push's resume does not read again.
        assert [r.get("limit") for r in reads] == [devices_module.FIRST_PAGE, devices_module.CHUNK]
        table = screen.query_one(VirtualTable)
        table.focus()
        await pilot.press("end")
        key = table.cursor_key
        await pilot.press("r")
        await pilot.pause()
        assert table.cursor_key == key
        assert reads[-1] == {}


async def test_a_loaded_list_freezes_the_heap_until_the_screen_goes(app: SmartlicApp) -> None:
    import gc

    async with app.run_test(size=(100, 30)) as pilot:
        screen = DevicesScreen(app.service.segment(SEGMENT).install_code)
        app.push_screen(screen)
        while screen.streaming or not screen.devices:
            await pilot.pause(0.01)
        assert gc.get_freeze_count() > 0
        await pilot.press("b")
        await pilot.pause()
        assert gc.get_freeze_count() == 0
