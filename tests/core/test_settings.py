from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in (
        "SMARTLIC_CLOUD_URL",
        "SMARTLIC_DATA_DIR",
        "SMARTLIC_TIMEOUT",
        "SMARTLIC_RETRIES",
        "SMARTLIC_EXPIRING_DAYS",
        "SMARTLIC_CONFIG",
        "SMARTLIC_KEYS",
    ):
        monkeypatch.delenv(var, raising=False)
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
