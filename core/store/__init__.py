"""The controller's own state: segments, licenses, devices, the journal and the audit log, in SQLite.

``schema`` holds the migrations, ``tx`` the operations of one transaction, ``opening`` the ``Store``
(open, migrate, seed, safe mode), ``errors`` what a storage failure means to the user. The audit
log's hash chain is pure and lives in ``core.audit_chain``.
"""

from __future__ import annotations

from core.store.opening import Store
from core.store.schema import SCHEMA_VERSION
from core.store.tx import AUDIT_HEAD_KEY, DeviceRank, LicenseStanding, OfflineReturn, Tx

__all__ = [
    "AUDIT_HEAD_KEY",
    "SCHEMA_VERSION",
    "DeviceRank",
    "LicenseStanding",
    "OfflineReturn",
    "Store",
    "Tx",
]
