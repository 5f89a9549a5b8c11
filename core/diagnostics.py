"""The support bundle: what support needs to see, and no secret keys.

It names the Customer IDs and install codes, so it is written readable by its owner only (0600).
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core import safe_files
from core.settings import Settings

PACKAGES = ("smartlic", "textual", "httpx", "pydantic", "pydantic-settings", "cryptography", "fastapi")


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def mask_url(url: str | None) -> str | None:
    """Drop user info and query strings: they may carry credentials."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"***@{host}" if parts.username or parts.password else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def masked_settings(settings: Settings) -> dict[str, Any]:
    values = settings.model_dump(mode="json")
    values["cloud_url"] = mask_url(settings.cloud_url)
    values["notifications"]["webhook"]["url"] = mask_url(settings.notifications.webhook.url)
    return values


def write_bundle(path: Path, bundle: dict[str, Any], force: bool = False) -> Path:
    text = json.dumps(bundle, indent=2, ensure_ascii=False, default=str)
    return safe_files.write_file(path, (text + "\n").encode("utf-8"), force=force)
