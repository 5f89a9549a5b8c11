"""The cloud's record of each segment controller's public key (table ``device_keys``).

One key per install code, whichever way the cloud learns it first: a signed device call
(core.mock_cloud.device_auth), a partner earmarking a license with the key (partner.py), or an
offline request file (portal.py). Device calls and return receipts are checked against it.
"""

from __future__ import annotations

from datetime import date

from core.mock_cloud.db import DeviceKey, Tx
from core.signing import key_id_of, load_public_key, load_raw_public_key, public_key_pem


def parse_pem(pem: object) -> tuple[str, str] | None:
    """(key_id, normalised PEM) of a device public key, None when ``pem`` is not one."""
    if not isinstance(pem, str):
        return None
    try:
        key = load_public_key(pem.encode())
    # core.signing raises core.errors.SignatureInvalid (a name this layer may not import) and lets
    # cryptography's own errors through for odd PEM; any of them means "not a usable key".
    except Exception:
        return None
    return key_id_of(key), public_key_pem(key).decode()


def parse_raw(raw: bytes) -> tuple[str, str] | None:
    """(key_id, PEM) of a raw 32-byte Ed25519 public key, None when it is not one."""
    try:
        key = load_raw_public_key(raw)
    except Exception:  # as in parse_pem
        return None
    return key_id_of(key), public_key_pem(key).decode()


def bind_on_first_use(tx: Tx, install_code: str, key_id: str, pem: str, today: date) -> DeviceKey:
    """The key bound to ``install_code``: the one already there, else this one (bound now)."""
    current = tx.device_key(install_code)
    if current is not None:
        return current
    bound = DeviceKey(install_code=install_code, key_id=key_id, public_key_pem=pem, registered_on=today)
    tx.set_device_key(bound)
    return bound
