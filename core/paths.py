"""Where smartlic keeps its files unless told otherwise: the XDG base directory rules.

A leaf module (standard library only), so that the settings and the mock cloud's CLI share one rule.
"""

from __future__ import annotations

import os
from pathlib import Path

EMBEDDED_CLOUD_SUBDIR = "cloud"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/smartlic``, else ``~/.local/share/smartlic``."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "smartlic"


def default_config_file() -> Path:
    """``$XDG_CONFIG_HOME/smartlic/config.toml``, else ``~/.config/smartlic/config.toml``."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "smartlic" / "config.toml"


def embedded_cloud_dir(data_dir: Path) -> Path:
    """The embedded demo cloud's folder inside a data folder; ``smartlic-cloud`` uses the same one."""
    return data_dir / EMBEDDED_CLOUD_SUBDIR
