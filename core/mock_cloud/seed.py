"""First-run content of the mock cloud: one demo partner, one demo customer and their licenses.

Everything comes from the given ``rng`` and ``today`` so a test (or a demo recording) sees the same
IDs and dates every time.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from uuid import UUID

from core.mock_cloud.db import Customer, LicenseRecord, Partner, Tx
from core.models import LicenseKind

DEMO_PARTNER_NAME = "Demo Partner"
DEMO_PARTNER_TOKEN = "demo-partner-token"
DEMO_CUSTOMER_NAME = "Demo Customer"
DEFAULT_EARMARK_INSTALL_CODE = "17q5t6a"
DEMO_CUSTOMER_KEY = "demo_customer_id"

# (kind, devices, term_years, days_short_of_full_term). Days differ so expiry dates differ.
_CUSTOMER_LICENSES: list[tuple[LicenseKind, int, int | None, int]] = [
    (LicenseKind.CAPACITY, 25, None, 0),
    (LicenseKind.CAPACITY, 100, None, 0),
    (LicenseKind.CAPACITY, 200, None, 0),
    (LicenseKind.CAPACITY, 1000, None, 0),
    (LicenseKind.CAPACITY, 100, None, 0),
    (LicenseKind.MAINTENANCE, 100, 1, 10),
    (LicenseKind.MAINTENANCE, 200, 3, 40),
    (LicenseKind.MAINTENANCE, 1000, 1, 70),
    (LicenseKind.MAINTENANCE, 200, 1, 100),
    (LicenseKind.MAINTENANCE, 25, 1, 365 - 20),  # expires in 20 days: the "Expiring" case
]
_EARMARKED_DEVICES = 200
_INVENTORY: list[tuple[LicenseKind, int, int | None]] = [
    (LicenseKind.CAPACITY, 100, None),
    (LicenseKind.CAPACITY, 500, None),
    (LicenseKind.MAINTENANCE, 100, 1),
    (LicenseKind.MAINTENANCE, 500, 3),
]


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _expiry(today: date, term_years: int | None, days_short: int) -> date | None:
    return None if term_years is None else today + timedelta(days=365 * term_years - days_short)


def seed(tx: Tx, rng: random.Random, today: date, earmark_install_code: str) -> UUID:
    """Fill an empty database; returns the demo Customer ID."""
    partner = Partner(partner_id=_uuid(rng), name=DEMO_PARTNER_NAME, token=DEMO_PARTNER_TOKEN)
    tx.add_partner(partner)
    customer = Customer(customer_id=_uuid(rng), partner_id=partner.partner_id, name=DEMO_CUSTOMER_NAME)
    tx.add_customer(customer)

    for kind, devices, term_years, days_short in _CUSTOMER_LICENSES:
        tx.add_license(
            LicenseRecord(
                license_id=_uuid(rng),
                partner_id=partner.partner_id,
                customer_id=customer.customer_id,
                kind=kind,
                devices=devices,
                term_years=term_years,
                expires_on=_expiry(today, term_years, days_short),
                transfer_date=today - timedelta(days=rng.randint(3, 90)),
            )
        )
    tx.add_license(
        LicenseRecord(
            license_id=_uuid(rng),
            partner_id=partner.partner_id,
            customer_id=customer.customer_id,
            kind=LicenseKind.CAPACITY,
            devices=_EARMARKED_DEVICES,
            earmarked_install_code=earmark_install_code,
            transfer_date=today - timedelta(days=rng.randint(3, 90)),
        )
    )
    for kind, devices, term_years in _INVENTORY:
        tx.add_license(
            LicenseRecord(
                license_id=_uuid(rng),
                partner_id=partner.partner_id,
                kind=kind,
                devices=devices,
                term_years=term_years,
                expires_on=_expiry(today, term_years, 0),
            )
        )
    tx.set_meta(DEMO_CUSTOMER_KEY, str(customer.customer_id))
    return customer.customer_id


def demo_customer_id(tx: Tx) -> UUID | None:
    """The demo customer of a seeded database, None before seeding."""
    value = tx.meta(DEMO_CUSTOMER_KEY)
    return None if value is None else UUID(value)
