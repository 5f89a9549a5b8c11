"""The command line against a real mock cloud process, as a script would use it."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest

from tests.support.cloud_process import running_cloud, smartlic

A = "SmartServer-A"


@pytest.fixture
def cloud(tmp_path):
    with running_cloud(tmp_path / "cloud") as proc:
        yield proc


@pytest.fixture
def env(tmp_path, cloud) -> dict[str, str]:
    env = {
        "SMARTLIC_DATA_DIR": str(tmp_path / "device"),
        "SMARTLIC_CLOUD_URL": cloud.url,
        "SMARTLIC_RETRIES": "1",
    }
    done = smartlic(env, "trust", "add", str(cloud.public_key))
    assert done.returncode == 0, done.stderr
    return env


def ok(env: dict[str, str], *args: str) -> dict:
    done = smartlic(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def store_rows(env: dict[str, str]) -> list[tuple]:
    db = sqlite3.connect(Path(env["SMARTLIC_DATA_DIR"]) / "smartlic.db")
    try:
        return [
            *db.execute("SELECT * FROM licenses ORDER BY license_id"),
            *db.execute("SELECT * FROM segments ORDER BY install_code"),
            *db.execute("SELECT device_id, state FROM devices ORDER BY device_id"),
        ]
    finally:
        db.close()


def test_full_round_trip(env, cloud) -> None:
    seg = ok(env, "accounts", "set", A, cloud.demo_customer_id)["segment"]
    assert seg["customer_id"] == cloud.demo_customer_id
    offer = ok(env, "cloud-licenses", A)
    capacity = [x for x in offer["licenses"] if x["kind"] == "capacity" and x["devices"] in (25, 100)][:2]
    assert len(capacity) == 2
    ids = [x["license_id"] for x in capacity]
    activated = ok(env, "activate", A, *ids)
    assert sorted(activated["activated"]) == sorted(ids)
    licenses = ok(env, "licenses")["licenses"]
    assert sorted(r["license_id"] for r in licenses) == sorted(ids)
    assert all(r["status"] == "Active" and r["segment_name"] == A for r in licenses)
    devices = ok(env, "devices", A)["devices"]
    expected = min(len(devices), sum(x["devices"] for x in capacity))
    assert sum(d["state"] != "unlicensed" for d in devices) == expected
    assert ok(env, "provision", A, "--all")["provisioned"]

    refused = smartlic(env, "transfer", A)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    transferred = ok(env, "transfer", A, "--yes")
    assert sorted(transferred["returned"]) == sorted(ids)
    assert ok(env, "licenses")["licenses"] == []
    assert all(d["state"] == "unlicensed" for d in ok(env, "devices", A)["devices"])
    back = {x["license_id"] for x in ok(env, "cloud-licenses", A)["licenses"]}
    assert set(ids) <= back
    status = smartlic(env, "status", "--json")
    assert status.returncode == 0, status.stdout


def test_bad_input_gets_clear_errors_and_changes_nothing(env, cloud) -> None:
    ok(env, "accounts", "set", A, cloud.demo_customer_id)
    before = store_rows(env)

    bad = smartlic(env, "accounts", "set", A, "2133c667-af41-4518-94df")
    assert bad.returncode == 2
    assert bad.stderr.startswith("smartlic: ") and bad.stderr.count("\n") == 1
    assert "Traceback" not in bad.stderr

    unknown_license = smartlic(env, "activate", A, "2133c667-af41-4518-94df-a2bb3b775330")
    assert unknown_license.returncode == 1
    assert "license_not_found" in unknown_license.stdout

    not_uuid = smartlic(env, "activate", A, "abc")
    assert not_uuid.returncode == 2

    unknown_segment = smartlic(env, "licenses", "nowhere")
    assert unknown_segment.returncode == 1 and "SmartServer-A" in unknown_segment.stderr
    assert store_rows(env) == before


def test_unknown_customer(env) -> None:
    ok(env, "accounts", "set", A, "2133c667-af41-4518-94df-a2bb3b775330")
    done = smartlic(env, "cloud-licenses", A)
    assert done.returncode == 1
    assert "does not know this Customer ID" in done.stderr


def test_untrusted_cloud_key_refuses_documents(tmp_path, cloud) -> None:
    env = {"SMARTLIC_DATA_DIR": str(tmp_path / "fresh"), "SMARTLIC_CLOUD_URL": cloud.url}
    ok(env, "accounts", "set", A, cloud.demo_customer_id)
    lic = ok(env, "cloud-licenses", A)["licenses"][0]["license_id"]
    before = store_rows(env)
    done = smartlic(env, "activate", A, lic)
    assert done.returncode == 1
    assert "unknown key" in done.stderr and "smartlic trust add" in done.stderr
    assert store_rows(env) == before


def test_cloud_down_exit_3(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "SMARTLIC_DATA_DIR": str(tmp_path / "d"),
        "SMARTLIC_CLOUD_URL": f"http://127.0.0.1:{port}",
        "SMARTLIC_RETRIES": "0",
    }
    ok(env, "accounts", "set", A, "2133c667-af41-4518-94df-a2bb3b775330")
    before = store_rows(env)
    done = smartlic(env, "cloud-licenses", A)
    assert done.returncode == 3
    assert "Cannot reach the license cloud" in done.stderr
    assert store_rows(env) == before


def test_corrupted_store_is_reported_not_wiped(tmp_path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    store = data / "smartlic.db"
    store.write_bytes(b"this is not a database" * 100)
    env = {"SMARTLIC_DATA_DIR": str(data)}
    done = smartlic(env, "accounts", "set", A, "2133c667-af41-4518-94df-a2bb3b775330")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "smartlic: " in done.stderr
    assert store.read_bytes() == b"this is not a database" * 100


def test_invalid_setting_exit_2(tmp_path) -> None:
    done = smartlic({"SMARTLIC_DATA_DIR": str(tmp_path), "SMARTLIC_TIMEOUT": "later"}, "licenses")
    assert done.returncode == 2
    assert "SMARTLIC_TIMEOUT" in done.stderr and done.stderr.count("\n") == 1


def test_offline_round_trip_over_http(tmp_path, env, cloud) -> None:
    import httpx

    ok(env, "accounts", "set", A, cloud.demo_customer_id)
    wanted = [x["license_id"] for x in ok(env, "cloud-licenses", A)["licenses"] if x["kind"] == "capacity"][
        :2
    ]
    request = tmp_path / "request.json"
    ok(env, "offline", "request", A, "-o", str(request))

    with httpx.Client(base_url=cloud.url, timeout=30) as portal:
        fulfilled = portal.post(
            "/api/v1/portal/fulfil", json={"request": json.loads(request.read_text()), "license_ids": wanted}
        )
        assert fulfilled.status_code == 200, fulfilled.text
        response = tmp_path / "response.json"
        response.write_text(fulfilled.text)
        assert sorted(ok(env, "add-license", str(response))["added"]) == sorted(wanted)
        assert sorted(r["license_id"] for r in ok(env, "licenses")["licenses"]) == sorted(wanted)
        replay = smartlic(env, "add-license", str(response))
        assert replay.returncode == 1 and "no outstanding request" in replay.stderr

        receipt = tmp_path / "receipt.json"
        ok(env, "offline", "return", A, "-o", str(receipt))
        assert ok(env, "licenses")["licenses"] == []
        credited = portal.post("/api/v1/portal/return", json={"receipt": json.loads(receipt.read_text())})
        assert credited.status_code == 200, credited.text
        assert sorted(credited.json()["credited"]) == sorted(wanted)
    assert set(wanted) <= {x["license_id"] for x in ok(env, "cloud-licenses", A)["licenses"]}


def test_global_options_before_and_after_the_subcommand(env) -> None:
    for args in (("--json", "accounts"), ("accounts", "--json"), ("--json", "accounts", "--debug")):
        done = smartlic(env, *args)
        assert done.returncode == 0, done.stderr
        assert [s["name"] for s in json.loads(done.stdout)["segments"]] == [A, "SmartServer-B"]


def test_expect_refuses_an_overtaken_customer_id_and_note(env, cloud) -> None:
    demo = cloud.demo_customer_id
    ok(env, "accounts", "set", A, demo, "--expect", "")
    other = "11111111-2222-4333-8444-555555555555"
    done = smartlic(env, "--json", "accounts", "set", A, other, "--expect", "")
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "changed_meanwhile" and error["stored"] == demo
    assert "changed meanwhile" in done.stderr
    assert ok(env, "accounts")["segments"][0]["customer_id"] == demo, "nothing was saved"

    license_id = ok(env, "cloud-licenses", A)["licenses"][0]["license_id"]
    ok(env, "activate", A, license_id)
    ok(env, "note", license_id, "Plant room", "--expect", "")
    done = smartlic(env, "note", license_id, "Rack B", "--expect", "")
    assert done.returncode == 1 and "Plant room" in done.stderr
    ok(env, "note", license_id, "Rack B", "--expect", "Plant room")
    assert ok(env, "licenses")["licenses"][0]["note"] == "Rack B"
