"""`smartlic notify` as cron runs it: settings from the file and the environment, exit codes, and
secrets that appear nowhere (output, log, support bundle)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notify.servers import PASSWORD, USER, free_port, smtp_server, webhook_receiver

A = "SmartServer-A"
TOKEN = "hook-T0ken-xyz"


def smartlic(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(env: dict[str, str], *args: str) -> dict:
    done = smartlic(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def controller(tmp_path) -> dict[str, str]:
    """A data folder with the demo's maintenance license that expires in 20 days activated."""
    env = {"SMARTLIC_DATA_DIR": str(tmp_path / "data"), "SMARTLIC_CONFIG": str(tmp_path / "config.toml")}
    customer = ok(env, "demo-info")["customer_id"]
    ok(env, "accounts", "set", A, customer)
    offer = ok(env, "cloud-licenses", A)["licenses"]
    soon = min((x for x in offer if x["kind"] == "maintenance"), key=lambda x: x["expires_on"])
    ok(env, "activate", A, soon["license_id"])
    return env


def configure(env: dict[str, str], tmp_path: Path, port: int, ca_file: Path, hook_url: str) -> dict[str, str]:
    Path(env["SMARTLIC_CONFIG"]).write_text(
        "[notifications]\n"
        'email_to = ["facility@example.net"]\n'
        'email_from = "smartlic@plant.example.net"\n'
        "[notifications.smtp]\n"
        f'host = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\nusername = "{USER}"\ntimeout = 5\n'
        f'ca_file = "{ca_file}"\n'
        "[notifications.webhook]\n"
        f'url = "{hook_url}"\n'
    )
    # The secrets come from the environment, as the README recommends.
    return {
        **env,
        "SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD": PASSWORD,
        "SMARTLIC_NOTIFICATIONS__WEBHOOK__TOKEN": TOKEN,
    }


def test_notify_once_then_nothing_and_no_secret_anywhere(controller, tmp_path) -> None:
    with smtp_server(tmp_path) as server, webhook_receiver() as hook:
        env = configure(controller, tmp_path, server.port, server.ca_file, hook.url)
        dry = smartlic(env, "notify", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert (
            "would send by email, webhook: SmartServer-A: 25-device maintenance, 1-year expires in"
            in dry.stdout
        )
        assert server.mailbox.messages == [] and hook.received == []

        first = smartlic(env, "notify")
        assert first.returncode == 0, first.stderr
        assert "sent 1 notice(s) by email" in first.stdout and "sent 1 notice(s) by webhook" in first.stdout
        assert len(server.mailbox.messages) == 1 and len(hook.received) == 1
        assert hook.received[0][0]["authorization"] == f"Bearer {TOKEN}"

        second = smartlic(env, "notify", "--json")
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout)["changed"] is False
        assert len(server.mailbox.messages) == 1 and len(hook.received) == 1

        test = smartlic(env, "notify", "--test")
        assert test.returncode == 0, test.stderr
        assert "sent a test message by email" in test.stdout
        assert "test message" in server.mailbox.messages[-1]["Subject"]
        assert hook.received[-1][1]["test"] is True

        bundle = tmp_path / "bundle.json"
        assert smartlic(env, "diagnostics", "-o", str(bundle)).returncode == 0
        masked = json.loads(bundle.read_text())["settings"]["notifications"]
        assert masked["smtp"]["password"] == "**********" and masked["webhook"]["token"] == "**********"

        outputs = [dry, first, second, test]
        texts = [o.stdout + o.stderr for o in outputs]
        texts += [bundle.read_text(), (tmp_path / "data" / "smartlic.log").read_text()]
        for text in texts:
            assert PASSWORD not in text and TOKEN not in text


def test_mail_server_down_is_exit_3_and_nothing_is_marked(controller, tmp_path) -> None:
    with webhook_receiver() as hook:
        env = configure(controller, tmp_path, free_port(), tmp_path / "none.pem", hook.url)
        env["SMARTLIC_NOTIFICATIONS__WEBHOOK__URL"] = ""  # e-mail only
        down = smartlic(env, "notify")
    assert down.returncode == 3
    assert down.stderr.startswith("smartlic: email: Cannot reach the mail server 127.0.0.1:")
    assert len(down.stderr.strip().splitlines()) == 1
    with smtp_server(tmp_path) as server:
        env = configure(controller, tmp_path, server.port, server.ca_file, "")
        env["SMARTLIC_NOTIFICATIONS__WEBHOOK__URL"] = ""
        up = smartlic(env, "notify")
        assert up.returncode == 0, up.stderr
        assert len(server.mailbox.messages) == 1  # nothing had been marked as sent


def test_bad_password_is_one_line_and_exit_2(controller, tmp_path) -> None:
    with smtp_server(tmp_path) as server:
        env = configure(controller, tmp_path, server.port, server.ca_file, "")
        env["SMARTLIC_NOTIFICATIONS__SMTP__PASSWORD"] = "not-the-password"
        env["SMARTLIC_NOTIFICATIONS__WEBHOOK__URL"] = ""
        done = smartlic(env, "notify")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the login of 'alarms'" in lines[0]
    assert "not-the-password" not in done.stderr + done.stdout
    log = (tmp_path / "data" / "smartlic.log").read_text()
    assert "not-the-password" not in log


def test_not_configured_says_what_to_set(controller) -> None:
    done = smartlic(controller, "notify")
    assert done.returncode == 2
    assert "notifications.webhook.url" in done.stderr and "Traceback" not in done.stderr
