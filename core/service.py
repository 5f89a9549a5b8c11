"""LicenseService: the one API that the TUI and the CLI call; this file lists all of it.

Reads are synchronous (local SQLite). Anything that talks to the cloud is async and takes an
optional ``progress(message, fraction)`` callback. Every rule comes from core.rules; every change
is one store transaction with its audit entry. The use cases are functions of a Context in
core.usecases, one module per group; each method here is a one-line delegate to one of them.
core.wiring builds the Context and this facade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from core.notify.inputs import parse_addresses, parse_thresholds
from core.usecases import audit_anchor, local, notify, offline_activation, online, plans, reads, status
from core.usecases.context import Context, Progress, default_actor, quiet

if TYPE_CHECKING:
    from core.models import (
        AuditEntry,
        CloudLicense,
        DemoInfo,
        Device,
        JournalEntry,
        OfflineRequest,
        ReturnReceipt,
        SegmentController,
    )
    from core.notify.config import NotificationSettings
    from core.settings import Settings
    from core.usecases.notify import NotificationConfig, NotifyReport
    from core.views import (
        ActivationResult,
        AddLicenseResult,
        AuditCheck,
        CancelReturnResult,
        CloudOffer,
        DeviceRow,
        LicenseRow,
        Plan,
        ProvisionResult,
        SegmentSummary,
        StatusReport,
        SyncReport,
        TransferResult,
        TrustedKey,
    )

__all__ = ["Context", "LicenseService", "Progress", "default_actor"]


class LicenseService:
    """Segments, licenses, devices; activation online and offline; transfer; sync; status.

    ``context`` is what the use cases run on. It is public for tests only: the faces and the bench
    use the methods below (and core.wiring's hooks), never the store, cloud or clock inside it.
    """

    def __init__(self, context: Context) -> None:
        self.context = context

    async def aclose(self) -> None:
        """Close the cloud client and the store."""
        await self.context.cloud.aclose()
        self.context.store.close()

    # --- the controller and the clock --------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """The store opened in safe mode: reads work, every change is refused."""
        return self.context.store.read_only

    @property
    def safe_mode_reason(self) -> str | None:
        """Why the store is read-only (one sentence), or None."""
        return self.context.store.safe_mode_reason

    @property
    def safe_mode_hint(self) -> str | None:
        """What to do about it (never a step that loses install codes or Customer IDs), or None."""
        return self.context.store.safe_mode_hint

    def today(self) -> date:
        """The date by the controller's clock (for default file names)."""
        return self.context.clock().date()

    # --- reads -------------------------------------------------------------------------------

    def segments(self) -> list[SegmentController]:
        """Every segment controller, in the store's order."""
        return reads.segments(self.context)

    def segment(self, ref: str) -> SegmentController:
        """The segment called ``ref`` (name or install code); NotFound names the known ones."""
        return reads.segment(self.context, ref)

    def license_rows(self, ref: str | None = None) -> list[LicenseRow]:
        """Licenses as Manage Licenses shows them: of one segment, or (None) of all."""
        return reads.license_rows(self.context, ref)

    def summaries(self) -> list[SegmentSummary]:
        """Per segment: capacity, device counts by state, maintenance coverage, the next step."""
        return reads.summaries(self.context)

    def devices(self, ref: str | None = None) -> list[Device]:
        """Devices of one segment, or (None) of all."""
        return reads.devices(self.context, ref)

    def device_rows(
        self, ref: str, *, after_seq: int | None = None, limit: int | None = None
    ) -> list[DeviceRow]:
        """One segment's devices as light rows, in ``seq`` order; a page after ``after_seq`` when given."""
        return reads.device_rows(self.context, ref, after_seq=after_seq, limit=limit)

    def journal(self) -> list[JournalEntry]:
        """Unfinished operations (healed by sync)."""
        return reads.journal(self.context)

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        """The audit log, oldest first (at most ``limit`` of the newest when given)."""
        return reads.audit_entries(self.context, limit)

    # --- changes on the controller -----------------------------------------------------------

    @staticmethod
    def customer_id_problem(text: str) -> str | None:
        """Why ``text`` would be refused by set_customer_id, for checking as the user types."""
        return local.customer_id_problem(text)

    def set_customer_id(self, ref: str, text: str, expected: str | None = None) -> SegmentController:
        """Set (or, with an empty ``text``, clear) the segment's Customer ID. With ``expected`` (the
        value the edit started from, "" for none) it is refused with ChangedMeanwhile when the stored
        one differs."""
        return local.set_customer_id(self.context, ref, text, expected)

    def set_note(self, license_id: UUID, note: str, expected: str | None = None) -> None:
        """Set a license's Note (printable characters, at most 500); ``expected`` as for Customer IDs."""
        return local.set_note(self.context, license_id, note, expected)

    def provision(self, ref: str, device_ids: Sequence[str] | None) -> ProvisionResult:
        """Provision the given devices, or (``None``) every licensed unprovisioned one."""
        return local.provision(self.context, ref, device_ids)

    def trust_add(self, pem: bytes) -> str:
        """Trust a cloud signing key (PEM); returns its key id."""
        return local.trust_add(self.context, pem)

    def trust_list(self) -> list[TrustedKey]:
        """Every trusted key: the trust store's files, then the embedded demo's (in memory only)."""
        return local.trust_list(self.context)

    def trust_remove(self, key_id: str, reason: str = "removed by the user") -> None:
        """Stop trusting ``key_id`` (audited); the embedded demo's key cannot be removed."""
        local.trust_remove(self.context, key_id, reason)

    # --- online: the cloud -------------------------------------------------------------------

    async def demo_info(self) -> DemoInfo:
        """The demo cloud's Customer ID and partner name."""
        return await online.demo_info(self.context)

    async def customer_id_warning(self, ref: str) -> str | None:
        """A warning when the cloud does not know the segment's Customer ID; None when it does or
        cannot be reached."""
        return await online.customer_id_warning(self.context, ref)

    async def cloud_licenses(
        self, ref: str, on_page: Callable[[list[CloudLicense], int], None] | None = None
    ) -> CloudOffer:
        """The licenses the cloud holds for the segment's Customer ID and that it may activate."""
        return await online.cloud_licenses(self.context, ref, on_page)

    async def activate(
        self, ref: str, license_ids: Sequence[UUID], progress: Progress = quiet
    ) -> ActivationResult:
        """Activate the licenses on the segment: journal, one batched request, verify, store."""
        return await online.activate(self.context, ref, license_ids, progress)

    async def transfer(self, ref: str, progress: Progress = quiet) -> TransferResult:
        """Return every license of the segment to the cloud. The device gives them up first."""
        return await online.transfer(self.context, ref, progress)

    async def sync(self, progress: Progress = quiet) -> SyncReport:
        """Finish unfinished operations, then make each segment agree with the cloud's view."""
        return await online.sync(self.context, progress)

    async def resume_if_needed(self) -> SyncReport | None:
        """Heal an interrupted operation at start-up; None when there was nothing to heal."""
        return await online.resume_if_needed(self.context)

    # --- offline: files carried by hand ------------------------------------------------------

    def offline_request(self, ref: str, path: Path, force: bool = False) -> OfflineRequest:
        """Write a signed offline activation request for the segment to ``path``."""
        return offline_activation.offline_request(self.context, ref, path, force)

    def add_license_file(self, path: Path) -> AddLicenseResult:
        """Import a license response file: every license in it, or none."""
        return offline_activation.add_license_file(self.context, path)

    def offline_return(self, ref: str, path: Path, force: bool = False) -> ReturnReceipt:
        """Take every license off the segment, then write a signed return receipt to ``path``."""
        return offline_activation.offline_return(self.context, ref, path, force)

    async def cancel_return(self, ref: str) -> CancelReturnResult:
        """Take the segment's offline return back (the cloud voids the receipt), audited."""
        return await offline_activation.cancel_return(self.context, ref)

    # --- status and support ------------------------------------------------------------------

    def status(self) -> StatusReport:
        """Segments and notices: expiry, maintenance shortfall, no capacity, store, clock, journal."""
        return status.status(self.context)

    def audit_verify(self) -> AuditCheck:
        """Check the hash chain of the audit log and its signed head, locally; names the first bad entry."""
        return status.audit_verify(self.context)

    async def audit_verify_with_cloud(self) -> AuditCheck:
        """``audit_verify``, then against the head the cloud anchored (said when it is unreachable)."""
        return await audit_anchor.verify_with_cloud(self.context, status.audit_verify(self.context))

    def diagnostics(self, path: Path, settings: Settings, force: bool = False) -> Path:
        """Write a support bundle (JSON, no secrets; mode 0600) to ``path``."""
        return status.diagnostics(self.context, path, settings, force)

    # --- notifications -----------------------------------------------------------------------

    @staticmethod
    def parse_recipients(text: str) -> list[str]:
        """E-mail addresses separated by commas or spaces; ValueError names the first bad one."""
        return parse_addresses(text)

    @staticmethod
    def parse_thresholds(text: str) -> list[int]:
        """Days before expiry separated by commas or spaces, largest first; ValueError says why not."""
        return parse_thresholds(text)

    def notification_config(self, settings: NotificationSettings) -> NotificationConfig:
        """Recipients, thresholds and channels `notify` uses, and where each value comes from."""
        return notify.config(self.context, settings)

    def set_notification_overrides(
        self, settings: NotificationSettings, email_to: list[str] | None, thresholds: list[int] | None
    ) -> NotificationConfig:
        """Keep recipients and thresholds in the store over the settings; None: the settings' again."""
        return notify.set_overrides(self.context, settings, email_to, thresholds)

    def notify(self, settings: NotificationSettings, *, dry_run: bool = False) -> NotifyReport:
        """Send each notice not sent yet (per license and threshold, on expiry, on a shortfall) once."""
        return notify.notify(self.context, settings, dry_run=dry_run)

    def notify_test(self, settings: NotificationSettings) -> NotifyReport:
        """Send one test message on every configured channel now (blocking: run it off the UI thread)."""
        return notify.notify_test(self.context, settings)

    # --- dry runs (--check): what a change would do, by the same rules, writing nothing --------

    def plan_customer_id(self, ref: str, text: str) -> Plan:
        """What set_customer_id would change (refused as it would be)."""
        return plans.customer_id(self.context, ref, text)

    async def plan_activate(self, ref: str, license_ids: Sequence[UUID]) -> Plan:
        """Which licenses activate would send, which are active already, which the cloud does not offer."""
        return await plans.activate(self.context, ref, license_ids)

    def plan_transfer(self, ref: str) -> Plan:
        """The licenses transfer would return and how many devices would become unlicensed."""
        return plans.transfer(self.context, ref)

    def plan_provision(self, ref: str, device_ids: Sequence[str] | None) -> Plan:
        """The devices provision would provision, and those it would refuse."""
        return plans.provision(self.context, ref, device_ids)

    async def plan_sync(self) -> Plan:
        """The operations sync would finish and the licenses it would adopt or remove (reads the cloud)."""
        return await plans.sync(self.context)

    def plan_trust_add(self, pem: bytes) -> Plan:
        """Whether trust_add would add the key."""
        return plans.trust_add(self.context, pem)
