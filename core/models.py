"""Domain types shared by the controller, the cloud client, the mock cloud and the faces."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

MAX_DEVICES = 1_000_000
"""No license covers more devices than this; larger counts are refused as malformed."""

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC. Injected everywhere so tests can fix it."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class LicenseKind(StrEnum):
    CAPACITY = "capacity"
    MAINTENANCE = "maintenance"


class Protocol(StrEnum):
    LON = "LON"
    BACNET = "BACnet"
    MODBUS = "Modbus"


class DeviceState(StrEnum):
    """The CMS flow's three device states; the colour names are the CMS's."""

    UNLICENSED = "unlicensed"  # purple
    UNPROVISIONED = "unprovisioned"  # blue
    PROVISIONED = "provisioned"  # green


class StatusLevel(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


class SegmentController(Frozen):
    name: str
    install_code: str
    customer_id: UUID | None = None


class Device(Frozen):
    device_id: str
    install_code: str
    protocol: Protocol
    name: str
    seq: int = Field(description="Order in which the device was added; breaks ties in relicensing")
    state: DeviceState

    @property
    def licensed(self) -> bool:
        return self.state is not DeviceState.UNLICENSED


class LicenseTerms(Frozen):
    """What a license grants, independent of where it is active."""

    license_id: UUID
    kind: LicenseKind
    devices: int = Field(gt=0, le=MAX_DEVICES)
    term_years: int | None = Field(
        default=None, ge=1, le=10, description="1 or 3 for maintenance, None for capacity"
    )
    expires_on: date | None = Field(default=None, description="Last valid day of a maintenance license")


class SignedDocument(Frozen):
    """A payload signed by the cloud (Ed25519 over canonical JSON), kept on the device as received."""

    payload: dict[str, Any]
    key_id: str
    signature: str


class LicenseGrant(LicenseTerms):
    """The payload of a signed license document: the terms bound to one customer and install code."""

    type: Literal["smartlic.license.v1"] = "smartlic.license.v1"
    customer_id: UUID
    install_code: str
    issued_at: datetime


class License(Frozen):
    """A license active on (or being returned from) a segment controller."""

    terms: LicenseTerms
    install_code: str
    activated_at: datetime
    note: str = ""
    document: SignedDocument
    return_pending: bool = False

    @property
    def license_id(self) -> UUID:
        return self.terms.license_id


class CloudLicense(LicenseTerms):
    """A license as the cloud lists it for a customer (the Download view)."""

    earmarked_install_code: str | None = None
    transfer_date: date | None = Field(
        default=None, description="When the license was assigned, or returned to the cloud"
    )
    description: str


class CloudLicensePage(Frozen):
    items: list[CloudLicense]
    total: int
    next_offset: int | None = None


# The most license ids one activate or transfer call may carry: what a cloud that does not
# advertise its own limit (GET /api/v1/capabilities) is assumed to accept.
MAX_BATCH = 5000


class LicenseIdBatch(Frozen):
    # Built at once: FastAPI wraps it with a field alias, which a deferred model would ignore (and warn).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=False)

    license_ids: list[UUID] = Field(min_length=1, max_length=MAX_BATCH)


class Capabilities(Frozen):
    """What the cloud advertises about itself; clients split their batches at ``max_batch``."""

    max_batch: int = Field(ge=1, le=MAX_BATCH, description="The most license ids in one activate or transfer")


class CloudTime(Frozen):
    """The payload of the signed time the cloud puts into its answers (trusted time, see context)."""

    type: Literal["smartlic.cloud-time.v1"] = "smartlic.cloud-time.v1"
    time: datetime


class ActivationOutcome(Frozen):
    license_id: UUID
    ok: bool
    document: SignedDocument | None = None
    code: str | None = None
    reason: str | None = None


class ActivationAnswer(Frozen):
    results: list[ActivationOutcome]
    time: SignedDocument | None = Field(default=None, description="A signed CloudTime payload")


class TransferOutcome(Frozen):
    license_id: UUID
    ok: bool
    code: str | None = None
    reason: str | None = None


class TransferAnswer(Frozen):
    results: list[TransferOutcome]
    time: SignedDocument | None = Field(default=None, description="A signed CloudTime payload")


class InstallView(Frozen):
    """What the cloud holds as active on one install code, for reconciliation."""

    install_code: str
    documents: list[SignedDocument]
    time: SignedDocument | None = Field(default=None, description="A signed CloudTime payload")


class Problem(BaseModel):
    """RFC 9457 problem document with a stable machine-readable code."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str


class DemoInfo(Frozen):
    customer_id: UUID
    partner_name: str


class OperationKind(StrEnum):
    ACTIVATE = "activate"
    TRANSFER = "transfer"
    CANCEL_RETURN = "cancel-return"


class JournalEntry(Frozen):
    """An operation that touches the cloud, written before the first request and closed after."""

    op_id: UUID = Field(description="Also the Idempotency-Key of every request of the operation")
    kind: OperationKind
    install_code: str
    customer_id: UUID
    license_ids: list[UUID]
    created_at: datetime
    phase: str = "started"


class AuditEntry(Frozen):
    """One line of the append-only, hash-chained audit log."""

    seq: int
    at: datetime
    actor: str
    operation: str
    install_code: str | None
    detail: dict[str, Any]
    result: str
    prev_hash: str
    hash: str


# --- offline activation files ----------------------------------------------------------------
# Each file is a SignedDocument (JSON) whose payload is one of these. Requests and return receipts
# are signed by the controller's own key; responses by the cloud's.


class OfflineRequest(Frozen):
    type: Literal["smartlic.offline-request.v1"] = "smartlic.offline-request.v1"
    request_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Random 128 bits, hex")
    install_code: str
    customer_id: UUID
    segment_name: str
    created_at: datetime
    device_public_key: str = Field(description="PEM of the controller's Ed25519 public key")


class OfflineResponse(Frozen):
    type: Literal["smartlic.offline-response.v1"] = "smartlic.offline-response.v1"
    request_id: str
    install_code: str
    customer_id: UUID
    issued_at: datetime
    licenses: list[SignedDocument] = Field(description="Signed LicenseGrant documents")


class ReturnReceipt(Frozen):
    type: Literal["smartlic.offline-return.v1"] = "smartlic.offline-return.v1"
    receipt_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    install_code: str
    customer_id: UUID
    created_at: datetime
    license_ids: list[UUID] = Field(min_length=1)
    device_public_key: str


class ReceiptState(Frozen):
    """What the cloud did with a return receipt: credited at the portal, or cancelled by its controller."""

    receipt_id: str
    state: Literal["credited", "cancelled"]
    license_ids: list[UUID] = Field(default_factory=list, description="The licenses it credited, if any")
