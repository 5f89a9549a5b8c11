"""``smartlic-cloud portal ...`` and ``partner ...`` on a data folder, no server involved."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.mock_cloud.app import create_app
from core.mock_cloud.cli import main
from core.models import OfflineResponse, SignedDocument
from core.signing import Signer, load_public_key, verify_with
from tests.mock_cloud.offline import HERE, OTHER, dump, receipt_doc, request_doc, tampered

ROOT = Path(__file__).resolve().parents[2]


class Cli:
    """Runs ``main`` in-process on one data folder and keeps what it printed."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys
        self.out = self.err = ""

    def __call__(self, *argv: str, data: bool = True) -> int:
        extra = ["--data", str(self.data)] if data else []
        code = main([*argv, *extra])
        captured = self.capsys.readouterr()
        self.out, self.err = captured.out, captured.err
        return code

    def json(self, *argv: str) -> Any:
        code = self(*argv, "--json")
        assert code == 0, self.err
        assert self.err == ""
        return json.loads(self.out)

    def refused(self, exit_code: int, *argv: str) -> dict[str, Any] | None:
        """Runs with --json; checks the exit code and the one stderr line; the problem, if any."""
        try:
            code = self(*argv, "--json")
        except SystemExit as exc:  # argparse's own refusals
            code = int(exc.code or 0)
            self.out, self.err = "", self.capsys.readouterr().err
        assert code == exit_code, (self.out, self.err)
        assert self.err.count("\n") == 1 and self.err.startswith("smartlic-cloud")
        assert "Traceback" not in self.err
        return json.loads(self.out) if self.out else None


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(tmp_path / "cloud", capsys)


def demo_customer(cli: Cli) -> str:
    items = cli.json("partner", "customers", "list")["items"]
    return str(next(c["customer_id"] for c in items if c["name"] == "Demo Customer"))


def write(path: Path, document: SignedDocument) -> Path:
    path.write_text(json.dumps(dump(document)))
    return path


def test_partner_commands(cli: Cli) -> None:
    account = cli.json("partner", "customers", "create", "Plant 9")
    assert set(account) == {"customer_id", "name"} and account["name"] == "Plant 9"
    names = [c["name"] for c in cli.json("partner", "customers", "list")["items"]]
    assert names == ["Demo Customer", "Plant 9"]

    added = cli.json("partner", "licenses", "add", "--kind", "maintenance", "--devices", "50", "--term", "1")
    cap = cli.json("partner", "licenses", "add", "--kind", "capacity", "--devices", "75", "--count", "2")
    ids = [i["license_id"] for i in added["items"] + cap["items"]]
    assert added["items"][0]["expires_on"] is not None and cap["items"][0]["expires_on"] is None
    mine = {i["license_id"] for i in cli.json("partner", "inventory")["items"]}
    assert set(ids) <= mine

    handed = cli.json("partner", "hand", "--customer", account["customer_id"], *ids)
    assert [i["license_id"] for i in handed["items"]] == ids
    theirs = cli.json("partner", "inventory", "--customer", account["customer_id"])["items"]
    assert [i["license_id"] for i in theirs] == ids
    assert not set(ids) & {i["license_id"] for i in cli.json("partner", "inventory")["items"]}

    marked = cli.json("partner", "earmark", ids[1], OTHER)
    assert marked["earmarked_install_code"] == OTHER
    assert cli.json("partner", "earmark", ids[1], "--clear")["earmarked_install_code"] is None

    # Without --json: readable lines, still exit 0.
    assert cli("partner", "inventory", "--customer", account["customer_id"]) == 0
    assert ids[0] in cli.out and "50-device maintenance, 1-year" in cli.out
    assert (
        cli("partner", "earmark", ids[2], HERE) == 0 and f"reserved for segment controller {HERE}" in cli.out
    )


def test_partner_refusals_and_exit_codes(cli: Cli) -> None:
    customer = demo_customer(cli)
    problem = cli.refused(1, "partner", "customers", "list", "--token", "wrong")
    assert problem is not None and problem["code"] == "unauthorized" and problem["status"] == 401
    problem = cli.refused(1, "partner", "customers", "create", "demo customer")
    assert problem is not None and problem["code"] == "customer_exists"
    problem = cli.refused(1, "partner", "inventory", "--customer", "2133c667-af41-4518-94df-a2bb3b775330")
    assert problem is not None and problem["code"] == "customer_not_found"
    seeded = cli.json("partner", "inventory", "--customer", customer)["items"][0]["license_id"]
    other = cli.json("partner", "customers", "create", "Other")["customer_id"]
    problem = cli.refused(1, "partner", "hand", "--customer", other, seeded)
    assert problem is not None and problem["code"] == "license_not_in_inventory"
    # Usage errors: exit 2.
    problem = cli.refused(2, "partner", "licenses", "add", "--kind", "maintenance", "--devices", "5")
    assert problem is not None and problem["code"] == "invalid_input"
    assert "1 or 3 years" in cli.err
    cli.refused(2, "partner", "licenses", "add", "--kind", "capacity", "--devices", "5", "--term", "1")
    cli.refused(2, "partner", "licenses", "add", "--kind", "capacity", "--devices", "0")
    cli.refused(2, "partner", "licenses", "add", "--kind", "capacity", "--devices", "5", "--count", "1001")
    cli.refused(2, "partner", "licenses", "add", "--kind", "gold", "--devices", "5")
    cli.refused(2, "partner", "earmark", seeded, "NOT-A-CODE")
    cli.refused(2, "partner", "earmark", seeded, HERE, "--clear")
    cli.refused(2, "partner", "earmark", seeded)
    cli.refused(2, "partner", "hand", "--customer", "nope", seeded)
    cli.refused(2, "partner", "hand", "--customer", customer)


