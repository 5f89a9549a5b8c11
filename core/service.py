"""LicenseService: the use cases. The one API that the TUI and the CLI call.

Reads are synchronous (local SQLite). Anything that talks to the cloud is async and takes an
optional ``progress(message, fraction)`` callback. Every rule comes from core.rules; every change
is one store transaction with its audit entry. The use cases live in core.usecases, one module per
group; this class puts them together behind one name.
"""

from __future__ import annotations

from core.usecases.base import Progress, default_actor
from core.usecases.local import LocalChangesMixin
from core.usecases.offline_activation import OfflineMixin
from core.usecases.online import OnlineMixin
from core.usecases.status import StatusMixin

__all__ = ["LicenseService", "Progress", "default_actor"]


class LicenseService(StatusMixin, OnlineMixin, OfflineMixin, LocalChangesMixin):
    """Segments, licenses, devices; activation online and offline; transfer; sync; status."""
