"""Named points where the fault-safety tests kill the cloud process, as by a power cut.

``SMARTLIC_CLOUD_CRASH_AT=before-commit`` SIGKILLs the serving process inside the activate or
transfer handler right before its transaction commits (effect and idempotency record written, not
committed); ``after-commit`` right after the commit, before the answer goes out. A suffix limits it
to one operation: ``after-commit:transfer``. Without the variable these calls cost one dict look-up.

(The device side has its own points in ``core.crashpoints``; the mock cloud keeps its own module
so that it imports nothing of the controller's code.)
"""

from __future__ import annotations

import os
import signal

ENV = "SMARTLIC_CLOUD_CRASH_AT"
POINTS = ("before-commit", "after-commit")
OPERATIONS = ("activate", "transfer")


def cloud_crashpoint(name: str, operation: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted or operation not in OPERATIONS:
        return
    point, _, only = wanted.partition(":")
    if point == name and only in ("", operation):
        os.kill(os.getpid(), signal.SIGKILL)
