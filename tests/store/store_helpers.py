"""Helpers for the store tests: a fixed clock, a seeded rng, licenses to store."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

from core.models import License, LicenseKind, LicenseTerms, SignedDocument
from core.store import Store
from tests.support.clock import FIXED_NOW as NOW
from tests.support.clock import fixed_clock


def open_store(path: Path) -> Store:
    return Store.open(path, clock=fixed_clock, rng=random.Random(7))


def make_license(
    n: int,
    install_code: str,
    *,
    kind: LicenseKind = LicenseKind.CAPACITY,
    devices: int = 50,
    activated_at: datetime = NOW,
    note: str = "",
) -> License:
    license_id = UUID(int=n)
    maintenance = kind is LicenseKind.MAINTENANCE
    terms = LicenseTerms(
        license_id=license_id,
        kind=kind,
        devices=devices,
        term_years=3 if maintenance else None,
        expires_on=date(2029, 11, 27) if maintenance else None,
    )
    # Key order, unicode, floats and nesting: what the store must hand back exactly.
    payload = {
        "type": "smartlic.license.v1",
        "license_id": str(license_id),
        "kind": kind.value,
        "devices": devices,
        "install_code": install_code,
        "zeta": {"b": [1, 2.5, None, True], "a": "Zürich – ☃"},
        "alpha": 1e-7,
    }
    document = SignedDocument(payload=payload, key_id="k1", signature="c2lnbmF0dXJl")
    return License(
        terms=terms, install_code=install_code, activated_at=activated_at, note=note, document=document
    )


LicenseFactory = Callable[..., License]
