"""Pure domain rules. No I/O, no clock of its own: every function is given what it needs.

Relicensing order (documented, stable): devices are ranked by
  1. current state: provisioned, then unprovisioned, then unlicensed;
  2. then by ``seq``, the order in which they were added to the controller.
The first ``capacity`` devices of that ranking are licensed, the rest are not. So when capacity
rises, unlicensed devices gain a license oldest first (and become unprovisioned: provisioning stays
a manual step); when it falls, the newest unprovisioned devices lose theirs first, then the newest
provisioned ones. Applying the rule twice changes nothing.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from core.models import Device, DeviceState, LicenseKind, LicenseTerms, StatusLevel

DEFAULT_EXPIRING_DAYS = 60
INSTALL_CODE_ALPHABET = string.digits + string.ascii_lowercase
INSTALL_CODE_LENGTH = 7
_STATE_RANK = {DeviceState.PROVISIONED: 0, DeviceState.UNPROVISIONED: 1, DeviceState.UNLICENSED: 2}


# --- identifiers -----------------------------------------------------------------------------


def new_install_code(rng: random.Random) -> str:
    return "".join(rng.choice(INSTALL_CODE_ALPHABET) for _ in range(INSTALL_CODE_LENGTH))


def is_install_code(text: str) -> bool:
    return len(text) == INSTALL_CODE_LENGTH and all(c in INSTALL_CODE_ALPHABET for c in text)


def customer_id_problem(text: str) -> str | None:
    """Why ``text`` is not a Customer ID, or None when it is one. Used as the user types."""
    value = text.strip()
    if not value:
        return "Enter a Customer ID, e.g. 2133c667-af41-4518-94df-a2bb3b775330."
    bad = sorted({c for c in value.lower() if c not in "0123456789abcdef-"})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:3])
        return f"A Customer ID has only 0-9, a-f and dashes; found {shown}."
    groups = value.split("-")
    if [len(g) for g in groups] != [8, 4, 4, 4, 12]:
        return "A Customer ID has 5 groups of 8-4-4-4-12 characters (36 in all)."
    return None


def parse_customer_id(text: str) -> UUID:
    """The Customer ID in ``text`` (spaces trimmed), or ValueError with the reason."""
    problem = customer_id_problem(text)
    if problem:
        raise ValueError(problem)
    return UUID(text.strip())


# --- capacity and maintenance ----------------------------------------------------------------


class Standing(Protocol):
    """What capacity and coverage need of a license: a License or a light row from the store."""

    @property
    def terms(self) -> LicenseTerms: ...
    @property
    def return_pending(self) -> bool: ...


def counts(lic: Standing) -> bool:
    """A license being returned no longer counts: the device gives up first."""
    return not lic.return_pending


def capacity(licenses: Iterable[Standing]) -> int:
    """Device capacity of a segment: the sum of its active capacity licenses."""
    return sum(
        lic.terms.devices for lic in licenses if counts(lic) and lic.terms.kind is LicenseKind.CAPACITY
    )


def is_expired(terms: LicenseTerms, today: date) -> bool:
    return terms.expires_on is not None and today > terms.expires_on


@dataclass(frozen=True)
class Coverage:
    capacity: int
    covered: int

    @property
    def shortfall(self) -> int:
        return max(0, self.capacity - self.covered)


def maintenance_coverage(licenses: Sequence[Standing], today: date) -> Coverage:
    """How many devices unexpired maintenance covers, against the segment's capacity."""
    covered = sum(
        lic.terms.devices
        for lic in licenses
        if counts(lic) and lic.terms.kind is LicenseKind.MAINTENANCE and not is_expired(lic.terms, today)
    )
    return Coverage(capacity=capacity(licenses), covered=covered)


@dataclass(frozen=True)
class Status:
    text: str
    level: StatusLevel


def status(terms: LicenseTerms, today: date, expiring_days: int = DEFAULT_EXPIRING_DAYS) -> Status:
    """`Active`, `Expiring YYYY-MM-DD` (within ``expiring_days``) or `Expired YYYY-MM-DD`."""
    if terms.expires_on is None:
        return Status("Active", StatusLevel.OK)
    stamp = terms.expires_on.isoformat()
    if is_expired(terms, today):
        return Status(f"Expired {stamp}", StatusLevel.ERROR)
    if (terms.expires_on - today).days <= expiring_days:
        return Status(f"Expiring {stamp}", StatusLevel.WARNING)
    return Status("Active", StatusLevel.OK)


DEFAULT_WARNING_DAYS = (60, 30, 7)


def expiry_warning(terms: LicenseTerms, today: date, thresholds: Sequence[int]) -> str | None:
    """The expiry notice for a maintenance license at the tightest threshold it has crossed.

    Thresholds are days before expiry (default 60, 30 and 7); an expired license always warns.
    """
    stage = expiry_stage(terms, today, thresholds)
    if stage is None or terms.expires_on is None:
        return None
    stamp = terms.expires_on.isoformat()
    if stage == EXPIRED:
        return f"expired on {stamp}"
    days_left = (terms.expires_on - today).days
    if days_left == 0:
        return f"expires today ({stamp})"
    return f"expires in {days_left} day{'s' if days_left != 1 else ''} ({stamp}; {stage}-day notice)"


