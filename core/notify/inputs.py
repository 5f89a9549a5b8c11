"""What a user may type for notifications (addresses, threshold days), checked in one place for the
settings, the store's overrides and the TUI as the user types."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
_SEPARATORS = re.compile(r"[,;\s]+")
MAX_THRESHOLD_DAYS = 3650


def address_problem(text: str) -> str | None:
    """Why ``text`` is not one plain e-mail address (name@example.net), or None when it is."""
    if not _ADDRESS.match(text):
        return f"{text!r} is not an e-mail address like name@example.net"
    return None


def threshold_problem(day: int) -> str | None:
    if not 0 <= day <= MAX_THRESHOLD_DAYS:
        return f"a threshold is a number of days from 0 to {MAX_THRESHOLD_DAYS}, not {day}"
    return None


def parse_addresses(text: str) -> list[str]:
    """Addresses separated by commas, semicolons or spaces; ValueError names the first bad one."""
    found = [part for part in _SEPARATORS.split(text) if part]
    for address in found:
        problem = address_problem(address)
        if problem:
            raise ValueError(problem)
    return list(dict.fromkeys(found))


def parse_thresholds(text: str) -> list[int]:
    """Days separated by commas or spaces (``60, 30, 7``), largest first; ValueError says why not."""
    days: list[int] = []
    for part in _SEPARATORS.split(text):
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"{part!r} is not a number of days (e.g. 60, 30, 7)")
        problem = threshold_problem(int(part))
        if problem:
            raise ValueError(problem)
        days.append(int(part))
    return sorted(set(days), reverse=True)


def checked_http_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) URL, None when empty; ValueError otherwise (for validators).

    Checked whole (scheme, host, port 1-65535), so that a URL httpx cannot use is refused with
    the setting's name at start-up, not as an unexpected error at the first request.
    """
    if value in (None, ""):
        return None
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", a port not a number
        raise ValueError(f"is not a valid URL ({exc})") from None
    if not parts.hostname:
        raise ValueError("names no host (e.g. https://cloud.example.net)")
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"has port {port}; a port is 1 to 65535")
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("contains spaces or control characters")
    return value
