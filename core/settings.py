"""Settings: environment variables SMARTLIC_*, then an optional TOML file, then defaults.

The file is ``$SMARTLIC_CONFIG`` if set, else ``$XDG_CONFIG_HOME/smartlic/config.toml``
(``~/.config/smartlic/config.toml``). A missing file is fine; a broken one is a ConfigError.
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import ConfigError

ENV_PREFIX = "SMARTLIC_"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "smartlic"


def config_file() -> Path:
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(explicit) if explicit else _xdg("XDG_CONFIG_HOME", ".config") / "smartlic" / "config.toml"


class Settings(BaseModel):
    # Plain pydantic, read by load_settings(): pydantic-settings costs ~70 ms of imports (its CLI
    # source pulls in argparse and importlib.metadata), a quarter of a bare Textual app's start-up.
    model_config = ConfigDict(extra="forbid")

    cloud_url: str | None = Field(
        default=None, description="License cloud base URL; unset means the embedded demo cloud"
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Where the store and keys live")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds per cloud request")
    retries: int = Field(default=3, ge=0, le=10, description="Retries of a failed cloud request")
    expiring_days: int = Field(default=60, ge=0, le=3650, description="Days before expiry to warn")
    expiry_warning_days: list[int] = Field(
        default=[60, 30, 7], description="Days before a maintenance license expires to warn (and on expiry)"
    )
    keys: dict[str, str] = Field(
        default_factory=dict, description="Key remaps: binding id -> keys, e.g. download = 'ctrl+d'"
    )

    @field_validator("cloud_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def store_path(self) -> Path:
        return self.data_dir / "smartlic.db"

    @property
    def trust_dir(self) -> Path:
        return self.data_dir / "trust"

    @property
    def embedded_cloud_dir(self) -> Path:
        return self.data_dir / "cloud"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "smartlic.log"


def _setting_name(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    return f"{ENV_PREFIX}{field.upper()} (or `{field}` in {config_file()})"


def _file_values() -> dict[str, Any]:
    try:
        with config_file().open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}


def _env_values() -> dict[str, Any]:
    """``SMARTLIC_<FIELD>`` (any case) for each field; lists and tables are given as JSON."""
    environ = {name.upper(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for field, info in Settings.model_fields.items():
        var = f"{ENV_PREFIX}{field.upper()}"
        if var not in environ:
            continue
        raw = environ[var]
        if typing.get_origin(info.annotation) in (list, dict):
            try:
                values[field] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"Invalid setting {_setting_name((field,))}: not valid JSON ({exc.msg})."
                ) from exc
        else:
            values[field] = raw
    return values


def load_settings(**overrides: Any) -> Settings:
    """Settings, or one ConfigError naming the setting that is wrong.

    Precedence: keyword overrides, then environment variables, then the file, then defaults.
    """
    try:
        return Settings(**{**_file_values(), **_env_values(), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"Invalid setting {_setting_name(first['loc'])}: {first['msg']}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The settings file {config_file()} is not valid TOML: {exc}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfigError(f"The settings file {config_file()} cannot be read: {reason}.") from exc
