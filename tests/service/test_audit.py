"""The audit log is hash-chained: deleted, edited or reordered entries are found and named."""

from __future__ import annotations

import json
import sqlite3

import pytest

from core.service import LicenseService

A = "SmartServer-A"


async def populated(service: LicenseService, customer: str) -> sqlite3.Connection:
    service.set_customer_id(A, customer)
    service.set_customer_id(A, "")
    service.set_customer_id(A, customer)
    service.provision(A, None)
    db = sqlite3.connect(service.context.store.path)
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    return db


async def test_intact_log_verifies(service: LicenseService, demo_customer: str) -> None:
    await populated(service, demo_customer)
    check = service.audit_verify()
    assert check.ok and check.entries >= 5
    ops = [e.operation for e in service.audit_entries()]
    assert ops[-4:] == ["set-customer-id", "set-customer-id", "set-customer-id", "provision"]


@pytest.mark.parametrize("tamper", ["edit", "delete_middle", "delete_last", "reorder"])
async def test_tampering_is_named(service: LicenseService, demo_customer: str, tamper: str) -> None:
    db = await populated(service, demo_customer)
    with db:
        if tamper == "edit":
            db.execute("UPDATE audit SET detail = ? WHERE seq = 3", (json.dumps({"new": None}),))
            expected = 3
        elif tamper == "delete_middle":
            db.execute("DELETE FROM audit WHERE seq = 3")
            expected = 4
        elif tamper == "delete_last":
            last = db.execute("SELECT max(seq) FROM audit").fetchone()[0]
            db.execute("DELETE FROM audit WHERE seq = ?", (last,))
            expected = last
        else:
            db.execute("UPDATE audit SET seq = -1 WHERE seq = 2")
            db.execute("UPDATE audit SET seq = 2 WHERE seq = 3")
            db.execute("UPDATE audit SET seq = 3 WHERE seq = -1")
            expected = 2
    db.close()
    check = service.audit_verify()
    assert not check.ok
    assert check.first_bad_seq == expected
    assert f"entry {expected}" in check.message


async def test_deleted_tail_stays_visible_after_new_entries(
    service: LicenseService, demo_customer: str
) -> None:
    db = await populated(service, demo_customer)
    last = db.execute("SELECT max(seq) FROM audit").fetchone()[0]
    with db:
        db.execute("DELETE FROM audit WHERE seq = ?", (last,))
    db.close()
    service.provision(A, None)
    check = service.audit_verify()
    assert not check.ok and check.first_bad_seq == last + 1


async def test_diagnostics_bundle_has_no_secrets(
    tmp_path, service: LicenseService, demo_customer: str
) -> None:
    from core.settings import Settings

    await populated(service, demo_customer)
    settings = Settings(data_dir=tmp_path, cloud_url="https://user:s3cret@cloud.example:8443/api?token=abc")
    path = service.diagnostics(tmp_path / "bundle.json", settings)
    text = path.read_text()
    bundle = json.loads(text)
    assert "s3cret" not in text and "token=abc" not in text and "BEGIN PRIVATE KEY" not in text
    assert bundle["settings"]["cloud_url"] == "https://***@cloud.example:8443/api?***"
    assert bundle["store"]["integrity_ok"] is True
    assert bundle["audit_check"]["ok"] is True
    assert bundle["versions"]["textual"] == "8.2.8"
    assert len(bundle["audit"]) >= 5 and bundle["journal"] == []
