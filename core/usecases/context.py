"""What every use case shares: the Context (store, cloud, trust store, clock, audit) and pure helpers."""

from __future__ import annotations

import logging
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from core import rules
from core.cloud import CloudClient
from core.errors import InvalidAnswer, NotFound, Refused, SignatureInvalid, SmartlicError, StoreUnavailable
from core.models import (
    Clock,
    CloudTime,
    JournalEntry,
    License,
    LicenseGrant,
    LicenseTerms,
    SegmentController,
    SignedDocument,
)
from core.signing import TrustStore
from core.store import Store, Tx
from core.usecases.audit_anchor import sign_new_head

log = logging.getLogger(__name__)
Progress = Callable[[str, float], None]
TRUSTED_TIME_KEY = "trusted_time"
SIGNED_TIME_KEY = "signed_cloud_time"
CLOCK_TOLERANCE = timedelta(hours=24)
# A local clock this far past the cloud's last signed time is not believed enough to be recorded
# (it would hold expiry at that time for good): it is shown as a warning instead.
FAR_AHEAD = timedelta(days=90)
TIME_RECORD_STEP = timedelta(minutes=1)


def quiet(_message: str, _fraction: float) -> None:
    """Progress sink for callers that show none."""


def default_actor(face: str) -> str:
    """Who acts, for the audit log: the process's user (not USER or LOGNAME, which anyone can set),
    the SSH client's address as an unverified hint (it is an environment variable too), the face."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    origin = os.environ.get("SSH_CLIENT", "").split(" ")[0]
    origin = origin if 0 < len(origin) <= 45 and all(c in "0123456789abcdefABCDEF.:" for c in origin) else ""
    return f"{user} (from {origin}, unverified) ({face})" if origin else f"{user} ({face})"


@dataclass(frozen=True, slots=True)
class Context:
    """What every use case depends on, and the steps they share; built once, by core.wiring."""

    store: Store
    cloud: CloudClient
    trust: TrustStore
    clock: Clock
    actor: str = "smartlic"
    expiring_days: int = rules.DEFAULT_EXPIRING_DAYS
    warning_days: tuple[int, ...] = rules.DEFAULT_WARNING_DAYS

    def segment_with_customer(self, ref: str) -> SegmentController:
        with self.store.read() as tx:
            seg = find_segment(tx, ref)
        if seg.customer_id is None:
            raise Refused(
                f"No Customer ID is set for {seg.name}.",
                hint="Set it in Manage Customer Accounts (or `smartlic accounts set`).",
                code="no_customer_id",
            )
        return seg

    def verify_grant(self, document: SignedDocument, seg: SegmentController) -> LicenseGrant:
        return grant_for(self.trust.verify(document), seg)

    def verify_grants(
        self, documents: list[SignedDocument], seg: SegmentController
    ) -> dict[UUID, tuple[LicenseGrant, SignedDocument]]:
        """Every document verified (in one batch) and bound to ``seg``, by license id; the first
        that fails is raised, so a forged view is refused whole."""
        grants: dict[UUID, tuple[LicenseGrant, SignedDocument]] = {}
        for document, payload in zip(documents, self.trust.verify_batch(documents), strict=True):
            if isinstance(payload, SignatureInvalid):
                raise payload
            grant = grant_for(payload, seg)
            grants[grant.license_id] = (grant, document)
        return grants

    def relicense(self, tx: Tx, install_code: str) -> int:
        """Apply the segment's capacity to its devices; returns how many changed state."""
        changes = rules.relicense_plan(
            tx.device_ranks(install_code), rules.capacity(tx.standings(install_code))
        )
        tx.set_device_states(changes)
        return len(changes)

    def effective_now(self) -> tuple[datetime, bool]:
        """The time expiry is judged by, and whether the clock is behind the highest time seen.

        Turning the clock back more than a day must not bring an expired license back, so the
        highest time ever recorded in the store wins when the clock is that far behind it. That
        record is anchored to the cloud's signed time (see ``anchor_cloud_time``).
        """
        now = self.clock()
        with self.store.read() as tx:
            seen = tx.meta_get(TRUSTED_TIME_KEY)
        trusted = datetime.fromisoformat(seen) if seen else None
        if trusted and now < trusted - CLOCK_TOLERANCE:
            return trusted, True
        return now, False

    def signed_cloud_time(self) -> datetime | None:
        """The newest signed time the cloud sent, if any."""
        with self.store.read() as tx:
            seen = tx.meta_get(SIGNED_TIME_KEY)
        return datetime.fromisoformat(seen) if seen else None

    def remember_time(self) -> None:
        """Record the clock as seen (monitoring calls status daily); best effort, never fails a read:
        skipped in read-only mode and when the store cannot be written (a full disk)."""
        if self.store.read_only:
            return
        now = self.clock()
        with self.store.read() as tx:
            seen = tx.meta_get(TRUSTED_TIME_KEY)
        # Every TUI refresh asks for status: take the write lock only when the record is stale.
        if seen and now - datetime.fromisoformat(seen) < TIME_RECORD_STEP:
            return
        try:
            with self.store.write() as tx:
                raise_trusted_time(tx, now)
        except StoreUnavailable as exc:
            log.warning("the time was not recorded: %s", exc.message)

    def cloud_time(self, document: SignedDocument | None) -> datetime | None:
        """The time in a signed CloudTime document, if it verifies; an unverifiable one is ignored."""
        if document is None:
            return None
        try:
            return CloudTime.model_validate(self.trust.verify(document)).time
        except (SmartlicError, ValidationError) as exc:
            log.warning("the cloud's signed time was not used: %s", exc)
            return None

    def audit(
        self, tx: Tx, operation: str, install_code: str | None, detail: dict[str, Any], result: str
    ) -> None:
        raise_trusted_time(tx, self.clock())
        entry = tx.audit(
            actor=self.actor,
            operation=operation,
            install_code=install_code,
            detail=detail,
            result=result,
            at=self.clock(),
        )
        sign_new_head(tx, entry)


