"""Fleet contract of the command line: every mutating command's --json says "changed"; repeating a
command already in effect succeeds with changed false; --check says what would change and changes
nothing (the store is byte-for-byte the same)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.support.cloud_process import smartlic

A = "SmartServer-A"


def run(env: dict[str, str], *args: str, code: int = 0) -> dict:
    done = smartlic(env, *args, "--json")
    assert done.returncode == code, (args, done.stdout, done.stderr)
    return json.loads(done.stdout)


def state(env: dict[str, str]) -> list[tuple]:
    data = Path(env["SMARTLIC_DATA_DIR"])
    db = sqlite3.connect(data / "smartlic.db")
    try:
        return [
            *sorted(p.name for p in (data / "trust").glob("*.pem")),
            *db.execute("SELECT license_id, install_code FROM licenses ORDER BY 1"),
            *db.execute("SELECT install_code, customer_id FROM segments ORDER BY 1"),
            *db.execute("SELECT device_id, state FROM devices ORDER BY 1"),
            *db.execute("SELECT count(*) FROM audit"),
        ]
    finally:
        db.close()


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"SMARTLIC_DATA_DIR": str(tmp_path / "data")}


def checked_then_done(env: dict[str, str], *args: str) -> tuple[dict, dict]:
    """--check first (nothing may change), then the command itself."""
    before = state(env)
    plan = run(env, *args, "--check")
    assert plan["check"] is True
    assert state(env) == before, f"--check changed the store: {args}"
    return plan, run(env, *args)


def test_repeating_changes_nothing_and_check_predicts(env) -> None:
    customer = run(env, "demo-info")["customer_id"]
    plan, done = checked_then_done(env, "accounts", "set", A, customer)
    assert plan["changed"] is True and done["changed"] is True
    plan, done = checked_then_done(env, "accounts", "set", A, customer)
    assert plan["changed"] is False and done["changed"] is False and plan["unchanged"]

    offer = run(env, "cloud-licenses", A)["licenses"]
    ids = [x["license_id"] for x in offer if x["kind"] == "capacity"][:2]
    plan, done = checked_then_done(env, "activate", A, *ids)
    assert plan["changed"] is True and len(plan["changes"]) == 2 and done["changed"] is True
    plan, done = checked_then_done(env, "activate", A, *ids)
    assert (
        plan["changed"] is False
        and done["changed"] is False
        and sorted(done["already_active"]) == sorted(ids)
    )

    plan, done = checked_then_done(env, "provision", A, "--all")
    assert plan["changed"] is True and done["changed"] is True
    assert len(plan["changes"]) == len(done["provisioned"])
    plan, done = checked_then_done(env, "provision", A, "--all")
    assert plan["changed"] is False and done["changed"] is False

    plan, done = checked_then_done(env, "sync")
    assert plan["changed"] is False and done["changed"] is False

    refused = run(env, "provision", A, "NO-SUCH-DEVICE", "--check", code=1)
    assert "NO-SUCH-DEVICE" in refused["refused"]

    plan = run(env, "transfer", A, "--check")
    assert plan["changed"] is True and any("become unlicensed" in line for line in plan["changes"])
    done = run(env, "transfer", A, "--yes")
    assert done["changed"] is True
    assert run(env, "transfer", A, "--check", code=1)["refused"]


def test_trust_add_twice(env, tmp_path) -> None:
    from core.signing import Signer

    key = tmp_path / "key.pem"
    key.write_bytes(Signer.generate().public_pem())
    run(env, "accounts")  # the store exists
    plan, done = checked_then_done(env, "trust", "add", str(key))
    assert plan["changed"] is True and done["changed"] is True
    plan, done = checked_then_done(env, "trust", "add", str(key))
    assert plan["changed"] is False and done["changed"] is False


def contract_keys() -> dict[str, set[str]]:
    """README, The JSON contract: command -> the quoted top-level keys of its `--json` answer."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = text.index("### The JSON contract")
    section = text[start : text.index("\n## ", start)]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) >= 2 and cells[0].startswith("| `"):
            command = cells[0].removeprefix("| `").split("`")[0]
            answer = cells[1].split(" / ")[0]
            inner = answer[answer.index("{") + 1 : answer.rindex("}")]
            while re.search(r"\[[^\[\]]*\]|\{[^{}]*\}", inner):  # drop nested lists and objects
                inner = re.sub(r"\[[^\[\]]*\]|\{[^{}]*\}", "", inner)
            rows[command] = set(re.findall(r'"(\w+)"', inner))
    return rows


def test_json_answers_match_the_readme_contract(env, tmp_path) -> None:
    contract = contract_keys()
    customer = run(env, "demo-info")["customer_id"]
    run(env, "accounts", "set", A, customer)
    lid = next(x["license_id"] for x in run(env, "cloud-licenses", A)["licenses"] if x["kind"] == "capacity")
    answers = {
        "demo-info": [],
        "accounts set SEGMENT CUSTOMER_ID": ["accounts", "set", A, customer],
        "accounts": ["accounts"],
        "cloud-licenses SEGMENT": ["cloud-licenses", A],
        "activate SEGMENT ID...": ["activate", A, lid],
        "licenses [SEGMENT]": ["licenses"],
        "devices [SEGMENT]": ["devices", A],
        "provision SEGMENT (--all \\| ID...)": ["provision", A, "--all"],
        "sync": ["sync"],
        "offline request SEGMENT -o FILE": ["offline", "request", A, "-o", str(tmp_path / "req.json")],
        "diagnostics -o FILE": ["diagnostics", "-o", str(tmp_path / "bundle.json")],
    }
    for command, args in answers.items():
        documented = contract[command]
        answer = run(env, *(args or command.split()))
        assert documented <= set(answer), (command, documented - set(answer))
        assert set(answer) <= documented, (command, set(answer) - documented)
    status = smartlic(env, "status", "--json")
    assert set(json.loads(status.stdout)) == contract["status"]