def test_portal_fulfil_and_return(cli: Cli, tmp_path: Path) -> None:
    customer = demo_customer(cli)
    free = [
        i["license_id"]
        for i in cli.json("partner", "inventory", "--customer", customer)["items"]
        if i["earmarked_install_code"] is None
    ]
    device = Signer.generate()
    request = write(tmp_path / "request.json", request_doc(device, HERE, customer))
    out = tmp_path / "response.json"

    summary = cli.json(
        "portal", "fulfil", str(request), "--license", free[0], "--license", free[1], "-o", str(out)
    )
    assert summary == {
        "request_id": json.loads(request.read_text())["payload"]["request_id"],
        "install_code": HERE,
        "customer_id": customer,
        "license_ids": free[:2],
        "response_file": str(out),
    }
    cloud_key = load_public_key((cli.data / "cloud_key.pub").read_bytes())
    response = OfflineResponse.model_validate(
        verify_with(cloud_key, SignedDocument.model_validate_json(out.read_text()))
    )
    assert (response.install_code, str(response.customer_id)) == (HERE, customer)
    assert [verify_with(cloud_key, d)["license_id"] for d in response.licenses] == free[:2]
    where = {
        i["license_id"]: i["install_code"]
        for i in cli.json("partner", "inventory", "--customer", customer)["items"]
    }
    assert where[free[0]] == where[free[1]] == HERE and where[free[2]] is None

    # Again, with other licenses asked for: the same file, byte for byte, and nothing more assigned.
    first = out.read_bytes()
    again = tmp_path / "again.json"
    assert cli("portal", "fulfil", str(request), "--license", free[2], "-o", str(again)) == 0
    assert again.read_bytes() == first
    assert "Add License" in cli.out

    receipt = write(tmp_path / "receipt.json", receipt_doc(device, HERE, customer, free[:2]))
    answer = cli.json("portal", "return", str(receipt))
    assert answer["credited"] == free[:2] and answer["install_code"] == HERE
    assert cli.json("portal", "return", str(receipt)) == answer
    where = {
        i["license_id"]: i["install_code"]
        for i in cli.json("partner", "inventory", "--customer", customer)["items"]
    }
    assert where[free[0]] is None and where[free[1]] is None


def test_portal_refusals_and_exit_codes(cli: Cli, tmp_path: Path) -> None:
    customer = demo_customer(cli)
    license_id = cli.json("partner", "inventory", "--customer", customer)["items"][0]["license_id"]
    device = Signer.generate()
    out = tmp_path / "response.json"
    bad = write(tmp_path / "bad.json", tampered(request_doc(device, HERE, customer), install_code=OTHER))
    problem = cli.refused(1, "portal", "fulfil", str(bad), "--license", license_id, "-o", str(out))
    assert problem is not None and problem["code"] == "invalid_request_signature"
    assert not out.exists()
    stranger = write(
        tmp_path / "stranger.json", request_doc(device, HERE, "2133c667-af41-4518-94df-a2bb3b775330")
    )
    problem = cli.refused(1, "portal", "fulfil", str(stranger), "--license", license_id, "-o", str(out))
    assert problem is not None and problem["code"] == "customer_not_found"
    receipt = write(tmp_path / "receipt.json", receipt_doc(device, OTHER, customer, [license_id]))
    problem = cli.refused(1, "portal", "return", str(receipt))
    assert problem is not None and problem["code"] == "unknown_device_key"

    # Bad input: exit 2.
    good = write(tmp_path / "good.json", request_doc(device, HERE, customer))
    (tmp_path / "junk.json").write_text("{not json")
    problem = cli.refused(
        2, "portal", "fulfil", str(tmp_path / "junk.json"), "--license", license_id, "-o", str(out)
    )
    assert problem is not None and problem["code"] == "invalid_file"
    problem = cli.refused(
        2, "portal", "fulfil", str(tmp_path / "missing.json"), "--license", license_id, "-o", str(out)
    )
    assert problem is not None and problem["code"] == "unreadable_file"
    cli.refused(2, "portal", "fulfil", str(good), "--license", "nope", "-o", str(out))
    cli.refused(2, "portal", "fulfil", str(good), "-o", str(out))
    cli.refused(2, "portal", "fulfil", str(good), "--license", license_id)
    cli.refused(2, "portal", "return")
    # Not fulfilled by any of the refusals above.
    assert cli("portal", "fulfil", str(good), "--license", license_id, "-o", str(out)) == 0


def test_default_data_folder_is_the_embedded_clouds(tmp_path: Path) -> None:
    """No --data: the folder under SMARTLIC_DATA_DIR that the embedded demo cloud uses too."""
    env = {**os.environ, "SMARTLIC_DATA_DIR": str(tmp_path / "smartlic")}
    embedded = create_app(tmp_path / "smartlic" / "cloud", rng=random.Random(3))
    embedded.state.db.close()

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core.mock_cloud.cli", *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = run("partner", "customers", "create", "From The CLI", "--json")
    assert made.returncode == 0, made.stderr
    listed = json.loads(run("partner", "customers", "list", "--json").stdout)["items"]
    assert {c["customer_id"] for c in listed} >= {
        json.loads(made.stdout)["customer_id"],
        str(embedded.state.demo_customer_id),
    }
    refused = run("partner", "customers", "list", "--token", "nope")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
