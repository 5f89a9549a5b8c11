"""Start-up wiring: settings -> store -> cloud client (embedded demo or real URL) -> service.

This is the one place that chooses the embedded mock cloud; the service never knows which it has.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

from core.clock import utc_now
from core.cloud import CloudClient
from core.device_keys import signer_source
from core.errors import StoreUnavailable
from core.models import Clock
from core.service import Context, LicenseService, default_actor
from core.settings import Settings
from core.signing import TrustStore
from core.store import Store

if TYPE_CHECKING:
    import httpx

    from core.store.recovery import Salvage

EMBEDDED_BASE_URL = "http://embedded-cloud"


def build_service(
    settings: Settings,
    *,
    face: str,
    clock: Clock = utc_now,
    rng: random.Random | None = None,
    store_type: type[Store] = Store,
    cloud_type: type[CloudClient] = CloudClient,
) -> LicenseService:
    """The service over the store, trust store and cloud that ``settings`` name.

    ``store_type`` and ``cloud_type`` are the bench's hook: subclasses that time or count their
    calls, built here exactly as the defaults would be. Everything else leaves them as they are.
    """
    _make_private_dir(settings.data_dir)
    store = store_type.open(settings.store_path, clock=clock, rng=rng)
    trust = TrustStore(settings.trust_dir)
    signer_for = signer_source(store)
    if settings.cloud_url:
        cloud = cloud_type(
            settings.cloud_url,
            timeout=settings.timeout,
            retries=settings.retries,
            signer_for=signer_for,
            clock=clock,
        )
    else:
        _trust_embedded_key(settings, trust)
        cloud = cloud_type(
            EMBEDDED_BASE_URL,
            # Built on the first request, so start-up pays neither for httpx nor for FastAPI.
            transport_factory=lambda: _embedded_transport(settings, store, trust, clock, rng),
            timeout=settings.timeout,
            retries=settings.retries,
            signer_for=signer_for,
            clock=clock,
        )
    context = Context(
        store,
        cloud,
        trust,
        clock,
        actor=default_actor(face),
        expiring_days=settings.expiring_days,
        warning_days=tuple(settings.expiry_warning_days),
    )
    service = LicenseService(context)
    if settings.cloud_url and not store.read_only:
        for key_id in _written_demo_keys(settings):
            service.trust_remove(key_id, reason="the embedded demo's key; a cloud URL is set")
    return service


def _demo_key_pem(settings: Settings) -> bytes | None:
    key = settings.embedded_cloud_dir / "cloud_key.pub"
    return key.read_bytes() if key.is_file() else None


def recover_store(settings: Settings, *, clock: Clock = utc_now) -> Salvage:
    """Rebuild a damaged store (kept as a dated backup) from what can still be read; the caller
    then syncs with the cloud and puts the notes back (``Salvage.notes``)."""
    from core.store.recovery import rebuild

    _make_private_dir(settings.data_dir)
    return rebuild(settings.store_path, clock=clock)


def _trust_embedded_key(settings: Settings, trust: TrustStore) -> None:
    """Trust the demo cloud's key as soon as it exists, even before the cloud is first called.

    An offline response made by `smartlic-cloud portal fulfil` must verify in a process that has
    not talked to the embedded cloud yet. Only for this process: never written to the trust folder.
    """
    pem = _demo_key_pem(settings)
    if pem is not None:
        trust.trust_for_this_process(pem)


def _written_demo_keys(settings: Settings) -> list[str]:
    """Ids of trust-folder files holding the demo's key (earlier versions wrote it there).

    Compared as bytes (both are written as the same PEM), so start-up need not load cryptography.
    """
    pem = _demo_key_pem(settings)
    if pem is None or not settings.trust_dir.is_dir():
        return []
    return sorted(path.stem for path in settings.trust_dir.glob("*.pem") if path.read_bytes() == pem)


def _embedded_transport(
    settings: Settings, store: Store, trust: TrustStore, clock: Clock, rng: random.Random | None
) -> httpx.AsyncBaseTransport:
    # Imported here so that a controller talking to a real cloud never loads FastAPI.
    from core.mock_cloud.app import create_app

    with store.read() as tx:
        segments = tx.segments()
    earmark = segments[0].install_code if segments else "17q5t6a"
    cloud_rng = random.Random(rng.random()) if rng else None
    app = create_app(settings.embedded_cloud_dir, clock=clock, rng=cloud_rng, earmark_install_code=earmark)
    # The embedded demo is the one case where smartlic itself vouches for a cloud key: for this
    # process only, so the key is never trusted once a cloud URL is set.
    trust.trust_for_this_process(Path(app.state.public_key_path).read_bytes())
    import httpx

    return httpx.ASGITransport(app=app)


def _make_private_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StoreUnavailable(
            f"Cannot create the data directory {path}: {exc.strerror}.",
            hint="Set SMARTLIC_DATA_DIR to a writable directory.",
        ) from exc
