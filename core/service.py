"""LicenseService: the use cases. The one API that the TUI and the CLI call.

Reads are synchronous (local SQLite). Anything that talks to the cloud is async and takes an
optional ``progress(message, fraction)`` callback. Every rule comes from core.rules; every change
is one store transaction with its audit entry.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from pydantic import ValidationError

from core import diagnostics, offline, rules
from core.cloud import CloudClient
from core.crashpoints import crashpoint
from core.errors import InvalidAnswer, InvalidInput, NotFound, Refused, SignatureInvalid
from core.models import (
    ActivationAnswer,
    AuditEntry,
    Clock,
    CloudLicense,
    DemoInfo,
    Device,
    DeviceState,
    JournalEntry,
    License,
    LicenseGrant,
    LicenseKind,
    LicenseTerms,
    OfflineRequest,
    OperationKind,
    ReturnReceipt,
    SegmentController,
    SignedDocument,
    StatusLevel,
)
from core.settings import Settings
from core.signing import Signer, TrustStore
from core.store import Store, Tx, verify_audit_chain
from core.views import (
    ActivationResult,
    AddLicenseResult,
    AuditCheck,
    CloudOffer,
    Failure,
    LicenseRow,
    Notice,
    ProvisionResult,
    SegmentSummary,
    StatusReport,
    SyncReport,
    TransferResult,
)

Progress = Callable[[str, float], None]
TRUSTED_TIME_KEY = "trusted_time"
CLOCK_TOLERANCE = timedelta(hours=24)


def _quiet(_message: str, _fraction: float) -> None:
    """Progress sink for callers that show none."""


def default_actor(face: str) -> str:
    """Who acts, for the audit log: the login, where from, and through which face."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    origin = os.environ.get("SSH_CLIENT", "").split(" ")[0] or "local"
    return f"{user}@{origin} ({face})"


