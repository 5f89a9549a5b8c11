"""What the service hands to the faces: flat, ready-to-show, JSON-serialisable views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, NamedTuple
from uuid import UUID

from pydantic import Field, computed_field

from core.models import (
    CloudLicense,
    DeviceState,
    Frozen,
    LicenseKind,
    Protocol,
    SegmentController,
    StatusLevel,
)


class LicenseRow(Frozen):
    segment_name: str
    install_code: str
    license_id: UUID
    kind: LicenseKind
    devices: int
    term_years: int | None
    expires_on: date | None
    description: str
    status: str
    status_level: StatusLevel
    activated_at: datetime
    note: str
    return_pending: bool


class DeviceRow(NamedTuple):
    """One device as a list shows it: a plain tuple read straight from the store.

    The Devices screen shows tens of thousands of these; a validated model per row costs more
    than the screen's whole first paint, so lists use this instead of ``Device``.
    """

    device_id: str
    protocol: Protocol
    name: str
    state: DeviceState
    seq: int


class SegmentSummary(Frozen):
    segment: SegmentController
    capacity: int
    licensed: int
    unlicensed: int
    unprovisioned: int
    provisioned: int
    maintenance_covered: int
    maintenance_shortfall: int
    next_step: str | None = Field(description="What to do when the segment has no capacity")


class CloudOffer(Frozen):
    """The Download view of one segment: what the cloud holds for its Customer ID."""

    segment: SegmentController
    licenses: list[CloudLicense]
    empty_reason: str | None = None


class Failure(Frozen):
    license_id: UUID
    code: str
    reason: str


class ActivationResult(Frozen):
    op_id: UUID
    activated: list[UUID]
    already_active: list[UUID] = []
    failed: list[Failure] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return bool(self.activated)


class TransferResult(Frozen):
    op_id: UUID
    returned: list[UUID]
    failed: list[Failure] = []
    devices_unlicensed: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return True  # the licenses left the controller first, whatever the cloud answered


class AddLicenseResult(Frozen):
    segment: SegmentController
    added: list[UUID]
    devices_relicensed: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return bool(self.added)


class ProvisionResult(Frozen):
    provisioned: list[str]
    refused: dict[str, str]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return bool(self.provisioned)


class SyncReport(Frozen):
    healed_operations: list[UUID] = []
    adopted: list[UUID] = []
    removed: list[UUID] = []
    returned: list[UUID] = []
    credited: list[UUID] = Field(
        default_factory=list, description="Licenses returned offline whose receipt the cloud credited"
    )
    skipped: dict[str, str] = Field(default_factory=dict, description="segment -> why it was not synced")
    audit_anchored: int | None = Field(
        default=None, description="The audit entry count the cloud now anchors (None: not anchored)"
    )
    audit_warning: str | None = Field(default=None, description="Why the audit head was not anchored")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        return bool(self.healed_operations or self.adopted or self.removed or self.returned)

    failed: dict[str, str] = Field(
        default_factory=dict, description="segment -> what failed; the other segments were synced"
    )
    exit_code: int = Field(default=0, description="The CLI exit code of the worst failure (0: none)")


class CancelReturnResult(Frozen):
    """What `offline cancel-return` did: licenses active here again, and those the portal credited first."""

    segment: SegmentController
    restored: list[UUID] = []
    credited: list[UUID] = []


class Notice(Frozen):
    """One thing the technician should know: shown as a banner and by `smartlic status`."""

    kind: Literal["store", "expiry", "shortfall", "no_capacity", "unfinished", "clock", "offline_return"]
    level: StatusLevel
    segment_name: str | None
    license_id: UUID | None = None
    text: str


class StatusReport(Frozen):
    segments: list[SegmentSummary]
    warnings: list[Notice]
    unfinished_operations: int
    alert: bool = Field(description="An expired maintenance license or maintenance short of capacity")


class AuditCheck(Frozen):
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    message: str
    signed_entries: int | None = Field(default=None, description="The entry count of the signed head")
    cloud: Literal["not checked", "matches", "none anchored", "unreachable", "differs"] = "not checked"


class TrustedKey(Frozen):
    """A public key the controller trusts, and where that trust comes from."""

    key_id: str
    source: Literal["trust store", "embedded demo"] = Field(
        description="'embedded demo': trusted in memory only while no cloud URL is set"
    )


class Plan(Frozen):
    """What a mutating command would do (its ``--check``), worked out by the same rules, writing nothing."""

    check: Literal[True] = True
    changed: bool = Field(description="The command would change something")
    changes: list[str] = Field(default_factory=list, description="What would change, one line each")
    unchanged: list[str] = Field(default_factory=list, description="What is in effect already")
    refused: dict[str, str] = Field(default_factory=dict, description="What would be refused, and why")
