"""The controller's own Ed25519 key per install code, kept in the store (meta ``device_key:{code}``).

One key signs everything a segment controller sends: offline requests and return receipts
(core.offline) and every device call to the cloud (core.request_signature). It is made on first
use and never changes, because the cloud binds it to the install code.
"""

from __future__ import annotations

from collections.abc import Callable

from core.signing import Signer
from core.store import Store, Tx


def _meta_key(install_code: str) -> str:
    return f"device_key:{install_code}"


def stored_signer(tx: Tx, install_code: str) -> Signer | None:
    """The key of ``install_code`` if one was made already."""
    pem = tx.meta_get(_meta_key(install_code))
    return Signer.from_pem(pem.encode(), "The controller's key") if pem else None


def device_signer(tx: Tx, install_code: str) -> Signer:
    """The key of ``install_code``, made (and stored in ``tx``) on first use."""
    signer = stored_signer(tx, install_code)
    if signer is None:
        signer = Signer.generate()
        tx.meta_set(_meta_key(install_code), signer.private_pem().decode())
    return signer


def signer_source(store: Store) -> Callable[[str], Signer]:
    """``signer_for(install_code)`` for the cloud client: read once per install code, then kept.

    A write transaction only when the key does not exist yet, so a read-only store still signs.
    """
    known: dict[str, Signer] = {}

    def signer_for(install_code: str) -> Signer:
        signer = known.get(install_code)
        if signer is None:
            with store.read() as tx:
                signer = stored_signer(tx, install_code)
            if signer is None:
                with store.write() as tx:
                    signer = device_signer(tx, install_code)
            known[install_code] = signer
        return signer

    return signer_for