EXPIRED = -1
"""The expiry stage of a license past its expiry date."""


def expiry_stage(terms: LicenseTerms, today: date, thresholds: Sequence[int]) -> int | None:
    """The tightest threshold (days before expiry) the license has crossed, ``EXPIRED`` once it has
    expired, or None (no expiry, or no threshold crossed yet). Each stage is noticed once."""
    if terms.expires_on is None:
        return None
    if is_expired(terms, today):
        return EXPIRED
    days_left = (terms.expires_on - today).days
    crossed = [t for t in thresholds if days_left <= t]
    return min(crossed) if crossed else None


def description(kind: LicenseKind, devices: int, term_years: int | None) -> str:
    """The CMS's wording: "200-device capacity", "200-device maintenance, 3-year"."""
    if kind is LicenseKind.CAPACITY:
        return f"{devices}-device capacity"
    return f"{devices}-device maintenance, {term_years}-year"


def cloud_description(terms: LicenseTerms) -> str:
    """Download view description: the kind, and the expiry date for maintenance licenses."""
    text = description(terms.kind, terms.devices, terms.term_years)
    if terms.expires_on is not None:
        text += f", expires {terms.expires_on.isoformat()}"
    return text


# --- devices ---------------------------------------------------------------------------------


class Ranked(Protocol):
    """What relicensing needs to know of a device; a Device or a light row from the store."""

    @property
    def device_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def state(self) -> DeviceState: ...


def relicense_order(device: Ranked) -> tuple[int, int, str]:
    return (_STATE_RANK[device.state], device.seq, device.device_id)


def relicense_plan(devices: Sequence[Ranked], capacity_: int) -> dict[str, DeviceState]:
    """The devices whose state changes under ``capacity_``, with their new state.

    See the module docstring for the order. Devices that keep their state are left out, so the
    store writes only what changed.
    """
    ranked = sorted(devices, key=relicense_order)
    cut = max(0, capacity_)
    changes: dict[str, DeviceState] = {}
    for d in ranked[:cut]:
        if d.state is DeviceState.UNLICENSED:
            changes[d.device_id] = DeviceState.UNPROVISIONED
    for d in ranked[cut:]:
        if d.state is not DeviceState.UNLICENSED:
            changes[d.device_id] = DeviceState.UNLICENSED
    return changes


def relicense(devices: Sequence[Device], capacity_: int) -> list[Device]:
    """Devices after applying ``capacity_``, in their input order; changed ones are new objects."""
    changes = relicense_plan(devices, capacity_)
    return [
        d.model_copy(update={"state": changes[d.device_id]}) if d.device_id in changes else d for d in devices
    ]


@dataclass(frozen=True)
class ProvisionPlan:
    provision: list[str]
    refused: dict[str, str]


def plan_provisioning(devices: Sequence[Ranked], device_ids: Sequence[str] | None) -> ProvisionPlan:
    """Which devices to provision. ``None`` means every licensed unprovisioned device.

    Unlicensed or unknown devices are refused with the reason; provisioned ones are left alone.
    """
    by_id = {d.device_id: d for d in devices}
    if device_ids is None:
        chosen = [d.device_id for d in devices if d.state is DeviceState.UNPROVISIONED]
        return ProvisionPlan(provision=chosen, refused={})
    provision: list[str] = []
    refused: dict[str, str] = {}
    for device_id in dict.fromkeys(device_ids):
        device = by_id.get(device_id)
        if device is None:
            refused[device_id] = "no such device on this segment controller"
        elif device.state is DeviceState.UNLICENSED:
            refused[device_id] = "unlicensed: activate capacity licenses first"
        elif device.state is DeviceState.UNPROVISIONED:
            provision.append(device_id)
    return ProvisionPlan(provision=provision, refused=refused)


def offered_here(earmarked_install_code: str | None, install_code: str) -> bool:
    """A cloud license may be activated on a controller unless it is earmarked for another one."""
    return earmarked_install_code in (None, install_code)


def already_active(licenses: Iterable[Standing], wanted: Sequence[UUID]) -> list[UUID]:
    """The wanted licenses that are active on the segment already: activating them changes nothing."""
    active = {lic.terms.license_id for lic in licenses if counts(lic)}
    return [i for i in wanted if i in active]


def reconcile_diff(local: Iterable[UUID], cloud: Iterable[UUID]) -> tuple[list[UUID], list[UUID]]:
    """What sync adopts (the cloud holds it here, the controller does not) and removes (the reverse)."""
    here, there = list(local), list(cloud)
    here_set, there_set = set(here), set(there)
    return [i for i in there if i not in here_set], [i for i in here if i not in there_set]
