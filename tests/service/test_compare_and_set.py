"""Compare-and-set saves: an edit overtaken by another session is refused, never saved silently.

Two services on one store stand for two sessions (two terminals on one controller).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from core.errors import ChangedMeanwhile, InvalidInput
from core.service import LicenseService
from tests.support.services import make_service

A = "SmartServer-A"


@pytest.fixture
async def other(tmp_path) -> AsyncIterator[LicenseService]:
    """A second session on the same data dir as the ``service`` fixture."""
    svc = make_service(tmp_path / "data")
    yield svc
    await svc.aclose()


async def test_customer_id_overtaken_is_refused_with_the_stored_value(
    service: LicenseService, other: LicenseService
) -> None:
    mine, theirs = str(uuid4()), str(uuid4())
    started_from = ""  # both sessions saw no Customer ID
    other.set_customer_id(A, theirs, expected=started_from)
    with pytest.raises(ChangedMeanwhile) as caught:
        service.set_customer_id(A, mine, expected=started_from)
    assert caught.value.code == "changed_meanwhile"
    assert caught.value.stored == theirs
    assert str(service.segment(A).customer_id) == theirs, "nothing was saved"
    # Keeping mine deliberately: save again, starting from the value now stored.
    service.set_customer_id(A, mine, expected=caught.value.stored)
    assert str(other.segment(A).customer_id) == mine


async def test_customer_id_expected_is_normalised_and_checked(service: LicenseService) -> None:
    first = str(uuid4())
    service.set_customer_id(A, first)
    # The same ID typed in upper case with spaces is the same value: no conflict.
    service.set_customer_id(A, "", expected=f"  {first.upper()} ")
    assert service.segment(A).customer_id is None
    with pytest.raises(InvalidInput):
        service.set_customer_id(A, first, expected="not-a-uuid")


async def test_without_expected_the_last_writer_wins(service: LicenseService, other: LicenseService) -> None:
    other.set_customer_id(A, str(uuid4()))
    last = str(uuid4())
    service.set_customer_id(A, last)
    assert str(other.segment(A).customer_id) == last


async def _one_license(service: LicenseService) -> str:
    demo = str((await service.demo_info()).customer_id)
    service.set_customer_id(A, demo)
    offer = await service.cloud_licenses(A)
    license_id = offer.licenses[0].license_id
    await service.activate(A, [license_id])
    return str(license_id)


async def test_note_overtaken_is_refused(service: LicenseService, other: LicenseService) -> None:
    from uuid import UUID

    license_id = UUID(await _one_license(service))
    other.set_note(license_id, "Plant room", expected="")
    with pytest.raises(ChangedMeanwhile) as caught:
        service.set_note(license_id, "Rack B", expected="")
    assert caught.value.stored == "Plant room"
    assert [r.note for r in service.license_rows()] == ["Plant room"]
    service.set_note(license_id, "Rack B", expected="Plant room")
    assert [r.note for r in other.license_rows()] == ["Rack B"]


async def test_unknown_customer_id_warns_known_one_does_not(
    service: LicenseService, demo_customer: str
) -> None:
    service.set_customer_id(A, str(uuid4()))
    warning = await service.customer_id_warning(A)
    assert warning is not None and "does not know" in warning
    service.set_customer_id(A, demo_customer)
    assert await service.customer_id_warning(A) is None
    service.set_customer_id(A, "")
    assert await service.customer_id_warning(A) is None
