"""The [notifications] settings: file and environment, one-line errors naming the nested setting,
and secrets masked in the support bundle's settings."""

from __future__ import annotations

import json

import pytest

from core.diagnostics import masked_settings
from core.errors import ConfigError
from core.notify.config import SmtpSecurity
from core.settings import load_settings


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    monkeypatch.setenv("SMARTLIC_CONFIG", str(path))
    return path


def test_file_and_environment(config_file, monkeypatch) -> None:
    config_file.write_text(
        '[notifications]\nemail_to = ["a@example.net"]\nthresholds = [45, 10]\n'
        '[notifications.smtp]\nhost = "mail.example.net"\nsecurity = "ssl"\nusername = "u"\n'
        '[notifications.webhook]\nurl = "https://hooks.example.net/x"\n'
    )
    monkeypatch.setenv("SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD", "pw-from-env")
    monkeypatch.setenv("SMARTLIC_NOTIFICATIONS__WEBHOOK__TOKEN", "tok-from-env")
    n = load_settings().notifications
    assert n.email_to == ["a@example.net"] and n.thresholds == [45, 10]
    assert (n.smtp.host, n.smtp.security) == ("mail.example.net", SmtpSecurity.SSL)
    assert n.smtp.effective_port == 465
    assert n.smtp.password is not None and n.smtp.password.get_secret_value() == "pw-from-env"
    assert n.webhook.token is not None and n.webhook.token.get_secret_value() == "tok-from-env"
    assert "pw-from-env" not in repr(n) and "tok-from-env" not in repr(n)


def test_defaults_follow_the_expiry_warning_days() -> None:
    n = load_settings().notifications
    assert n.thresholds is None and n.email_to == [] and n.smtp.security is SmtpSecurity.STARTTLS
    assert n.smtp.effective_port == 587


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("[notifications.smtp]\nport = 0\n", "SMARTLIC_NOTIFICATIONS__SMTP__PORT"),
        ('[notifications.smtp]\nsecurity = "tls"\n', "SMARTLIC_NOTIFICATIONS__SMTP__SECURITY"),
        ('[notifications]\nemail_to = ["nobody"]\n', "SMARTLIC_NOTIFICATIONS__EMAIL_TO"),
        ("[notifications]\nthresholds = [-1]\n", "SMARTLIC_NOTIFICATIONS__THRESHOLDS"),
        ('[notifications.webhook]\nurl = "ftp://x"\n', "SMARTLIC_NOTIFICATIONS__WEBHOOK__URL"),
        ('[notifications.smtp]\nhots = "x"\n', "SMARTLIC_NOTIFICATIONS__SMTP__HOTS"),
    ],
)
def test_bad_value_names_the_nested_setting(config_file, text: str, name: str) -> None:
    config_file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value) and "\n" not in str(info.value)


def test_secrets_masked_in_the_bundle_settings(monkeypatch) -> None:
    monkeypatch.setenv("SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD", "pw-123")
    monkeypatch.setenv("SMARTLIC_NOTIFICATIONS__WEBHOOK__TOKEN", "tok-456")
    monkeypatch.setenv(
        "SMARTLIC_NOTIFICATIONS__WEBHOOK__URL", "https://user:urlpw@hooks.example.net/x?key=k789"
    )
    text = json.dumps(masked_settings(load_settings()))
    for secret in ("pw-123", "tok-456", "urlpw", "k789"):
        assert secret not in text
    assert "hooks.example.net" in text
