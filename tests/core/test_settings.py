import os
from pathlib import Path

import pytest
from pydantic import Field, SecretStr

from core.diagnostics import masked_settings
from core.errors import ConfigError
from core.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in [name for name in os.environ if name.upper().startswith("SMARTLIC_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_defaults(tmp_path) -> None:
    s = load_settings()
    assert s.cloud_url is None
    assert s.data_dir == tmp_path / "data" / "smartlic"
    assert (s.timeout, s.retries, s.expiring_days) == (10.0, 3, 60)


def test_env_wins_over_file(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "config" / "smartlic" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('cloud_url = "http://file:1"\nexpiring_days = 30\n[keys]\ndownload = "ctrl+d"\n')
    monkeypatch.setenv("SMARTLIC_CLOUD_URL", "http://env:2/")
    s = load_settings()
    assert s.cloud_url == "http://env:2"
    assert s.expiring_days == 30
    assert s.keys == {"download": "ctrl+d"}


def test_explicit_config_file(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "other.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "d"}"\n')
    monkeypatch.setenv("SMARTLIC_CONFIG", str(cfg))
    assert load_settings().data_dir == Path(tmp_path / "d")


@pytest.mark.parametrize(
    ("var", "value", "name"),
    [
        ("SMARTLIC_TIMEOUT", "soon", "SMARTLIC_TIMEOUT"),
        ("SMARTLIC_RETRIES", "-1", "SMARTLIC_RETRIES"),
        ("SMARTLIC_CLOUD_URL", "ftp://x", "SMARTLIC_CLOUD_URL"),
    ],
)
def test_invalid_value_names_the_setting(monkeypatch, var: str, value: str, name: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value)
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_broken_toml_and_unknown_key(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "c.toml"
    monkeypatch.setenv("SMARTLIC_CONFIG", str(cfg))
    cfg.write_text("timeout = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()
    cfg.write_text("colour = 'red'")
    with pytest.raises(ConfigError, match="COLOUR"):
        load_settings()


def test_lists_and_tables_come_from_the_environment_as_json(monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_EXPIRY_WARNING_DAYS", "[90, 14]")
    monkeypatch.setenv("smartlic_keys", '{"download": "ctrl+d"}')
    s = load_settings()
    assert s.expiry_warning_days == [90, 14]
    assert s.keys == {"download": "ctrl+d"}


def test_a_list_that_is_not_json_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_EXPIRY_WARNING_DAYS", "90,14")
    with pytest.raises(ConfigError, match=r"SMARTLIC_EXPIRY_WARNING_DAYS.*not valid JSON"):
        load_settings()


def test_overrides_win_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_RETRIES", "5")
    assert load_settings(retries=1).retries == 1
    assert load_settings().retries == 5


def test_a_settings_file_that_is_not_text_is_one_clear_error(tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b"\xff\xfe timeout = 3")
    monkeypatch.setenv("SMARTLIC_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match=r"c\.toml"):
        load_settings()


def _write_config(tmp_path: Path, text: str) -> Path:
    cfg = tmp_path / "config" / "smartlic" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(text)
    return cfg


def test_overrides_then_environment_then_file_then_defaults(tmp_path, monkeypatch) -> None:
    _write_config(tmp_path, "retries = 7\ntimeout = 20\nexpiring_days = 30\n")
    monkeypatch.setenv("SMARTLIC_RETRIES", "5")
    monkeypatch.setenv("SMARTLIC_TIMEOUT", "15")
    s = load_settings(retries=1)
    assert (s.retries, s.timeout, s.expiring_days, s.expiry_warning_days) == (1, 15.0, 30, [60, 30, 7])


def test_a_table_entry_per_variable_with_the_nested_delimiter(tmp_path, monkeypatch) -> None:
    _write_config(tmp_path, '[keys]\ndownload = "ctrl+d"\ndevices = "f5"\n')
    monkeypatch.setenv("SMARTLIC_KEYS__DEVICES", "f6")
    monkeypatch.setenv("smartlic_keys__Accounts", "ctrl+o")
    # Entries merge across sources; the environment wins per entry; keys are case-insensitive.
    assert load_settings().keys == {"download": "ctrl+d", "devices": "f6", "accounts": "ctrl+o"}


def test_a_bad_table_entry_names_the_entry(tmp_path, monkeypatch) -> None:
    cfg = _write_config(tmp_path, "[keys]\ndownload = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert f"SMARTLIC_KEYS__DOWNLOAD (or `keys.download` in {cfg})" in str(info.value)
    assert info.value.exit_code == 2


def test_a_table_that_is_not_json_names_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_KEYS", "{download: ctrl+d}")
    with pytest.raises(ConfigError, match=r"^Invalid setting SMARTLIC_KEYS .*not valid JSON") as info:
        load_settings()
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_a_folder_named_as_the_settings_file_is_one_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match="is a folder, not a settings file") as info:
        load_settings()
    assert info.value.exit_code == 2


def test_from_values_reads_neither_environment_nor_file(tmp_path, monkeypatch) -> None:
    _write_config(tmp_path, '[keys]\ndownload = "ctrl+d"\n')
    monkeypatch.setenv("SMARTLIC_CLOUD_URL", "http://env:2")
    s = Settings.from_values(data_dir=tmp_path / "d", retries=0)
    assert (s.cloud_url, s.keys, s.retries, s.data_dir) == (None, {}, 0, tmp_path / "d")
    assert isinstance(s, Settings)


class _WithSecret(Settings):
    """The pattern for a secret setting (the module docstring of core.settings)."""

    partner_token: SecretStr | None = Field(default=None, description="A secret, to show the pattern")


def test_a_secret_setting_is_masked_everywhere_but_where_it_is_used(monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_PARTNER_TOKEN", "s3cret-token")
    s = _WithSecret()
    assert s.partner_token is not None
    assert s.partner_token.get_secret_value() == "s3cret-token"
    shown = [repr(s), str(s), s.model_dump_json(), str(masked_settings(s))]
    assert all("s3cret-token" not in text for text in shown)
    assert masked_settings(s)["partner_token"] == "**********"
