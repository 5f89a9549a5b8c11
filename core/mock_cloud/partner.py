"""The Partner Portal: a partner's customer accounts and the licenses it bought and handed on.

Every operation takes the authenticated partner and sees only what belongs to it: another
partner's customer or license is answered exactly like one that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.mock_cloud.db import Customer, LicenseRecord, Partner, Tx
from core.mock_cloud.device_keys import bind_on_first_use, parse_pem
from core.mock_cloud.licensing import cloud_license
from core.mock_cloud.problems import ApiProblem
from core.models import CloudLicense, LicenseKind
from core.rules import is_install_code

MAX_DEVICES = 100_000
MAX_COUNT = 1000
MAX_BATCH = 5000


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartnerLicense(CloudLicense):
    """A license as its partner sees it: whose it is and where it is active."""

    customer_id: UUID | None = Field(default=None, description="None while in the partner's inventory")
    install_code: str | None = Field(default=None, description="The segment controller it is active on")


class LicenseList(_Body):
    items: list[PartnerLicense]


class CustomerAccount(_Body):
    customer_id: UUID
    name: str


class CustomerList(_Body):
    items: list[CustomerAccount]


class NewCustomer(_Body):
    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _tidy(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value or not value.isprintable():
            raise ValueError("a customer name needs printable characters")
        return value


class NewLicenses(_Body):
    kind: LicenseKind
    devices: int = Field(gt=0, le=MAX_DEVICES)
    term_years: Literal[1, 3] | None = Field(default=None, description="1 or 3 for maintenance only")
    count: int = Field(default=1, ge=1, le=MAX_COUNT)

    @model_validator(mode="after")
    def _term_fits_kind(self) -> Self:
        if self.kind is LicenseKind.MAINTENANCE and self.term_years is None:
            raise ValueError("a maintenance license needs a term of 1 or 3 years")
        if self.kind is LicenseKind.CAPACITY and self.term_years is not None:
            raise ValueError("a capacity license has no term (it never expires)")
        return self


class HandOver(_Body):
    license_ids: list[UUID] = Field(min_length=1, max_length=MAX_BATCH)


class Earmark(_Body):
    install_code: str | None = Field(description="Install code to reserve the license for; null clears")
    device_public_key: str | None = Field(
        default=None,
        max_length=1000,
        description="PEM of the controller's Ed25519 key: bound to the install code if none is yet",
    )


# --- access ----------------------------------------------------------------------------------


def authenticate(tx: Tx, token: str | None) -> Partner:
    partner = tx.partner_by_token(token) if token else None
    if partner is None:
        raise ApiProblem(
            401,
            "unauthorized",
            "Partner calls need the partner's token: Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return partner


def _customer(tx: Tx, partner: Partner, customer_id: UUID) -> Customer:
    customer = tx.customer(customer_id)
    if customer is None or customer.partner_id != partner.partner_id:
        raise ApiProblem(404, "customer_not_found", f"You have no customer account {customer_id}.")
    return customer


def _license(tx: Tx, partner: Partner, license_id: UUID) -> LicenseRecord:
    record = tx.license(license_id)
    if record is None or record.partner_id != partner.partner_id:
        raise ApiProblem(
            404,
            "license_not_found",
            f"You have no license {license_id}.",
            extra={"license_id": str(license_id)},
        )
    return record


def partner_license(record: LicenseRecord) -> PartnerLicense:
    return PartnerLicense(
        **cloud_license(record).model_dump(),
        customer_id=record.customer_id,
        install_code=record.install_code,
    )


def _listing(records: Sequence[LicenseRecord]) -> LicenseList:
    return LicenseList(items=[partner_license(r) for r in records])


# --- customers -------------------------------------------------------------------------------


def create_customer(tx: Tx, partner: Partner, body: NewCustomer) -> CustomerAccount:
    """A new customer/project account; this is where its Customer ID is made."""
    wanted = body.name.casefold()
    if any(c.name.casefold() == wanted for c in tx.customers_of(partner.partner_id)):
        # Refused rather than made twice: a re-run CLI command must not split a customer in two.
        raise ApiProblem(409, "customer_exists", f"You already have a customer account named {body.name!r}.")
    customer = Customer(customer_id=uuid.uuid4(), partner_id=partner.partner_id, name=body.name)
    tx.add_customer(customer)
    return CustomerAccount(customer_id=customer.customer_id, name=customer.name)


def list_customers(tx: Tx, partner: Partner) -> CustomerList:
    customers = tx.customers_of(partner.partner_id)
    return CustomerList(items=[CustomerAccount(customer_id=c.customer_id, name=c.name) for c in customers])


# --- licenses --------------------------------------------------------------------------------


def inventory(tx: Tx, partner: Partner) -> LicenseList:
    """My Inventory: bought and not yet handed to a customer."""
    return _listing(tx.inventory(partner.partner_id))


def customer_inventory(tx: Tx, partner: Partner, customer_id: UUID) -> LicenseList:
    """Customer Inventory: everything handed to the customer, with where each is active."""
    _customer(tx, partner, customer_id)
    return _listing(tx.customer_licenses(customer_id))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def add_licenses(tx: Tx, partner: Partner, body: NewLicenses, today: date) -> LicenseList:
    """Record a purchase: ``count`` new licenses in the partner's inventory, each a new License ID."""
    expires_on = None if body.term_years is None else _add_years(today, body.term_years)
    added = [
        tx.add_license(
            LicenseRecord(
                license_id=uuid.uuid4(),
                partner_id=partner.partner_id,
                kind=body.kind,
                devices=body.devices,
                term_years=body.term_years,
                expires_on=expires_on,
            )
        )
        for _ in range(body.count)
    ]
    return _listing(added)


