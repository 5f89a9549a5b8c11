"""The screenshot scenarios: every screen and dialog, from the deterministic demo setup.

    python -m tests.support.scenarios DIR [--size 120x40]     (what `make screenshots` runs)

At a size other than 120x40 the files are named NAME-WIDTHxHEIGHT.svg (e.g. manage-licenses-80x24.svg).

Each scenario is an async ``run_before(pilot)`` step: the snapshot tests (tests/tui) reuse them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from core.models import LicenseKind
from tests.support.tui import make_app, no_cursor_blink, settle

Scenario = Callable[[Pilot], Awaitable[None]]


def _refresh(pilot: Pilot) -> None:
    refresh = getattr(pilot.app.screen, "refresh_data", None)
    if refresh:
        refresh()


async def demo_licenses(pilot: Pilot) -> None:
    """A: 25-device capacity and an expiring 25-device maintenance, with a note; B: 100 capacity."""
    service = pilot.app.service  # type: ignore[attr-defined]
    demo = str((await service.demo_info()).customer_id)
    service.set_customer_id("SmartServer-A", demo)
    service.set_customer_id("SmartServer-B", demo)
    offer = await service.cloud_licenses("SmartServer-A")
    cap25 = next(c for c in offer.licenses if c.kind is LicenseKind.CAPACITY and c.devices == 25)
    maint25 = next(c for c in offer.licenses if c.kind is LicenseKind.MAINTENANCE and c.devices == 25)
    cap100 = next(c for c in offer.licenses if c.kind is LicenseKind.CAPACITY and c.devices == 100)
    await service.activate("SmartServer-A", [cap25.license_id, maint25.license_id])
    await service.activate("SmartServer-B", [cap100.license_id])
    service.set_note(cap25.license_id, "Plant room [2], rack B")
    _refresh(pilot)
    await pilot.pause()


async def home_empty(pilot: Pilot) -> None:
    await settle(pilot)


async def home_licenses(pilot: Pilot) -> None:
    await demo_licenses(pilot)


async def accounts_pending(pilot: Pilot) -> None:
    demo = str((await pilot.app.service.demo_info()).customer_id)  # type: ignore[attr-defined]
    await pilot.press("c")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*demo[:8])
    await pilot.pause()
    pilot.app.screen.query_one("Input").value = demo  # type: ignore[attr-defined]
    await pilot.press("enter")
    await pilot.pause()


async def customer_id_editor(pilot: Pilot) -> None:
    await pilot.press("c")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*"2133c667-af41-4518-94df-a2bb3b7753")
    await pilot.pause()


async def keys(pilot: Pilot, *steps: str | tuple[str, ...]) -> None:
    """Press each step's keys, letting the screen update after each step."""
    for step in steps:
        await pilot.press(*((step,) if isinstance(step, str) else step))
        await pilot.pause()


async def unsaved_changes(pilot: Pilot) -> None:
    """BACK with a Customer ID typed but not saved: the dialog asks (s saves, x discards)."""
    await accounts_pending(pilot)
    await keys(pilot, "b")


async def changed_meanwhile(pilot: Pilot) -> None:
    """Save Changes after the stored Customer ID changed since the edit began (another session)."""
    await accounts_pending(pilot)
    other_session = "0f5e2d1c-aaaa-4bbb-8ccc-123456789abc"
    pilot.app.service.set_customer_id("SmartServer-A", other_session)  # type: ignore[attr-defined]
    await keys(pilot, "s")


async def edit_note(pilot: Pilot) -> None:
    """The Note typed in its own cell on Manage Licenses."""
    await demo_licenses(pilot)
    await keys(pilot, "e", ("end", *" · row 3"))


async def download_selection(pilot: Pilot) -> None:
    service = pilot.app.service  # type: ignore[attr-defined]
    service.set_customer_id("SmartServer-A", str((await service.demo_info()).customer_id))
    await pilot.press("d")
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("space", "down", "down", "space", "down")
    await pilot.pause()


async def transfer_modal(pilot: Pilot) -> None:
    await demo_licenses(pilot)
    await pilot.press("t")
    await pilot.pause()
    await pilot.press("enter")  # the segment picker: SmartServer-A
    await pilot.pause()


async def devices(pilot: Pilot) -> None:
    await demo_licenses(pilot)
    await pilot.press("v")
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press("space", "down", "space", "p", "down", "down", "space")
    await pilot.pause()


async def add_license(pilot: Pilot) -> None:
    await demo_licenses(pilot)
    await pilot.press("l")
    await pilot.pause()


async def offline_return(pilot: Pilot) -> None:
    """The confirmation, after the receipt path (the default, under ~, is not written)."""
    await demo_licenses(pilot)
    await pilot.press("x")
    await pilot.pause()
    await pilot.press("enter")  # the segment picker: SmartServer-A
    await pilot.pause()
    field = pilot.app.screen.query_one("Input")
    field.value = "~/smartlic-receipt-example.json"  # type: ignore[attr-defined]
    await pilot.press("enter")
    await pilot.pause()


async def warnings(pilot: Pilot) -> None:
    await demo_licenses(pilot)
    await pilot.press("w")
    await pilot.pause()


async def help_screen(pilot: Pilot) -> None:
    await pilot.press("question_mark")
    await pilot.pause()


SCENARIOS: dict[str, Scenario] = {
    "manage-licenses-empty": home_empty,
    "manage-licenses": home_licenses,
    "add-license": add_license,
    "offline-return": offline_return,
    "warnings": warnings,
    "customer-accounts-pending": accounts_pending,
    "customer-id-editor": customer_id_editor,
    "unsaved-changes": unsaved_changes,
    "changed-meanwhile": changed_meanwhile,
    "edit-note": edit_note,
    "download-selection": download_selection,
    "transfer-to-cloud": transfer_modal,
    "devices": devices,
    "help": help_screen,
}


DEFAULT_SIZE = (120, 40)


async def _shoot(name: str, scenario: Scenario, out: Path, size: tuple[int, int]) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp) / "data")
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            suffix = "" if size == DEFAULT_SIZE else f"-{size[0]}x{size[1]}"
            path = out / f"{name}{suffix}.svg"
            app.save_screenshot(filename=path.name, path=str(out))
        await app.service.aclose()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.scenarios", description=__doc__.split("\n")[0]
    )
    parser.add_argument("dir", type=Path, help="where to write the SVG files")
    parser.add_argument("--size", default="120x40", help="terminal size, WIDTHxHEIGHT (default 120x40)")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    args.dir.mkdir(parents=True, exist_ok=True)
    with no_cursor_blink():
        for name, scenario in SCENARIOS.items():
            path = asyncio.run(_shoot(name, scenario, args.dir, (width, height)))
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
