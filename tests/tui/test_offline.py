"""Offline activation from the TUI: Add License, the request file, Offline Return, the warnings banner."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID, uuid4

from textual.widgets import Input

from core.models import DeviceState, LicenseGrant, LicenseKind, OfflineResponse
from core.service import LicenseService
from core.signing import Signer
from tests.support.clock import FIXED_NOW as NOW
from tests.support.tui import settle, static_text, toasts, wait_for
from tui.app import SmartlicApp
from tui.screens.manage_licenses import ManageLicensesScreen
from tui.screens.transfer import OfflineReturnModal
from tui.widgets.message import MessageModal
from tui.widgets.path import PathModal, complete_path

SIZE = (80, 24)
A = "SmartServer-A"


def signed_response(service: LicenseService, request_path: Path, out: Path, devices: list[int]) -> Path:
    """The License Customer Portal's answer to a request file, signed with the embedded cloud key."""
    signer = Signer.load_or_create(service.context.trust.folder.parent / "cloud" / "cloud_key.pem")
    request = json.loads(request_path.read_text())["payload"]
    docs = [
        signer.sign(
            LicenseGrant(
                license_id=uuid4(),
                kind=LicenseKind.CAPACITY,
                devices=n,
                customer_id=UUID(request["customer_id"]),
                install_code=request["install_code"],
                issued_at=NOW,
            ).model_dump(mode="json")
        )
        for n in devices
    ]
    payload = OfflineResponse(
        request_id=request["request_id"],
        install_code=request["install_code"],
        customer_id=UUID(request["customer_id"]),
        issued_at=NOW,
        licenses=docs,
    ).model_dump(mode="json")
    out.write_text(json.dumps(signer.sign(payload).model_dump(mode="json")))
    return out


async def type_path(pilot, path: Path | str) -> None:
    field = pilot.app.screen.query_one(Input)
    field.value = str(path)
    await pilot.press("enter")
    await settle(pilot)


def state(service: LicenseService) -> tuple:
    return ([r.license_id for r in service.license_rows()], service.devices())


async def test_add_license_accepts_once_and_refuses_bad_files(app: SmartlicApp, tmp_path: Path) -> None:
    service = app.service
    service.set_customer_id(A, str((await service.demo_info()).customer_id))
    request = tmp_path / "request.json"
    service.offline_request(A, request)
    response = signed_response(service, request, tmp_path / "response.json", [25, 100])
    cut = tmp_path / "cut.json"
    cut.write_text(response.read_text()[:200])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, ManageLicensesScreen)

        # Escape cancels: nothing happens.
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is home

        # A truncated file: refused with the reason, the dialog stays open, nothing changes.
        before = state(service)
        await pilot.press("l")
        await pilot.pause()
        await type_path(pilot, cut)
        assert isinstance(app.screen, PathModal)
        assert "truncated" in static_text(pilot, "#path-problem")
        assert "truncated" in toasts(pilot)
        assert state(service) == before

        # The good file: added, the result names every license, Manage Licenses shows them.
        await type_path(pilot, response)
        assert isinstance(app.screen, MessageModal)
        added = {r.license_id: r for r in service.license_rows(A)}
        assert len(added) == 2
        body = static_text(pilot, "#message-body")
        assert "Added 2 license(s) to SmartServer-A" in body
        for license_id, row in added.items():
            assert f"{license_id}  {row.description}" in body
        assert "34 device(s) are now licensed" in body
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is home
        assert set(home.rows) == {str(i) for i in added}
        assert all(d.licensed for d in service.devices(A))

        # The same file again: refused (already imported), store unchanged.
        before = state(service)
        await pilot.press("l")
        await pilot.pause()
        await type_path(pilot, response)
        assert isinstance(app.screen, PathModal)
        assert "imported already" in static_text(pilot, "#path-problem")
        assert "imported already" in toasts(pilot)
        assert state(service) == before
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is home


async def test_add_license_from_the_command_palette(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Add License")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PathModal)


async def test_path_completion(app: SmartlicApp, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    (folder / "inbox").mkdir(parents=True)
    (folder / "response-A.json").write_text("{}")
    (folder / "response-B.json").write_text("{}")
    (folder / ".hidden").write_text("")
    assert complete_path(f"{folder}/in") == f"{folder}/inbox/"
    assert complete_path(f"{folder}/r") == f"{folder}/response-"
    assert complete_path(f"{folder}/response-") == f"{folder}/response-A.json"
    assert complete_path(f"{folder}/.h") == f"{folder}/.hidden"
    assert complete_path(f"{folder}/zz") is None
    assert complete_path(f"{folder}/nowhere/x") is None
    assert complete_path("~") == "~/"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*f"{folder}/response-B")
        await wait_for(pilot, lambda: app.screen.query_one(Input)._suggestion.endswith(".json"))
        await pilot.press("tab")
        await pilot.pause()
        assert app.screen.query_one(Input).value == f"{folder}/response-B.json"


async def test_offline_request_writes_the_file(app: SmartlicApp) -> None:
    service = app.service
    service.set_customer_id(A, str((await service.demo_info()).customer_id))
    code = service.segment(A).install_code
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")  # the segment picker: SmartServer-A
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        assert app.screen.query_one(Input).value == f"~/smartlic-request-{code}.json"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MessageModal)
        body = static_text(pilot, "#message-body")
        assert f"~/smartlic-request-{code}.json" in body
        assert "License Customer Portal" in body and "Add License (l)" in body
        written = json.loads((Path.home() / f"smartlic-request-{code}.json").read_text())
        assert written["payload"]["install_code"] == code