def hand_over(
    tx: Tx, partner: Partner, customer_id: UUID, license_ids: Sequence[UUID], today: date
) -> LicenseList:
    """Give licenses from My Inventory to a customer; all or nothing.

    A license already with this customer is accepted as is, so repeating a hand-over is harmless.
    """
    _customer(tx, partner, customer_id)
    records = [_license(tx, partner, i) for i in dict.fromkeys(license_ids)]
    for record in records:
        if record.customer_id is not None and record.customer_id != customer_id:
            raise ApiProblem(
                409,
                "license_not_in_inventory",
                f"License {record.license_id} was already handed to another customer.",
                extra={"license_id": str(record.license_id)},
            )
    for record in records:
        if record.customer_id is None:
            tx.assign_to_customer(record.license_id, customer_id, today)
    return _listing([_license(tx, partner, r.license_id) for r in records])


def earmark(tx: Tx, partner: Partner, license_id: UUID, body: Earmark, today: date) -> PartnerLicense:
    """Reserve a license for one segment controller (only it may activate it), or clear that.

    A ``device_public_key`` is bound to the install code unless another key is bound already.
    """
    install_code = body.install_code
    if install_code is not None and not is_install_code(install_code):
        raise ApiProblem(
            422,
            "invalid_install_code",
            f"{install_code!r} is not an install code: 7 characters, 0-9 and a-z.",
        )
    record = _license(tx, partner, license_id)
    if install_code is not None and record.install_code not in (None, install_code):
        raise ApiProblem(
            409,
            "license_taken",
            f"License {license_id} is active on segment controller {record.install_code}; "
            "it must be transferred to the cloud before it can be reserved for another.",
            extra={"license_id": str(license_id)},
        )
    if body.device_public_key is not None:
        _bind_key(tx, install_code, body.device_public_key, today)
    tx.set_earmark(license_id, install_code)
    return partner_license(_license(tx, partner, license_id))


def _bind_key(tx: Tx, install_code: str | None, pem: str, today: date) -> None:
    key = parse_pem(pem)
    if install_code is None or key is None:
        raise ApiProblem(
            422,
            "invalid_device_key",
            "device_public_key needs an install code and must be the PEM of an Ed25519 public key.",
        )
    if bind_on_first_use(tx, install_code, *key, today).key_id != key[0]:
        raise ApiProblem(
            409,
            "device_key_mismatch",
            f"Install code {install_code} is bound to another controller key already.",
        )
