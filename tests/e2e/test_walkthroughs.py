"""The README walkthroughs, run as a new user would type them (embedded demo, no flags)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

A = "SmartServer-A"


def run(env: dict[str, str], module: str, *args: str, code: int = 0) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", module, *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def smartlic(env: dict[str, str], *args: str, code: int = 0) -> dict:
    return run(env, "tui.cli", *args, code=code)


def cloud(env: dict[str, str], *args: str, code: int = 0) -> dict:
    return run(env, "core.mock_cloud.cli", *args, code=code)


def test_partner_round_trip(tmp_path) -> None:
    env = {"SMARTLIC_DATA_DIR": str(tmp_path / "data")}
    customer = cloud(env, "partner", "customers", "create", "Plant North")["customer_id"]
    added = cloud(env, "partner", "licenses", "add", "--kind", "capacity", "--devices", "100", "--count", "2")
    ids = [lic["license_id"] for lic in added["items"]]
    assert len(ids) == 2
    inventory = {lic["license_id"] for lic in cloud(env, "partner", "inventory")["items"]}
    assert set(ids) <= inventory
    cloud(env, "partner", "hand", "--customer", customer, *ids)
    assert set(ids).isdisjoint(lic["license_id"] for lic in cloud(env, "partner", "inventory")["items"])

    smartlic(env, "accounts", "set", A, customer)
    offered = {lic["license_id"] for lic in smartlic(env, "cloud-licenses", A)["licenses"]}
    assert offered == set(ids)
    assert sorted(smartlic(env, "activate", A, *ids)["activated"]) == sorted(ids)
    devices = smartlic(env, "devices", A)["devices"]
    assert all(d["state"] == "unprovisioned" for d in devices)  # 200 capacity covers all of A's devices
    status = smartlic(env, "status", code=1)  # capacity without maintenance: short, so it alerts
    assert any(n["kind"] == "shortfall" for n in status["warnings"])


def test_offline_round_trip(tmp_path) -> None:
    env = {"SMARTLIC_DATA_DIR": str(tmp_path / "data")}
    customer = smartlic(env, "demo-info")["customer_id"]
    smartlic(env, "accounts", "set", A, customer)
    wanted = next(
        lic["license_id"]
        for lic in smartlic(env, "cloud-licenses", A)["licenses"]
        if lic["kind"] == "capacity" and lic["devices"] == 25
    )
    request = tmp_path / "request.json"
    response = tmp_path / "response.json"
    receipt = tmp_path / "receipt.json"
    smartlic(env, "offline", "request", A, "-o", str(request))
    assert json.loads(request.read_text())["payload"]["customer_id"] == customer

    cloud(env, "portal", "fulfil", str(request), "--license", wanted, "-o", str(response))
    added = smartlic(env, "add-license", str(response))
    assert added["added"] == [wanted]
    assert [r["license_id"] for r in smartlic(env, "licenses")["licenses"]] == [wanted]
    again = smartlic(env, "add-license", str(response), code=1)
    assert again["error"]["code"] == "request_not_outstanding"

    smartlic(env, "offline", "return", A, "-o", str(receipt))
    assert smartlic(env, "licenses")["licenses"] == []
    credited = cloud(env, "portal", "return", str(receipt))
    assert credited["credited"] == [wanted]
    assert wanted in {lic["license_id"] for lic in smartlic(env, "cloud-licenses", A)["licenses"]}

    tampered = json.loads(receipt.read_text())
    tampered["payload"]["license_ids"] = [customer]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(tampered))
    cloud(env, "portal", "return", str(forged), code=1)