class LicenseService:
    def __init__(
        self,
        store: Store,
        cloud: CloudClient,
        trust: TrustStore,
        *,
        clock: Clock,
        expiring_days: int = rules.DEFAULT_EXPIRING_DAYS,
        warning_days: Sequence[int] = rules.DEFAULT_WARNING_DAYS,
        actor: str = "smartlic",
    ) -> None:
        self.store = store
        self.cloud = cloud
        self.trust = trust
        self.clock = clock
        self.expiring_days = expiring_days
        self.warning_days = tuple(warning_days)
        self.actor = actor

    async def aclose(self) -> None:
        await self.cloud.aclose()
        self.store.close()

    # --- reads -------------------------------------------------------------------------------

    def segments(self) -> list[SegmentController]:
        with self.store.read() as tx:
            return tx.segments()

    def segment(self, ref: str) -> SegmentController:
        with self.store.read() as tx:
            return _segment(tx, ref)

    def license_rows(self, ref: str | None = None) -> list[LicenseRow]:
        today = self._effective_now()[0].date()
        with self.store.read() as tx:
            names = {s.install_code: s.name for s in tx.segments()}
            install_code = _segment(tx, ref).install_code if ref else None
            licenses = tx.licenses(install_code)
        return [self._row(lic, names.get(lic.install_code, lic.install_code), today) for lic in licenses]

    def _row(self, lic: License, segment_name: str, today: rules.date) -> LicenseRow:
        terms = lic.terms
        state = rules.status(terms, today, self.expiring_days)
        return LicenseRow(
            segment_name=segment_name,
            install_code=lic.install_code,
            license_id=terms.license_id,
            kind=terms.kind,
            devices=terms.devices,
            term_years=terms.term_years,
            expires_on=terms.expires_on,
            description=rules.description(terms.kind, terms.devices, terms.term_years),
            status="Returning to cloud" if lic.return_pending else state.text,
            status_level=state.level,
            activated_at=lic.activated_at,
            note=lic.note,
            return_pending=lic.return_pending,
        )

    def summaries(self) -> list[SegmentSummary]:
        today = self._effective_now()[0].date()
        with self.store.read() as tx:
            return [
                _summary(seg, tx.licenses(seg.install_code), tx.devices(seg.install_code), today)
                for seg in tx.segments()
            ]

    def devices(self, ref: str | None = None) -> list[Device]:
        with self.store.read() as tx:
            install_code = _segment(tx, ref).install_code if ref else None
            return tx.devices(install_code)

    def journal(self) -> list[JournalEntry]:
        with self.store.read() as tx:
            return tx.journal()

    def audit_entries(self, limit: int | None = None) -> list[AuditEntry]:
        with self.store.read() as tx:
            return tx.audit_entries(limit)

    def audit_verify(self) -> AuditCheck:
        """Check the hash chain of the audit log; names the first deleted, edited or moved entry."""
        with self.store.read() as tx:
            entries = tx.audit_entries()
            head = tx.audit_head()
        bad = verify_audit_chain(entries)
        if bad is None and head is not None and (not entries or entries[-1].seq < head[0]):
            bad = (entries[-1].seq + 1) if entries else 1
        if bad is None and head is not None and entries and entries[-1].hash != head[1]:
            bad = entries[-1].seq
        if bad is None:
            return AuditCheck(ok=True, entries=len(entries), message=f"All {len(entries)} entries verify.")
        return AuditCheck(
            ok=False,
            entries=len(entries),
            first_bad_seq=bad,
            message=f"The audit log was altered at entry {bad}: it was deleted, edited or moved.",
        )

    def diagnostics(self, path: Path, settings: Settings) -> Path:
        """Write a support bundle (JSON, no secrets) to ``path``."""
        with self.store.read() as tx:
            journal = tx.journal()
            audit = tx.audit_entries()
        bundle = {
            "generated_at": self.clock().isoformat(),
            "versions": diagnostics.versions(),
            "settings": diagnostics.masked_settings(settings),
            "store": {
                "path": str(self.store.path),
                "read_only": self.store.read_only,
                "safe_mode_reason": self.store.safe_mode_reason,
                "integrity_ok": self.store.integrity_ok(),
            },
            "trusted_keys": self.trust.key_ids(),
            "audit_check": self.audit_verify().model_dump(mode="json"),
            "status": self.status().model_dump(mode="json"),
            "journal": [e.model_dump(mode="json") for e in journal],
            "audit": [e.model_dump(mode="json") for e in audit],
        }
        diagnostics.write_bundle(path, bundle)
        return path

    def status(self) -> StatusReport:
        self._remember_time()
        today = self._effective_now()[0].date()
        notices: list[Notice] = []
        summaries = self.summaries()
        with self.store.read() as tx:
            unfinished = len(tx.journal())
            for summary in summaries:
                seg = summary.segment
                for lic in tx.licenses(seg.install_code):
                    if lic.terms.kind is not LicenseKind.MAINTENANCE or lic.return_pending:
                        continue
                    warning = rules.expiry_warning(lic.terms, today, self.warning_days)
                    if warning:
                        what = rules.description(lic.terms.kind, lic.terms.devices, lic.terms.term_years)
                        expired = rules.is_expired(lic.terms, today)
                        notices.append(
                            Notice(
                                kind="expiry",
                                level=StatusLevel.ERROR if expired else StatusLevel.WARNING,
                                segment_name=seg.name,
                                license_id=lic.license_id,
                                text=f"{seg.name}: {what} {warning}.",
                            )
                        )
                if summary.maintenance_shortfall:
                    notices.append(
                        Notice(
                            kind="shortfall",
                            level=StatusLevel.WARNING,
                            segment_name=seg.name,
                            text=f"{seg.name}: maintenance covers {summary.maintenance_covered} of "
                            f"{summary.capacity} devices ({summary.maintenance_shortfall} short).",
                        )
                    )
                if summary.next_step:
                    notices.append(
                        Notice(
                            kind="no_capacity",
                            level=StatusLevel.WARNING,
                            segment_name=seg.name,
                            text=f"{seg.name}: {summary.next_step}",
                        )
                    )
        now, clock_behind = self._effective_now()
        if clock_behind:
            notices.append(
                Notice(
                    kind="clock",
                    level=StatusLevel.WARNING,
                    segment_name=None,
                    text=f"The clock looks wrong: it says {self.clock():%Y-%m-%d %H:%M} but smartlic has "
                    f"already seen {now:%Y-%m-%d %H:%M}. Expiry is judged by the later time; fix the clock.",
                )
            )
        if unfinished:
            notices.append(
                Notice(
                    kind="unfinished",
                    level=StatusLevel.WARNING,
                    segment_name=None,
                    text=f"{unfinished} unfinished operation(s): run `smartlic sync`.",
                )
            )
        alert = any(
            n.kind == "shortfall" or (n.kind == "expiry" and n.level is StatusLevel.ERROR) for n in notices
        )
        return StatusReport(
            segments=summaries, warnings=notices, unfinished_operations=unfinished, alert=alert
        )

    # --- local changes -----------------------------------------------------------------------

    def set_customer_id(self, ref: str, text: str) -> SegmentController:
        """Set (or, with an empty ``text``, clear) the segment's Customer ID."""
        customer_id = None
        if text.strip():
            try:
                customer_id = rules.parse_customer_id(text)
            except ValueError as exc:
                raise InvalidInput(str(exc), code="invalid_customer_id") from exc
        with self.store.write() as tx:
            seg = _segment(tx, ref)
            if seg.customer_id == customer_id:
                return seg
            active = tx.licenses(seg.install_code)
            if active:
                raise Refused(
                    f"{seg.name} still has {len(active)} license(s) under its current Customer ID.",
                    hint="Transfer to Cloud first, then change the Customer ID.",
                    code="licenses_active",
                )
            tx.set_customer_id(seg.install_code, customer_id)
            self._audit(
                tx,
                "set-customer-id",
                seg.install_code,
                {"old": _str(seg.customer_id), "new": _str(customer_id)},
                "ok",
            )
            return seg.model_copy(update={"customer_id": customer_id})

    def set_note(self, license_id: UUID, note: str) -> None:
        clean = "".join(c for c in note if c.isprintable())[:500]
        with self.store.write() as tx:
            lic = tx.license(license_id)
            if lic is None:
                raise NotFound(f"No license {license_id} is active on this controller.")
            tx.set_note(license_id, clean)
            self._audit(tx, "set-note", lic.install_code, {"license_id": str(license_id)}, "ok")

    def provision(self, ref: str, device_ids: Sequence[str] | None) -> ProvisionResult:
        """Provision the given devices, or (``None``) every licensed unprovisioned one."""
        with self.store.write() as tx:
            seg = _segment(tx, ref)
            devices = tx.devices(seg.install_code)
            plan = rules.plan_provisioning(devices, device_ids)
            chosen = set(plan.provision)
            tx.put_devices(
                d.model_copy(update={"state": DeviceState.PROVISIONED})
                for d in devices
                if d.device_id in chosen
            )
            self._audit(
                tx,
                "provision",
                seg.install_code,
                {"provisioned": plan.provision, "refused": plan.refused},
                "ok" if plan.provision or not plan.refused else "refused",
            )
        return ProvisionResult(provisioned=plan.provision, refused=plan.refused)

    def trust_add(self, pem: bytes) -> str:
        key_id = self.trust.add(pem)
        with self.store.write() as tx:
            self._audit(tx, "trust-add", None, {"key_id": key_id}, "ok")
        return key_id

    # --- cloud -------------------------------------------------------------------------------

    async def demo_info(self) -> DemoInfo:
        return await self.cloud.demo_info()

    async def cloud_licenses(
        self, ref: str, on_page: Callable[[list[CloudLicense], int], None] | None = None
    ) -> CloudOffer:
        """The licenses the cloud holds for the segment's Customer ID and that it may activate."""
        seg = self.segment(ref)
        if seg.customer_id is None:
            return CloudOffer(
                segment=seg,
                licenses=[],
                empty_reason=f"No Customer ID is set for {seg.name}: set it in Manage Customer Accounts.",
            )
        offered = await self.cloud.list_licenses(seg.customer_id, seg.install_code, on_page)
        usable = [
            lic
            for lic in offered
            if lic.earmarked_install_code in (None, seg.install_code)
        ]
        reason = None if usable else "The cloud holds no licenses for this Customer ID."
        return CloudOffer(segment=seg, licenses=usable, empty_reason=reason)

    async def activate(
        self, ref: str, license_ids: Sequence[UUID], progress: Progress = _quiet
    ) -> ActivationResult:
        seg = self._segment_with_customer(ref)
        assert seg.customer_id is not None
        wanted = list(dict.fromkeys(license_ids))
        if not wanted:
            raise InvalidInput("Select at least one license to activate.")
        with self.store.read() as tx:
            local = {lic.license_id: lic for lic in tx.licenses(seg.install_code)}
        already = [i for i in wanted if i in local and not local[i].return_pending]
        to_send = [i for i in wanted if i not in already]
        op = JournalEntry(
            op_id=uuid4(),
            kind=OperationKind.ACTIVATE,
            install_code=seg.install_code,
            customer_id=seg.customer_id,
            license_ids=to_send,
            created_at=self.clock(),
        )
        if not to_send:
            return ActivationResult(op_id=op.op_id, activated=[], already_active=already)
        progress("Writing the journal", 0.05)
        with self.store.write() as tx:
            tx.journal_open(op)
            self._audit(tx, "activate", seg.install_code, _op_detail(op), "started")
        crashpoint("after-journal")
        progress(f"Activating {len(to_send)} license(s) in the cloud", 0.15)
        answer = await self.cloud.activate(seg.customer_id, seg.install_code, to_send, op.op_id)
        progress("Verifying the signed license documents", 0.6)
        granted, failed = self._verify_activation(answer, seg, set(to_send))
        progress("Storing the licenses and relicensing devices", 0.8)
        now = self.clock()
        with self.store.write() as tx:
            tx.put_licenses(
                _license(grant, document, seg.install_code, now, local.get(grant.license_id))
                for grant, document in granted
            )
            changed = self._relicense(tx, seg.install_code)
            activated = [grant.license_id for grant, _ in granted]
            self._audit(
                tx,
                "activate",
                seg.install_code,
                {
                    **_op_detail(op),
                    "activated": [str(i) for i in activated],
                    "failed": {str(f.license_id): f.code for f in failed},
                    "devices_relicensed": changed,
                },
                "ok" if not failed else "partial" if activated else "failed",
            )
            crashpoint("mid-transaction")
            tx.journal_close(op.op_id)
        crashpoint("after-commit")
        progress("Done", 1.0)
        return ActivationResult(op_id=op.op_id, activated=activated, already_active=already, failed=failed)

    async def transfer(self, ref: str, progress: Progress = _quiet) -> TransferResult:
        """Return every license of the segment to the cloud. The device gives them up first."""
        seg = self._segment_with_customer(ref)
        assert seg.customer_id is not None
        progress("Taking the licenses off this controller", 0.05)
        with self.store.write() as tx:
            licenses = tx.licenses(seg.install_code)
            if not licenses:
                raise Refused(f"{seg.name} has no licenses to transfer.", code="nothing_to_transfer")
            ids = [lic.license_id for lic in licenses]
            tx.set_return_pending(ids, True)
            unlicensed = self._relicense(tx, seg.install_code)
            op = JournalEntry(
                op_id=uuid4(),
                kind=OperationKind.TRANSFER,
                install_code=seg.install_code,
                customer_id=seg.customer_id,
                license_ids=ids,
                created_at=self.clock(),
            )
            tx.journal_open(op)
            self._audit(tx, "transfer", seg.install_code, _op_detail(op), "started")
        crashpoint("after-journal")
        progress(f"Transferring {len(ids)} license(s) to the cloud", 0.3)
        returned, failed = await self._send_transfer(op)
        progress("Done", 1.0)
        return TransferResult(op_id=op.op_id, returned=returned, failed=failed, devices_unlicensed=unlicensed)

    async def sync(self, progress: Progress = _quiet) -> SyncReport:
        """Finish unfinished operations, then make each segment agree with the cloud's view."""
        report = SyncReport()
        journal = self.journal()
        for index, op in enumerate(journal):
            progress(f"Resuming {op.kind.value} {op.op_id}", index / max(1, len(journal)) * 0.4)
            if op.kind is OperationKind.TRANSFER:
                returned, _ = await self._send_transfer(op, resumed=True)
                report.returned.extend(returned)
            else:
                with self.store.write() as tx:
                    self._audit(tx, "activate", op.install_code, _op_detail(op), "resumed by sync")
                    tx.journal_close(op.op_id)
            report.healed_operations.append(op.op_id)
        segments = self.segments()
        for index, seg in enumerate(segments):
            progress(f"Reconciling {seg.name}", 0.4 + index / max(1, len(segments)) * 0.6)
            if seg.customer_id is None:
                report.skipped[seg.name] = "no Customer ID"
                continue
            adopted, removed = await self._reconcile(seg)
            report.adopted.extend(adopted)
            report.removed.extend(removed)
        progress("Done", 1.0)
        return report

    # --- offline activation ------------------------------------------------------------------

    def offline_request(self, ref: str, path: Path) -> OfflineRequest:
        """Write a signed offline activation request for the segment to ``path``."""
        seg = self._segment_with_customer(ref)
        request_id = offline.new_file_id()
        with self.store.write() as tx:
            signer = self._device_signer(tx, seg.install_code)
            document = offline.make_request(signer, seg, request_id, self.clock())
            tmp = offline.write_document(path, document)
            tx.meta_set(_outstanding_key(seg.install_code), request_id)
            self._audit(tx, "offline-request", seg.install_code, {"request_id": request_id}, "ok")
        offline.put_in_place(tmp, path)
        return OfflineRequest.model_validate(document.payload)

    def add_license_file(self, path: Path) -> AddLicenseResult:
        """Import a license response file: every license in it, or none."""
        document = offline.read_document(path)
        response = offline.response_payload(self.trust.verify(document))
        with self.store.write() as tx:
            seg = tx.segment(response.install_code)
            if seg is None:
                raise Refused(
                    f"This license file is for another controller (install code {response.install_code}).",
                    hint="Use the file made for this controller's request; nothing was changed.",
                    code="foreign_file",
                )
            if seg.customer_id != response.customer_id:
                raise Refused(
                    f"This license file is for another Customer ID than {seg.name}'s.",
                    hint="Check the Customer ID in Manage Customer Accounts; nothing was changed.",
                    code="foreign_file",
                )
            if tx.meta_get(_outstanding_key(seg.install_code)) != response.request_id:
                raise Refused(
                    "This license file answers no outstanding request: it was imported already "
                    "or belongs to an older request.",
                    hint="Make a new offline request if licenses are missing; nothing was changed.",
                    code="request_not_outstanding",
                )
            grants = [(self._verify_grant(doc, seg), doc) for doc in response.licenses]
            now = self.clock()
            tx.put_licenses(_license(grant, doc, seg.install_code, now) for grant, doc in grants)
            changed = self._relicense(tx, seg.install_code)
            tx.meta_delete(_outstanding_key(seg.install_code))
            added = [grant.license_id for grant, _ in grants]
            self._audit(
                tx,
                "add-license",
                seg.install_code,
                {"request_id": response.request_id, "added": [str(i) for i in added], "devices": changed},
                "ok",
            )
        return AddLicenseResult(segment=seg, added=added, devices_relicensed=changed)

    def offline_return(self, ref: str, path: Path) -> ReturnReceipt:
        """Take every license off the segment, then write a signed return receipt to ``path``."""
        seg = self._segment_with_customer(ref)
        receipt_id = offline.new_file_id()
        with self.store.write() as tx:
            licenses = tx.licenses(seg.install_code)
            if not licenses:
                raise Refused(f"{seg.name} has no licenses to return.", code="nothing_to_transfer")
            ids = [lic.license_id for lic in licenses]
            signer = self._device_signer(tx, seg.install_code)
            document = offline.make_receipt(signer, seg, receipt_id, ids, self.clock())
            tmp = offline.write_document(path, document)
            tx.delete_licenses(ids)
            changed = self._relicense(tx, seg.install_code)
            self._audit(
                tx,
                "offline-return",
                seg.install_code,
                {"receipt_id": receipt_id, "license_ids": [str(i) for i in ids], "devices": changed},
                "ok",
            )
        offline.put_in_place(tmp, path)
        return ReturnReceipt.model_validate(document.payload)

    def _device_signer(self, tx: Tx, install_code: str) -> Signer:
        key = f"device_key:{install_code}"
        pem = tx.meta_get(key)
        if pem:
            return Signer.from_pem(pem.encode(), "The controller's key")
        signer = Signer.generate()
        tx.meta_set(key, signer.private_pem().decode())
        return signer

    async def resume_if_needed(self) -> SyncReport | None:
        """Heal an interrupted operation at start-up; None when there was nothing to heal."""
        return await self.sync() if self.journal() else None

    # --- internals ---------------------------------------------------------------------------

    def _segment_with_customer(self, ref: str) -> SegmentController:
        seg = self.segment(ref)
        if seg.customer_id is None:
            raise Refused(
                f"No Customer ID is set for {seg.name}.",
                hint="Set it in Manage Customer Accounts (or `smartlic accounts set`).",
                code="no_customer_id",
            )
        return seg

    def _verify_grant(self, document: SignedDocument, seg: SegmentController) -> LicenseGrant:
        payload = self.trust.verify(document)
        try:
            grant = LicenseGrant.model_validate(payload)
        except ValidationError as exc:
            raise InvalidAnswer("A signed license document has fields smartlic does not understand.") from exc
        if grant.install_code != seg.install_code or grant.customer_id != seg.customer_id:
            raise SignatureInvalid(
                f"A license document is bound to another controller or customer ({grant.license_id}).",
                hint="Nothing was stored. Contact support: the cloud sent a document for someone else.",
            )
        return grant

    def _verify_activation(
        self, answer: ActivationAnswer, seg: SegmentController, requested: set[UUID]
    ) -> tuple[list[tuple[LicenseGrant, SignedDocument]], list[Failure]]:
        """Every document verifies, or nothing is stored: a forged answer is refused whole."""
        granted: list[tuple[LicenseGrant, SignedDocument]] = []
        failed: list[Failure] = []
        for outcome in answer.results:
            if outcome.license_id not in requested:
                raise InvalidAnswer("The license cloud answered for a license that was not asked for.")
            if not outcome.ok or outcome.document is None:
                failed.append(
                    Failure(
                        license_id=outcome.license_id,
                        code=outcome.code or "refused",
                        reason=outcome.reason or "The cloud refused this license.",
                    )
                )
                continue
            grant = self._verify_grant(outcome.document, seg)
            crashpoint("mid-verification")
            if grant.license_id != outcome.license_id:
                raise SignatureInvalid("A license document names another license than the one asked for.")
            granted.append((grant, outcome.document))
        answered = {o.license_id for o in answer.results}
        failed.extend(
            Failure(license_id=i, code="no_answer", reason="The cloud did not answer for this license.")
            for i in sorted(requested - answered, key=str)
        )
        return granted, failed

    async def _send_transfer(
        self, op: JournalEntry, *, resumed: bool = False
    ) -> tuple[list[UUID], list[Failure]]:
        answer = await self.cloud.transfer(op.customer_id, op.install_code, op.license_ids, op.op_id)
        returned: list[UUID] = []
        failed: list[Failure] = []
        for outcome in answer.results:
            # "not_bound": the cloud no longer holds it here, so it is back in the cloud already.
            if outcome.ok or outcome.code == "not_bound":
                returned.append(outcome.license_id)
            else:
                failed.append(
                    Failure(
                        license_id=outcome.license_id,
                        code=outcome.code or "refused",
                        reason=outcome.reason or "The cloud refused this license.",
                    )
                )
        with self.store.write() as tx:
            tx.delete_licenses(returned)
            self._audit(
                tx,
                "transfer",
                op.install_code,
                {
                    **_op_detail(op),
                    "returned": [str(i) for i in returned],
                    "failed": {str(f.license_id): f.code for f in failed},
                },
                ("resumed by sync: " if resumed else "") + ("ok" if not failed else "partial"),
            )
            crashpoint("mid-transaction")
            tx.journal_close(op.op_id)
        crashpoint("after-commit")
        return returned, failed

    async def _reconcile(self, seg: SegmentController) -> tuple[list[UUID], list[UUID]]:
        """Make the segment's licenses equal the cloud's view of its install code."""
        assert seg.customer_id is not None
        view = await self.cloud.install_view(seg.customer_id, seg.install_code)
        grants = {}
        for document in view.documents:
            grant = self._verify_grant(document, seg)
            grants[grant.license_id] = (grant, document)
        now = self.clock()
        with self.store.write() as tx:
            local = {lic.license_id: lic for lic in tx.licenses(seg.install_code)}
            pending_return = {i for i, lic in local.items() if lic.return_pending}
            adopted = [i for i in grants if i not in local]
            removed = [i for i in local if i not in grants]
            tx.put_licenses(
                _license(grant, document, seg.install_code, now)
                for i, (grant, document) in grants.items()
                if i in adopted
            )
            tx.delete_licenses(removed)
            if adopted or removed:
                self._relicense(tx, seg.install_code)
                self._audit(
                    tx,
                    "sync",
                    seg.install_code,
                    {"adopted": [str(i) for i in adopted], "removed": [str(i) for i in removed]},
                    "healed",
                )
        still_pending = pending_return & set(grants)
        if still_pending:
            # The device gave these up but the cloud still holds them here: finish the return.
            op = JournalEntry(
                op_id=uuid4(),
                kind=OperationKind.TRANSFER,
                install_code=seg.install_code,
                customer_id=seg.customer_id,
                license_ids=sorted(still_pending, key=str),
                created_at=now,
            )
            with self.store.write() as tx:
                tx.journal_open(op)
            await self._send_transfer(op, resumed=True)
        return adopted, removed

    def _relicense(self, tx: Tx, install_code: str) -> int:
        """Apply the segment's capacity to its devices; returns how many changed state."""
        devices = tx.devices(install_code)
        after = rules.relicense(devices, rules.capacity(tx.licenses(install_code)))
        changed = [new for old, new in zip(devices, after, strict=True) if new is not old]
        tx.put_devices(changed)
        return len(changed)

    def _effective_now(self) -> tuple[datetime, bool]:
        """The time expiry is judged by, and whether the clock is behind the highest time seen.

        Turning the clock back more than a day must not bring an expired license back, so the
        highest time ever recorded in the store wins when the clock is that far behind it.
        """
        now = self.clock()
        with self.store.read() as tx:
            seen = tx.meta_get(TRUSTED_TIME_KEY)
        trusted = datetime.fromisoformat(seen) if seen else None
        if trusted and now < trusted - CLOCK_TOLERANCE:
            return trusted, True
        return now, False

    def _remember_time(self) -> None:
        """Record the clock as seen (monitoring calls status daily); skipped in read-only mode."""
        if self.store.read_only:
            return
        with self.store.write() as tx:
            _raise_trusted_time(tx, self.clock())

    def _audit(self, tx: Tx, operation: str, install_code: str | None, detail: dict, result: str) -> None:
        _raise_trusted_time(tx, self.clock())
        tx.audit(
            actor=self.actor,
            operation=operation,
            install_code=install_code,
            detail=detail,
            result=result,
            at=self.clock(),
        )


