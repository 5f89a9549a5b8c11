"""Exit when the terminal has gone, with or without a SIGHUP.

A dropped SSH connection closes the terminal, and the kernel sends SIGHUP only to the session's
controlling process: a shell passes it on to its jobs, but ``make run`` (GNU make) does not, and
then smartlic never heard of it: it kept running with nobody to see it, holding the store, its
input thread spinning on end-of-file. A look at the terminal twice a second catches that case.
"""

from __future__ import annotations

import errno
import os
import sys
import termios

CHECK_EVERY = 0.5
"""Seconds between looks: the SSH test allows 2 s from the drop to no process."""


def terminal_gone(fd: int) -> bool:
    """True once the terminal on ``fd`` is hung up (its calls fail with EIO)."""
    try:
        termios.tcgetattr(fd)
    except termios.error as error:
        return bool(error.args) and error.args[0] == errno.EIO  # the terminal was hung up
    except OSError:
        return False
    return False


def watch_fd() -> int | None:
    """The terminal to watch: standard input when it is one."""
    try:
        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
    except (OSError, ValueError):
        return None
    return fd if fd >= 0 and os.isatty(fd) else None