def grant_for(payload: dict[str, Any], seg: SegmentController) -> LicenseGrant:
    """The grant in a verified ``payload``, if it is bound to ``seg`` and its customer."""
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


def find_segment(tx: Tx, ref: str | None) -> SegmentController:
    seg = tx.segment(ref) if ref else None
    if seg is None:
        known = ", ".join(f"{s.name} ({s.install_code})" for s in tx.segments())
        raise NotFound(
            f"No segment controller is called {ref!r}.",
            hint=f"Use a name or install code: {known}.",
            code="segment_not_found",
        )
    return seg


def stored_license(
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


def raise_trusted_time(tx: Tx, now: datetime) -> None:
    """Record the local clock as seen, unless it is far past the cloud's last signed time."""
    signed = tx.meta_get(SIGNED_TIME_KEY)
    if signed and now > datetime.fromisoformat(signed) + FAR_AHEAD:
        return
    seen = tx.meta_get(TRUSTED_TIME_KEY)
    if not seen or datetime.fromisoformat(seen) < now:
        tx.meta_set(TRUSTED_TIME_KEY, now.isoformat())


def anchor_cloud_time(tx: Tx, cloud_time: datetime | None) -> None:
    """Anchor trusted time to a newer signed cloud time: it raises the record, and it undoes a
    record that a wrong local clock pushed more than a day past it (the clock was ahead, not the
    world), so a run with the clock in 2099 does not expire licenses for good."""
    if cloud_time is None:
        return
    signed = tx.meta_get(SIGNED_TIME_KEY)
    if signed and cloud_time <= datetime.fromisoformat(signed):
        return  # an older answer replayed (Idempotency-Key): it says nothing new
    tx.meta_set(SIGNED_TIME_KEY, cloud_time.isoformat())
    seen = tx.meta_get(TRUSTED_TIME_KEY)
    trusted = datetime.fromisoformat(seen) if seen else None
    if trusted is None or trusted < cloud_time or trusted > cloud_time + CLOCK_TOLERANCE:
        tx.meta_set(TRUSTED_TIME_KEY, cloud_time.isoformat())


def op_detail(op: JournalEntry) -> dict[str, Any]:
    return {"op_id": str(op.op_id), "license_ids": [str(i) for i in op.license_ids]}


def str_or_none(value: UUID | None) -> str | None:
    return str(value) if value else None