def _segment(tx: Tx, ref: str | None) -> SegmentController:
    seg = tx.segment(ref) if ref else None
    if seg is None:
        known = ", ".join(f"{s.name} ({s.install_code})" for s in tx.segments())
        raise NotFound(
            f"No segment controller is called {ref!r}.",
            hint=f"Use a name or install code: {known}.",
            code="segment_not_found",
        )
    return seg


def _summary(
    seg: SegmentController, licenses: list[License], devices: list[Device], today: rules.date
) -> SegmentSummary:
    coverage = rules.maintenance_coverage(licenses, today)
    counts = rules.state_counts(devices)
    next_step = None
    if coverage.capacity == 0:
        next_step = (
            "No device capacity. Download Licenses from the Cloud and activate a capacity license."
            if seg.customer_id
            else "No device capacity. Set a Customer ID in Manage Customer Accounts, "
            "then Download Licenses from the Cloud."
        )
    return SegmentSummary(
        segment=seg,
        capacity=coverage.capacity,
        licensed=counts[DeviceState.UNPROVISIONED] + counts[DeviceState.PROVISIONED],
        unlicensed=counts[DeviceState.UNLICENSED],
        unprovisioned=counts[DeviceState.UNPROVISIONED],
        provisioned=counts[DeviceState.PROVISIONED],
        maintenance_covered=coverage.covered,
        maintenance_shortfall=coverage.shortfall,
        next_step=next_step,
    )


def _license(
    grant: LicenseGrant,
    document: SignedDocument,
    install_code: str,
    now: datetime,
    old: License | None = None,
) -> License:
    """A verified grant as the controller keeps it; a re-activation keeps the user's Note."""
    return License(
        terms=LicenseTerms(**grant.model_dump(include=set(LicenseTerms.model_fields))),
        install_code=install_code,
        activated_at=now,
        note=old.note if old else "",
        document=document,
    )


def _raise_trusted_time(tx: Tx, now: datetime) -> None:
    seen = tx.meta_get(TRUSTED_TIME_KEY)
    if not seen or datetime.fromisoformat(seen) < now:
        tx.meta_set(TRUSTED_TIME_KEY, now.isoformat())


def _outstanding_key(install_code: str) -> str:
    return f"offline_request:{install_code}"


def _op_detail(op: JournalEntry) -> dict:
    return {"op_id": str(op.op_id), "license_ids": [str(i) for i in op.license_ids]}


def _str(value: UUID | None) -> str | None:
    return str(value) if value else None
