"""Settings (pydantic-settings): overrides, then SMARTLIC_* variables, then a TOML file, then defaults.

Environment: ``SMARTLIC_<FIELD>`` in any case; lists and tables as JSON
(``SMARTLIC_EXPIRY_WARNING_DAYS='[60,30,7]'``), or one table entry per variable with ``__``
(``SMARTLIC_KEYS__DOWNLOAD=ctrl+d``). Tables from several sources merge entry by entry.

The file is ``$SMARTLIC_CONFIG`` if set, else ``$XDG_CONFIG_HOME/smartlic/config.toml``
(``~/.config/smartlic/config.toml``). A missing file is fine; a broken one is a ConfigError, as is
every bad value: one line naming the setting, exit code 2.

Secrets: a setting that is secret (a token, a password) is a ``SecretStr`` field. Its ``repr``, its
``str`` and ``model_dump(mode="json")`` (so the support bundle) show ``**********``; only the code that
sends it calls ``.get_secret_value()``: ``notifications.smtp.password`` and
``notifications.webhook.token``. Credentials inside URLs (``cloud_url``, ``notifications.webhook.url``)
are masked by ``core.diagnostics.mask_url``, which keeps the host readable.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import ConfigError, FileError
from core.notify.config import NotificationSettings
from core.notify.inputs import checked_http_url
from core.paths import default_config_file, default_data_dir, embedded_cloud_dir
from core.safe_files import SETTINGS_LIMIT, read_text

ENV_PREFIX = "SMARTLIC_"
NESTED_DELIMITER = "__"


def config_file() -> Path:
    explicit = os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(explicit) if explicit else default_config_file()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        env_nested_delimiter=NESTED_DELIMITER,
        extra="forbid",
    )
    reads_environment_and_file: ClassVar[bool] = True

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
    notifications: NotificationSettings = Field(
        default_factory=NotificationSettings, description="E-mail and webhook notices (`smartlic notify`)"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if not cls.reads_environment_and_file:
            return (init_settings,)
        # No .env file and no secrets folder: smartlic documents neither. The CLI source is never
        # built (cli_parse_args is unset); `smartlic` parses its own arguments.
        return init_settings, _EnvSource(settings_cls), _toml_source(settings_cls)

    @classmethod
    def from_values(cls, **values: Any) -> Settings:
        """These values and the defaults only, no environment and no file: for screenshots and benches,
        which must not depend on who runs them."""
        return _ValuesOnly(**values)

    @field_validator("cloud_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        url = checked_http_url(value)
        return url.rstrip("/") if url else None

    @field_validator("data_dir", mode="before")
    @classmethod
    def _named_dir(cls, value: Any) -> Any:
        # Path("") is the current directory: an empty variable must not put the store wherever
        # smartlic happens to be started.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must name a directory, not be empty")
        return value

    @field_validator("data_dir")
    @classmethod
    def _not_a_file(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} exists and is not a directory")
        return value

    @property
    def store_path(self) -> Path:
        return self.data_dir / "smartlic.db"

    @property
    def trust_dir(self) -> Path:
        return self.data_dir / "trust"

    @property
    def embedded_cloud_dir(self) -> Path:
        return embedded_cloud_dir(self.data_dir)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "smartlic.log"


class _ValuesOnly(Settings):
    """Settings from its keyword arguments and the defaults alone (see ``Settings.from_values``)."""

    reads_environment_and_file: ClassVar[bool] = False


class _EnvSource(EnvSettingsSource):
    """The environment source, whose bad JSON is a ConfigError naming the variable."""

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError as exc:  # json.JSONDecodeError
            reason = getattr(exc, "msg", str(exc))
            raise ConfigError(
                f"Invalid setting {_setting_name((field_name,))}: not valid JSON ({reason})."
            ) from exc


class _BoundedTomlSource(TomlConfigSettingsSource):
    """The file source, reading through the bounded reader (core.safe_files).

    pydantic-settings would open the file itself: /dev/zero read until memory ran out, and a FIFO
    blocked. Here a named file that exists but is not a regular one is read too, so that the
    reader refuses it in words instead of the source skipping it without one.
    """

    @classmethod
    def _existing_files(cls, paths: Any) -> list[Path | Traversable]:
        candidates = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths or [])
        return [Path(p).expanduser() for p in candidates if os.path.lexists(Path(p).expanduser())]

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return tomllib.loads(read_text(Path(file_path), limit=SETTINGS_LIMIT, what="settings file"))


def _toml_source(settings_cls: type[BaseSettings]) -> TomlConfigSettingsSource:
    """The file source; it reads the file at once, so read errors leave here as themselves."""
    return _BoundedTomlSource(settings_cls, toml_file=config_file())


def _setting_name(loc: tuple[Any, ...]) -> str:
    field = str(loc[0]) if loc else "?"
    info = Settings.model_fields.get(field)
    if len(loc) > 1 and isinstance(loc[1], str) and info and typing.get_origin(info.annotation) is dict:
        entry = loc[1]
        env = f"{ENV_PREFIX}{field.upper()}{NESTED_DELIMITER}{entry.upper()}"
        return f"{env} (or `{field}.{entry}` in {config_file()})"
    nested = _nested_path(loc)
    if len(nested) > 1:
        env = ENV_PREFIX + NESTED_DELIMITER.join(part.upper() for part in nested)
        return f"{env} (or `{'.'.join(nested)}` in {config_file()})"
    return f"{ENV_PREFIX}{field.upper()} (or `{field}` in {config_file()})"


def _nested_path(loc: tuple[Any, ...]) -> list[str]:
    """The field names of ``loc`` down through nested sections (``notifications.smtp.port``)."""
    path: list[str] = []
    model: Any = Settings
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not isinstance(part, str) or not fields:
            break
        path.append(part)  # an unknown name too: that is the mistake to point at
        if part not in fields:
            break
        model = fields[part].annotation
    return path


def load_settings(**overrides: Any) -> Settings:
    """Settings, or one ConfigError naming the setting that is wrong.

    Precedence: keyword overrides, then environment variables, then the file, then defaults.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        why = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"Invalid setting {_setting_name(first['loc'])}: {why}.") from exc
    except FileError as exc:
        raise ConfigError(f"Invalid setting {ENV_PREFIX}CONFIG: {exc.message}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The settings file {config_file()} is not valid TOML: {exc}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfigError(f"The settings file {config_file()} cannot be read: {reason}.") from exc
    except ValueError as exc:
        # pydantic_settings.SettingsError (its home moved between versions): any other refusal of a
        # source, which names its field as `field "x"` in the message.
        found = re.search(r'field "([^"]+)"', str(exc))
        name = _setting_name((found.group(1),)) if found else "settings"
        raise ConfigError(f"Invalid setting {name}: {exc.__cause__ or exc}.") from exc