async def test_offline_request_without_customer_id_is_refused(app: SmartlicApp) -> None:
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("o", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PathModal)
        assert "No Customer ID" in static_text(pilot, "#path-problem")
        assert not list(Path.home().glob("smartlic-request-*"))


async def test_offline_return_confirms_then_writes_a_receipt(app: SmartlicApp, tmp_path: Path) -> None:
    service = app.service
    service.set_customer_id(A, str((await service.demo_info()).customer_id))
    offer = await service.cloud_licenses(A)
    await service.activate(A, [offer.licenses[0].license_id, offer.licenses[1].license_id])
    ids = {r.license_id for r in service.license_rows(A)}
    # The portal credits receipts of controllers whose key it knows from a fulfilled offline request
    # (Add License records that); without one, Offline Return is refused up front.
    with service.context.store.write() as tx:
        tx.meta_set(f"cloud_knows_device_key:{service.segment(A).install_code}", "request-id")
    receipt = tmp_path / "receipt.json"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, ManageLicensesScreen)

        # Enter on the freshly opened confirmation cancels.
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, PathModal)
        assert "smartlic-receipt-" in app.screen.query_one(Input).value
        await type_path(pilot, receipt)
        assert isinstance(app.screen, OfflineReturnModal)
        assert app.screen.focused is not None and app.screen.focused.id == "no"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is home
        assert {r.license_id for r in service.license_rows(A)} == ids
        assert not receipt.exists()

        # y returns them.
        await pilot.press("x")
        await pilot.pause()
        await type_path(pilot, receipt)
        details = static_text(pilot, ".dialog-details Static")
        assert all(str(i) in details for i in ids)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, MessageModal)
        assert str(receipt) in static_text(pilot, "#message-body") or "receipt.json" in static_text(
            pilot, "#message-body"
        )
        assert service.license_rows(A) == []
        assert all(d.state is DeviceState.UNLICENSED for d in service.devices(A))
        payload = json.loads(receipt.read_text())["payload"]
        assert {UUID(i) for i in payload["license_ids"]} == ids

        # A receipt is never overwritten.
        await pilot.press("enter")
        await pilot.pause()
        await service.activate(A, [offer.licenses[2].license_id])
        home.refresh_data()
        await pilot.press("x")
        await pilot.pause()
        await type_path(pilot, receipt)
        assert isinstance(app.screen, PathModal)
        assert "exists already" in static_text(pilot, "#path-problem")


async def test_expiry_banner_after_activating_the_maintenance(app: SmartlicApp) -> None:
    service = app.service
    service.set_customer_id(A, str((await service.demo_info()).customer_id))
    offer = await service.cloud_licenses(A)
    cap25 = next(c for c in offer.licenses if c.kind is LicenseKind.CAPACITY and c.devices == 25)
    maint25 = next(c for c in offer.licenses if c.kind is LicenseKind.MAINTENANCE and c.devices == 25)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "No device capacity" in static_text(pilot, "#banner")
        await service.activate(A, [cap25.license_id, maint25.license_id])
        await pilot.press("r")
        await pilot.pause()
        banner = static_text(pilot, "#banner")
        assert "25-device maintenance" in banner and "expires in 20 days" in banner
        assert banner.count("\n") <= 2, "at most three lines at 80x24"
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, MessageModal)
        everything = static_text(pilot, "#message-body")
        assert "expires in 20 days (2026-12-18" in everything
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ManageLicensesScreen)


def test_banner_folds_many_warnings() -> None:
    from core.models import StatusLevel
    from core.views import Notice
    from tui.screens.manage_licenses import banner_text

    notices = [
        Notice(kind="expiry", level=StatusLevel.WARNING, segment_name=f"S{i}", text=f"S{i}: expires")
        for i in range(4)
    ]
    notices.append(Notice(kind="expiry", level=StatusLevel.ERROR, segment_name="E", text="E: expired"))
    lines = banner_text(notices).plain.split("\n")
    assert lines == ["✖ E: expired", "⚠ S0: expires", "+3 more — w lists every warning"]


def test_banner_wraps_whole_notices_and_counts_the_rest() -> None:
    from rich.console import Console

    from core.models import StatusLevel
    from core.views import Notice
    from tui.screens.manage_licenses import banner_text

    long = "SmartServer-A: 25-device maintenance, 1-year expires in 20 days (2026-12-18)."
    notices = [
        Notice(kind="expiry", level=StatusLevel.WARNING, segment_name="A", text=long),
        Notice(kind="shortfall", level=StatusLevel.WARNING, segment_name="B", text="B: 100 short."),
        Notice(kind="shortfall", level=StatusLevel.WARNING, segment_name="C", text="C: 5 short."),
    ]
    text = banner_text(notices, width=60)
    assert long in text.plain, "a notice is shown whole (the Static wraps it), never cut"
    assert "…" not in text.plain
    assert len(text.wrap(Console(width=60), 60)) <= 3
    assert text.plain.endswith("+2 more — w lists every warning")
    assert banner_text(notices, width=200).plain.count("\n") == 2, "all three fit on three wide lines"
