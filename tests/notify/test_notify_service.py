"""`notify` through the service against real SMTP and webhook servers on 127.0.0.1."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.errors import InvalidInput
from core.models import LicenseKind
from core.notify.config import NotificationSettings, SmtpSettings, WebhookSettings
from core.service import LicenseService
from core.settings import Settings
from core.wiring import build_service
from tests.notify.servers import PASSWORD, USER, free_port, smtp_server, webhook_receiver
from tests.support.clock import FIXED_NOW
from tests.support.services import make_service

A = "SmartServer-A"
TO = ["facility@example.net", "ops@example.net"]


@pytest.fixture
async def service(tmp_path) -> AsyncIterator[LicenseService]:
    svc = make_service(tmp_path / "data")
    yield svc
    await svc.aclose()


async def activate_expiring(service: LicenseService) -> str:
    """Activate the demo's maintenance license that expires in 20 days, and 100 devices of capacity
    (which the 25-device maintenance does not cover: a shortfall)."""
    customer = (await service.demo_info()).customer_id
    service.set_customer_id(A, str(customer))
    offer = (await service.cloud_licenses(A)).licenses
    soon = next(
        x
        for x in offer
        if x.kind is LicenseKind.MAINTENANCE
        and x.expires_on is not None
        and x.expires_on <= (FIXED_NOW + timedelta(days=30)).date()
    )
    capacity = next(x for x in offer if x.kind is LicenseKind.CAPACITY and x.devices == 100)
    result = await service.activate(A, [soon.license_id, capacity.license_id])
    assert not result.failed
    return str(soon.license_id)


def mail_settings(
    port: int, ca_file: Path | None, *, password: str = PASSWORD, **more
) -> NotificationSettings:
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=port,
        username=USER,
        password=SecretStr(password),
        timeout=5,
        ca_file=ca_file,
        **more,
    )
    return NotificationSettings(email_to=TO, email_from="smartlic@plant.example.net", smtp=smtp)


def sent_rows(tmp_path: Path) -> list[tuple]:
    db = sqlite3.connect(tmp_path / "data" / "smartlic.db")
    try:
        return list(db.execute("SELECT notice_key, channel FROM notices_sent ORDER BY 1, 2"))
    finally:
        db.close()


async def test_starttls_mail_once_per_notice(service, tmp_path) -> None:
    license_id = await activate_expiring(service)
    with smtp_server(tmp_path) as server:
        settings = mail_settings(server.port, server.ca_file)
        first = service.notify(settings)
        assert first.exit_code == 0 and first.changed
        assert {n.key for n in first.due} == {
            f"expiry:{license_id}:30",
            f"shortfall:{service.segment(A).install_code}",
        }
        assert len(server.mailbox.messages) == 1
        message = server.mailbox.messages[0]
        assert server.mailbox.tls_seen == [True] and server.mailbox.logins == [USER]
        assert message["From"] == "smartlic@plant.example.net"
        assert message["To"] == ", ".join(TO)
        assert "2 license notices" in message["Subject"]
        body = message.get_payload()
        assert "expires in 20 days" in body and "30-day notice" in body
        assert "maintenance covers 25 of 100 devices (75 short)" in body
        assert server.mailbox.envelopes[0] == ("smartlic@plant.example.net", TO)

        second = service.notify(settings)
        assert second.due == [] and not second.changed and second.exit_code == 0
        assert len(server.mailbox.messages) == 1
    assert len(sent_rows(tmp_path)) == 2


async def test_next_threshold_and_expiry_are_sent_again(tmp_path) -> None:
    now = [FIXED_NOW]
    svc = build_service(
        Settings(data_dir=tmp_path / "data", retries=0),
        face="test",
        clock=lambda: now[0],
        rng=random.Random(42),
    )
    try:
        license_id = await activate_expiring(svc)
        with webhook_receiver() as hook:
            settings = NotificationSettings(webhook=WebhookSettings(url=hook.url))
            svc.notify(settings)
            now[0] = FIXED_NOW + timedelta(days=14)  # 6 days left: the 7-day notice
            assert [n.key for n in svc.notify(settings).due] == [f"expiry:{license_id}:7"]
            assert svc.notify(settings).due == []
            now[0] = FIXED_NOW + timedelta(days=21)  # expired
            assert [n.key for n in svc.notify(settings).due] == [f"expired:{license_id}"]
            assert svc.notify(settings).due == []
            assert len(hook.received) == 3
    finally:
        await svc.aclose()


async def test_webhook_body_and_token(service, tmp_path) -> None:
    license_id = await activate_expiring(service)
    with webhook_receiver() as hook:
        settings = NotificationSettings(webhook=WebhookSettings(url=hook.url, token=SecretStr("tok-123")))
        report = service.notify(settings)
        assert report.exit_code == 0
        headers, body = hook.received[0]
        assert headers["authorization"] == "Bearer tok-123"
        assert body["source"] == "smartlic" and body["version"] == 1 and body["test"] is False
        expiry = next(n for n in body["notices"] if n["kind"] == "expiry")
        assert expiry["license_id"] == license_id and expiry["threshold_days"] == 30
        assert set(expiry) == {
            "key",
            "kind",
            "level",
            "segment_name",
            "install_code",
            "license_id",
            "threshold_days",
            "expires_on",
            "text",
        }
        assert service.notify(settings).due == []
        assert len(hook.received) == 1


async def test_mail_server_down_marks_nothing(service, tmp_path) -> None:
    await activate_expiring(service)
    settings = mail_settings(free_port(), None)
    report = service.notify(settings)
    assert report.exit_code == 3
    outcome = report.outcomes[0]
    assert outcome.code == "smtp_unreachable" and "Cannot reach the mail server 127.0.0.1:" in outcome.error
    assert sent_rows(tmp_path) == []
    with smtp_server(tmp_path) as server:  # back up: everything is sent now
        report = service.notify(mail_settings(server.port, server.ca_file))
        assert report.exit_code == 0 and len(server.mailbox.messages) == 1


async def test_one_channel_down_the_other_still_remembered(service, tmp_path) -> None:
    await activate_expiring(service)
    with webhook_receiver() as hook:
        settings = mail_settings(free_port(), None).model_copy(
            update={"webhook": WebhookSettings(url=hook.url)}
        )
        report = service.notify(settings)
        assert report.exit_code == 3
        assert {r[1] for r in sent_rows(tmp_path)} == {"webhook"}
        assert service.notify(settings).due_by_channel["webhook"] == []


async def test_bad_password_is_one_clear_line(service, tmp_path) -> None:
    await activate_expiring(service)
    with smtp_server(tmp_path) as server:
        report = service.notify(mail_settings(server.port, server.ca_file, password="wrong"))
    outcome = report.outcomes[0]
    assert report.exit_code == 2 and outcome.code == "smtp_login_refused"
    assert "\n" not in outcome.error and "refused the login of 'alarms'" in outcome.error
    assert "wrong" not in outcome.error and PASSWORD not in outcome.error
    assert sent_rows(tmp_path) == []


async def test_untrusted_certificate_is_refused_not_ignored(service, tmp_path) -> None:
    await activate_expiring(service)
    with smtp_server(tmp_path) as server:
        report = service.notify(mail_settings(server.port, None))
        assert server.mailbox.messages == []
    assert report.outcomes[0].code == "smtp_untrusted"
    assert "notifications.smtp.ca_file" in report.outcomes[0].error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_tls_from_the_start(service, tmp_path) -> None:
    await activate_expiring(service)
    with smtp_server(tmp_path, security="ssl") as server:
        report = service.notify(mail_settings(server.port, server.ca_file, security="ssl"))
        assert report.exit_code == 0, report.outcomes
        assert server.mailbox.tls_seen == [True]


async def test_dry_run_and_test_message(service, tmp_path) -> None:
    await activate_expiring(service)
    with smtp_server(tmp_path) as server:
        settings = mail_settings(server.port, server.ca_file)
        dry = service.notify(settings, dry_run=True)
        assert len(dry.due) == 2 and not dry.changed and server.mailbox.messages == []
        test = service.notify_test(settings)
        assert test.exit_code == 0 and "test message" in server.mailbox.messages[0]["Subject"]
    assert sent_rows(tmp_path) == []


async def test_shortfall_that_ends_is_sent_again_when_it_returns(service, tmp_path) -> None:
    await activate_expiring(service)
    code = service.segment(A).install_code
    with webhook_receiver() as hook:
        settings = NotificationSettings(webhook=WebhookSettings(url=hook.url), thresholds=[])
        assert [n.key for n in service.notify(settings).due] == [f"shortfall:{code}"]
        await service.transfer(A)  # no capacity, no shortfall: the mark is forgotten
        report = service.notify(settings)
        assert report.forgotten == [f"shortfall:{code}"] and report.changed
        assert sent_rows(tmp_path) == []


async def test_overrides_win_over_settings_and_are_checked(service, tmp_path) -> None:
    base = NotificationSettings(email_to=["a@example.net"], thresholds=[90])
    config = service.notification_config(base)
    assert (config.email_to, config.email_to_source, config.thresholds) == (
        ["a@example.net"],
        "settings",
        [90],
    )
    config = service.set_notification_overrides(base, ["b@example.net"], [14, 45])
    assert (config.email_to, config.email_to_source) == (["b@example.net"], "store")
    assert (config.thresholds, config.thresholds_source) == ([45, 14], "store")
    with pytest.raises(InvalidInput):
        service.set_notification_overrides(base, ["not an address"], None)
    config = service.set_notification_overrides(base, None, None)
    assert config.email_to_source == "settings" and config.thresholds == [90]
    default = service.notification_config(NotificationSettings())
    assert (default.thresholds, default.thresholds_source) == ([60, 30, 7], "expiry_warning_days")
