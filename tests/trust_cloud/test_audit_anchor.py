"""An audit log that cannot be rewritten quietly: the signed head, anchored in the cloud at sync.

The forgery is done as a script with write access to the store would: drop the triggers, rewrite
an entry's actor, delete the last two entries, recompute the chain with core.audit_chain (and the
head in meta, and even the signed head, with the device key read from the same store), restore
the triggers. Locally that is a perfect history; the cloud's anchor is what catches it.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from core.audit_chain import recomputed_hash
from core.audit_head import sign_head
from core.models import AuditEntry
from core.service import LicenseService
from core.signing import Signer
from tests.support.cli import A, Cli
from tests.support.device_signing import DeviceAuth
from tests.support.services import make_service

CODE = "17q5t6a"
HEAD = f"/api/v1/devices/{CODE}/audit-head"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("SMARTLIC_DATA_DIR", str(tmp_path / "data"))
    return Cli(capsys)


def twelve_entries_and_a_sync(run: Cli) -> None:
    customer = run.json("demo-info")["customer_id"]
    for _ in range(3):
        run("accounts", "set", A, customer)
        run("accounts", "set", A, "")
    run("accounts", "set", A, customer)
    run("sync")
    entries = run.json("audit")["entries"]
    assert run.json("sync")["audit_anchored"] == len(entries) >= 7


def forge(store_path: Path, entries: list[dict], *, resign: bool = True) -> None:
    """Rewrite entry 3's actor, drop the last two entries, recompute everything after."""
    kept = [AuditEntry.model_validate(e) for e in entries[:-2]]
    db = sqlite3.connect(store_path)
    triggers = [sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
    assert len(triggers) == 2
    with db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute("DELETE FROM audit WHERE seq > ?", (kept[-1].seq,))
        db.execute("UPDATE audit SET actor = 'someone else (cli)' WHERE seq = 3")
        prev = kept[1].hash
        for entry in kept[2:]:
            actor = "someone else (cli)" if entry.seq == 3 else entry.actor
            digest = recomputed_hash(entry.model_copy(update={"prev_hash": prev, "actor": actor}))
            db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, entry.seq))
            prev = digest
        db.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (f"{kept[-1].seq}:{prev}",))
        if resign:  # the thief can read the device key in the same store
            signed = db.execute("SELECT value FROM meta WHERE key = 'audit_head_signed'").fetchone()[0]
            code = json.loads(signed)["install_code"]
            pem = db.execute("SELECT value FROM meta WHERE key = ?", (f"device_key:{code}",)).fetchone()[0]
            head = sign_head(Signer.from_pem(pem.encode()), code, kept[-1].seq, prev, kept[-1].at)
            db.execute("UPDATE meta SET value = ? WHERE key = 'audit_head_signed'", (head.model_dump_json(),))
        for sql in triggers:
            db.execute(sql)
    db.close()


def test_a_rewritten_history_fails_verify_once_a_head_was_anchored(run: Cli, tmp_path: Path) -> None:
    twelve_entries_and_a_sync(run)
    check = run.json("audit", "verify")
    assert check["ok"] and check["cloud"] == "matches"
    forge(tmp_path / "data" / "smartlic.db", run.json("audit")["entries"])

    assert run.json("audit")["entries"][2]["actor"] == "someone else (cli)"
    assert run.json("audit")["entries"][-1]["seq"] == check["entries"] - 2

    run("audit", "verify", code=1)
    assert "The audit log was rewritten" in run.out and "had " in run.out
    assert "restore the store from a backup" in run.out and run.out.count("\n") == 1
    check = run.json("audit", "verify", code=1)
    assert check["cloud"] == "differs" and not check["ok"]

    # A later sync must not move the anchor onto the rewritten history.
    customer = run.json("demo-info")["customer_id"]
    run("accounts", "set", A, "")
    run("accounts", "set", A, customer)
    report = run.json("sync")
    assert report["audit_anchored"] is None and "rewritten" in report["audit_warning"]
    run("audit", "verify", code=1)
    assert "The audit log was rewritten" in run.out


