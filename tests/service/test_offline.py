"""Offline activation on the device: request file, Add License (response file), return receipt."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from core.errors import InvalidInput, Refused, SignatureInvalid, StoreUnavailable
from core.models import LicenseGrant, LicenseKind, OfflineResponse, SignedDocument
from core.service import LicenseService
from core.signing import Signer, load_public_key, verify_with
from tests.support.clock import FIXED_NOW as NOW

A = "SmartServer-A"


def cloud_signer(service: LicenseService) -> Signer:
    return Signer.load_or_create(service.context.trust.folder.parent / "cloud" / "cloud_key.pem")


def grant_doc(
    signer: Signer, install_code: str, customer_id: UUID | None, devices: int = 25
) -> SignedDocument:
    assert customer_id is not None, "a grant is for a segment with a Customer ID"
    grant = LicenseGrant(
        license_id=uuid4(),
        kind=LicenseKind.CAPACITY,
        devices=devices,
        customer_id=customer_id,
        install_code=install_code,
        issued_at=NOW,
    )
    return signer.sign(grant.model_dump(mode="json"))


def response_file(tmp: Path, signer: Signer, request: dict, docs: list[SignedDocument], **over) -> Path:
    request = request["payload"]
    payload = OfflineResponse(
        request_id=request["request_id"],
        install_code=request["install_code"],
        customer_id=UUID(request["customer_id"]),
        issued_at=NOW,
        licenses=docs,
    ).model_dump(mode="json")
    payload.update(over)
    path = tmp / f"response-{uuid4().hex[:6]}.json"
    path.write_text(json.dumps(signer.sign(payload).model_dump(mode="json")))
    return path


def state(service: LicenseService) -> tuple:
    return ([r.license_id for r in service.license_rows()], service.devices(), service.journal())


@pytest.fixture
async def requested(service: LicenseService, demo_customer: str, tmp_path: Path) -> dict:
    service.set_customer_id(A, demo_customer)
    path = tmp_path / "request.json"
    service.offline_request(A, path)
    return json.loads(path.read_text())


async def test_request_file_is_readable_signed_json(service: LicenseService, requested: dict) -> None:
    payload = requested["payload"]
    seg = service.segment(A)
    assert payload["install_code"] == seg.install_code
    assert payload["customer_id"] == str(seg.customer_id)
    assert len(payload["request_id"]) == 32
    assert "BEGIN PUBLIC KEY" in payload["device_public_key"]
    key = load_public_key(payload["device_public_key"].encode())
    assert verify_with(key, SignedDocument.model_validate(requested)) == payload


async def test_request_needs_a_customer_id(service: LicenseService, tmp_path: Path) -> None:
    with pytest.raises(Refused, match="No Customer ID"):
        service.offline_request(A, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


async def test_add_license_imports_all_once(service: LicenseService, requested: dict, tmp_path: Path) -> None:
    signer = cloud_signer(service)
    seg = service.segment(A)
    docs = [grant_doc(signer, seg.install_code, seg.customer_id, n) for n in (25, 100)]
    path = response_file(tmp_path, signer, requested, docs)
    result = service.add_license_file(path)
    assert len(result.added) == 2
    assert {r.license_id for r in service.license_rows(A)} == set(result.added)
    assert sum(d.licensed for d in service.devices(A)) == len(service.devices(A))
    before = state(service)
    with pytest.raises(Refused, match="no outstanding request"):
        service.add_license_file(path)
    assert state(service) == before


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"install_code": "zzzzzzz"}, Refused, "another controller"),
        ({"customer_id": "2133c667-af41-4518-94df-a2bb3b775330"}, Refused, "another Customer ID"),
        ({"request_id": "0" * 32}, Refused, "no outstanding request"),
    ],
)
async def test_foreign_or_stale_response_changes_nothing(
    service: LicenseService, requested: dict, tmp_path: Path, change: dict, error: type, match: str
) -> None:
    signer = cloud_signer(service)
    seg = service.segment(A)
    path = response_file(
        tmp_path, signer, requested, [grant_doc(signer, seg.install_code, seg.customer_id)], **change
    )
    before = state(service)
    with pytest.raises(error, match=match):
        service.add_license_file(path)
    assert state(service) == before


async def test_tampered_truncated_and_forged_files(
    service: LicenseService, requested: dict, tmp_path: Path
) -> None:
    signer = cloud_signer(service)
    seg = service.segment(A)
    good = response_file(tmp_path, signer, requested, [grant_doc(signer, seg.install_code, seg.customer_id)])
    before = state(service)

    tampered = json.loads(good.read_text())
    tampered["payload"]["licenses"][0]["payload"]["devices"] = 100000
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    with pytest.raises(SignatureInvalid):
        service.add_license_file(bad)

    cut = tmp_path / "cut.json"
    cut.write_text(good.read_text()[:200])
    with pytest.raises(InvalidInput, match="truncated"):
        service.add_license_file(cut)

    forged = response_file(tmp_path, Signer.generate(), requested, [])
    with pytest.raises(SignatureInvalid, match="unknown key"):
        service.add_license_file(forged)

    other_seg = service.segment("SmartServer-B")
    foreign_inner = response_file(
        tmp_path, signer, requested, [grant_doc(signer, other_seg.install_code, seg.customer_id)]
    )
    with pytest.raises(SignatureInvalid, match="another controller"):
        service.add_license_file(foreign_inner)

    with pytest.raises(InvalidInput, match="no file"):
        service.add_license_file(tmp_path / "missing.json")
    assert state(service) == before
    service.add_license_file(good)  # the request is still outstanding after the refusals
    assert len(service.license_rows(A)) == 1


async def test_offline_return_takes_licenses_off_first(
    service: LicenseService, requested: dict, tmp_path: Path
) -> None:
    signer = cloud_signer(service)
    seg = service.segment(A)
    service.add_license_file(
        response_file(tmp_path, signer, requested, [grant_doc(signer, seg.install_code, seg.customer_id)])
    )
    ids = [r.license_id for r in service.license_rows(A)]

    before = state(service)
    with pytest.raises(StoreUnavailable, match="Cannot write"):
        service.offline_return(A, tmp_path / "no-such-dir" / "receipt.json")
    assert state(service) == before

    receipt_path = tmp_path / "receipt.json"
    receipt = service.offline_return(A, receipt_path)
    assert receipt.license_ids == ids
    assert service.license_rows(A) == []
    assert all(not d.licensed for d in service.devices(A))
    document = SignedDocument.model_validate_json(receipt_path.read_text())
    key = load_public_key(document.payload["device_public_key"].encode())
    assert verify_with(key, document)["receipt_id"] == receipt.receipt_id
    assert document.payload["device_public_key"] == requested["payload"]["device_public_key"]
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(Refused, match="no licenses"):
        service.offline_return(A, tmp_path / "again.json")


async def test_maintenance_expiry_in_grant_survives(
    service: LicenseService, requested: dict, tmp_path: Path
) -> None:
    signer = cloud_signer(service)
    seg = service.segment(A)
    grant = LicenseGrant(
        license_id=uuid4(),
        kind=LicenseKind.MAINTENANCE,
        devices=25,
        term_years=1,
        expires_on=date(2026, 12, 10),
        customer_id=seg.customer_id,
        install_code=seg.install_code,
        issued_at=NOW,
    )
    service.add_license_file(
        response_file(tmp_path, signer, requested, [signer.sign(grant.model_dump(mode="json"))])
    )
    assert service.license_rows(A)[0].status == "Expiring 2026-12-10"


async def test_request_or_receipt_picked_by_mistake_is_named(
    service: LicenseService, requested: dict, tmp_path: Path
) -> None:
    path = tmp_path / "request.json"
    with pytest.raises(InvalidInput, match="offline activation request, not a license file"):
        service.add_license_file(path)


@pytest.mark.parametrize("kind", ["empty", "directory", "huge", "flipped"])
async def test_more_rejections_leave_the_store_unchanged(
    service: LicenseService, requested: dict, tmp_path: Path, kind: str
) -> None:
    signer = cloud_signer(service)
    seg = service.segment(A)
    good = response_file(tmp_path, signer, requested, [grant_doc(signer, seg.install_code, seg.customer_id)])
    target = tmp_path / f"{kind}.json"
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "directory":
        target.mkdir()
    elif kind == "huge":
        with open(target, "wb") as handle:
            handle.truncate(50 * 1024 * 1024)
    else:
        data = bytearray(good.read_bytes())
        where = data.index(b'"devices": 25') + len(b'"devices": 2')
        data[where] = ord("9")
        target.write_bytes(bytes(data))
    before = state(service)
    with pytest.raises((InvalidInput, SignatureInvalid)) as info:
        service.add_license_file(target)
    assert "\n" not in info.value.message
    assert state(service) == before
    service.add_license_file(good)
    assert len(service.license_rows(A)) == 1
