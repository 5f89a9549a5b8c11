"""The Ansible playbooks against three controllers on this machine and one real mock cloud: the
README's "Many controllers" walkthrough as written, then what a fleet needs of it: the first run
changes, the second reports changed=0, --check changes nothing, the report lists the demo's expiring
license, and a controller whose cloud is unreachable fails alone."""

from __future__ import annotations

import json
import os
import re
import subprocess

from tests.e2e.test_readme_sections import ROOT, checkout, run_section
from tests.notify.servers import free_port
from tests.support.cloud_process import running_cloud

HOSTS = ("plant-north", "plant-south", "plant-east")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recaps(output: str) -> list[dict[str, dict[str, int]]]:
    """Each PLAY RECAP of ``output``: host -> its counts."""
    blocks = output.split("PLAY RECAP")[1:]
    return [
        {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "failed": int(m[4])} for m in RECAP.findall(block)}
        for block in blocks
    ]


def test_many_controllers_walkthrough(tmp_path) -> None:
    fleet = tmp_path / "fleet"
    port = free_port()
    output = run_section(
        tmp_path,
        "Many controllers",
        {"/tmp/smartlic-fleet": str(fleet), "8080": str(port)},
        timeout=240,
    )
    report_1, accounts_1, accounts_2, accounts_check, sync_1, report_2 = recaps(output)
    for host in HOSTS:
        assert report_1[host]["changed"] == 0 and report_1[host]["failed"] == 0
        # trust + Customer ID + activation: all three change on the first run ...
        assert accounts_1[host] == {"ok": 3, "changed": 3, "failed": 0}, accounts_1
        # ... and nothing on the second, nor in check mode.
        assert accounts_2[host]["changed"] == 0 and accounts_2[host]["failed"] == 0
        assert accounts_check[host]["changed"] == 0 and accounts_check[host]["failed"] == 0
        assert sync_1[host] == {"ok": 1, "changed": 0, "failed": 0}
        assert report_2[host]["changed"] == 0

    report = json.loads((tmp_path / "checkout" / "fleet-report.json").read_text())
    assert report["no_answer"] == []
    north = report["controllers"]["plant-north"]
    assert any("25-device maintenance, 1-year expires in 20 days" in line for line in north["expiring"])
    assert any("maintenance covers 25 of 100 devices" in line for line in north["short_of_maintenance"])
    assert report["controllers"]["plant-south"]["expiring"] == []
    assert all(report["controllers"][h]["unfinished_operations"] == 0 for h in HOSTS)


def test_unreachable_cloud_fails_alone(tmp_path) -> None:
    """plant-east's cloud URL points at a closed port: it fails, the other two finish."""
    work = checkout(tmp_path)
    fleet = tmp_path / "fleet"
    dead = tmp_path / "dead.yml"
    dead.write_text(
        f"controllers:\n  hosts:\n    plant-east:\n      smartlic_cloud_url: http://127.0.0.1:{free_port()}\n"
    )
    with running_cloud(fleet / "cloud") as cloud:
        env = {
            "FLEET": str(fleet),
            "SMARTLIC_CLOUD_URL": cloud.url,
            "SMARTLIC_RETRIES": "0",
            "PATH": f"{work / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(
            [
                "ansible-playbook",
                "-i",
                "contrib/ansible/inventory.example.yml",
                "-i",
                str(dead),
                "contrib/ansible/accounts.yml",
                "-e",
                f"smartlic_customer_id={cloud.demo_customer_id}",
            ],
            cwd=work,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    (recap,) = recaps(done.stdout)
    assert recap["plant-east"]["failed"] == 1
    assert "Cannot reach the license cloud" in done.stdout
    for host in ("plant-north", "plant-south"):
        assert recap[host]["failed"] == 0 and recap[host]["changed"] >= 2  # trust and Customer ID
