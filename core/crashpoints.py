"""Named points where the fault-safety tests kill this process, to prove the journal heals.

A test sets ``SMARTLIC_CRASH_AT=<name>`` in the environment of a subprocess; when that process
reaches the point it is killed with SIGKILL, as by a power cut: no cleanup, no flush.
``after-send`` kills ``SMARTLIC_CRASH_DELAY`` seconds (default 0.2) after the request went out, so
it dies while the request is in flight; ``between-chunks`` is after a chunk of a split batch was
sent and stored, before the next one. Without the variable these calls cost one dict look-up.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

ENV = "SMARTLIC_CRASH_AT"
SKIP_ENV = "SMARTLIC_CRASH_SKIP"  # pass the point this many times first (a later chunk of a batch)
POINTS = (
    "after-journal",
    "after-send",
    "after-cloud-commit",
    "mid-verification",
    "mid-transaction",
    "after-commit",
    "between-chunks",
)
# In-process tests (the ownership model) set this to raise at a point instead of dying there.
hook: Callable[[str], None] | None = None
_passed = 0


def crashpoint(name: str) -> None:
    if hook is not None:
        hook(name)
    if os.environ.get(ENV) != name:
        return
    global _passed
    if _passed < int(os.environ.get(SKIP_ENV, "0") or 0):
        _passed += 1
        return
    if name == "after-send":
        delay = float(os.environ.get("SMARTLIC_CRASH_DELAY", "0.2"))
        threading.Timer(delay, _die).start()
        return
    _die()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