def test_a_forgery_without_the_key_fails_locally(run: Cli, tmp_path: Path) -> None:
    twelve_entries_and_a_sync(run)
    forge(tmp_path / "data" / "smartlic.db", run.json("audit")["entries"], resign=False)
    check = run.json("audit", "verify", code=1)
    assert check["cloud"] == "not checked" and "rewritten" in check["message"]


async def test_an_unreachable_cloud_says_the_check_was_local(tmp_path: Path, service: LicenseService) -> None:
    service.set_customer_id(A, str((await service.demo_info()).customer_id))
    offline = make_service(tmp_path / "data", cloud_url="http://127.0.0.1:9")  # discard: nothing listens
    try:
        check = await offline.audit_verify_with_cloud()
    finally:
        await offline.aclose()
    assert check.ok and check.cloud == "unreachable"
    assert "local only" in check.message and "could not be reached" in check.message


# --- the cloud's side: only forward, only along the held history, only by the bound key -------


def head_body(signer: Signer, entries: int, digest: str, held_hash: str | None = None) -> dict:
    from tests.support.clock import fixed_clock

    head = sign_head(signer, CODE, entries, digest, fixed_clock())
    return {"head": head.model_dump(mode="json"), "held_hash": held_hash}


async def test_the_cloud_keeps_the_newest_head_and_refuses_going_back(
    device: httpx.AsyncClient, keys: DeviceAuth
) -> None:
    assert (await device.get(HEAD)).json()["code"] == "no_audit_head"
    mine = keys.signer(CODE)
    assert (await device.put(HEAD, json=head_body(mine, 12, "a" * 64))).status_code == 200
    assert (await device.put(HEAD, json=head_body(mine, 12, "a" * 64))).status_code == 200  # again: same
    assert (await device.get(HEAD)).json()["entries"] == 12

    behind = await device.put(HEAD, json=head_body(mine, 10, "b" * 64))
    assert (behind.status_code, behind.json()["code"]) == (409, "audit_head_behind")
    sideways = await device.put(HEAD, json=head_body(mine, 12, "b" * 64))
    assert (sideways.status_code, sideways.json()["code"]) == (409, "audit_head_diverged")
    other_history = await device.put(HEAD, json=head_body(mine, 13, "c" * 64, held_hash="b" * 64))
    assert (other_history.status_code, other_history.json()["code"]) == (409, "audit_head_diverged")
    forward = await device.put(HEAD, json=head_body(mine, 13, "c" * 64, held_hash="a" * 64))
    assert forward.status_code == 200 and (await device.get(HEAD)).json()["hash"] == "c" * 64


async def test_the_cloud_refuses_a_head_signed_by_another_key(
    device: httpx.AsyncClient, keys: DeviceAuth
) -> None:
    assert (await device.get(HEAD)).status_code == 404  # binds the genuine key
    forged = await device.put(HEAD, json=head_body(Signer.generate(), 20, "d" * 64))
    assert (forged.status_code, forged.json()["code"]) == (422, "audit_head_signature")
    body = head_body(keys.signer(CODE), 20, "d" * 64)
    body["head"]["entries"] = 21  # the signature covers the count
    assert (await device.put(HEAD, json=body)).json()["code"] == "audit_head_signature"
    body = head_body(keys.signer(CODE), 20, "d" * 64)
    body["head"]["signature"] = base64.b64encode(b"x" * 64).decode()
    assert (await device.put(HEAD, json=body)).json()["code"] == "audit_head_signature"
    assert (await device.get(HEAD)).status_code == 404


async def test_an_unsigned_call_moves_no_head(curl: httpx.AsyncClient, keys: DeviceAuth) -> None:
    response = await curl.put(HEAD, json=head_body(keys.signer(CODE), 5, "e" * 64))
    assert response.status_code == 401
