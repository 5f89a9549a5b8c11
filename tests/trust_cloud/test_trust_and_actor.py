"""The embedded demo's key, `smartlic trust list/remove`, the audit actor and the support bundle."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from core.errors import NotFound, Refused, SignatureInvalid
from core.models import LicenseGrant, LicenseKind, OfflineResponse
from core.service import LicenseService, default_actor
from core.settings import Settings
from core.signing import Signer, TrustStore
from tests.support.clock import FIXED_NOW
from tests.support.services import make_service
from tui.cli import main as smartlic

A = "SmartServer-A"
NOWHERE = "http://127.0.0.1:9"  # a cloud URL that is set, never called by these tests


def demo_response(data_dir: Path, request: Path, devices: int = 100_000) -> Path:
    """A license response file signed with the embedded demo cloud's key (in the data dir)."""
    signer = Signer.load_or_create(Settings(data_dir=data_dir).embedded_cloud_dir / "cloud_key.pem")
    asked = json.loads(request.read_text())["payload"]
    bound = {
        "customer_id": asked["customer_id"],
        "install_code": asked["install_code"],
        "issued_at": FIXED_NOW,
    }
    grant = LicenseGrant(license_id=uuid4(), kind=LicenseKind.CAPACITY, devices=devices, **bound)
    response = OfflineResponse(
        request_id=asked["request_id"],
        install_code=asked["install_code"],
        customer_id=UUID(asked["customer_id"]),
        issued_at=FIXED_NOW,
        licenses=[signer.sign(grant.model_dump(mode="json"))],
    )
    path = request.with_name("response.json")
    path.write_text(json.dumps(signer.sign(response.model_dump(mode="json")).model_dump(mode="json")))
    return path


async def embedded_request(data_dir: Path) -> tuple[Path, str]:
    """Use the embedded demo once (its key now sits in the data dir); an outstanding request on A."""
    service = make_service(data_dir)
    try:
        customer = str((await service.demo_info()).customer_id)
        service.set_customer_id(A, customer)
        request = data_dir.parent / "request.json"
        service.offline_request(A, request)
        (demo_key,) = [k.key_id for k in service.trust_list() if k.source == "embedded demo"]
    finally:
        await service.aclose()
    return request, demo_key


async def test_the_demo_key_is_not_trusted_once_a_cloud_url_is_set(tmp_path: Path) -> None:
    data = tmp_path / "data"
    request, demo_key = await embedded_request(data)
    response = demo_response(data, request)
    assert TrustStore(data / "trust").key_ids() == []  # the embedded key was never written there

    real = make_service(data, cloud_url=NOWHERE)
    try:
        assert demo_key not in [k.key_id for k in real.trust_list()]
        with pytest.raises(SignatureInvalid, match="unknown key"):
            real.add_license_file(response)
        assert real.license_rows() == []
    finally:
        await real.aclose()

    demo = make_service(data)  # back on the embedded demo: its own key is trusted again
    try:
        added = demo.add_license_file(response)
        assert [r.devices for r in demo.license_rows() if r.license_id in added.added] == [100_000]
    finally:
        await demo.aclose()


async def test_a_demo_key_written_by_an_older_version_is_removed_when_a_cloud_url_is_set(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    request, demo_key = await embedded_request(data)
    response = demo_response(data, request)
    pem = (Settings(data_dir=data).embedded_cloud_dir / "cloud_key.pub").read_bytes()
    assert TrustStore(data / "trust").add(pem) == demo_key  # what versions before this one did

    real = make_service(data, cloud_url=NOWHERE)
    try:
        assert TrustStore(data / "trust").key_ids() == []
        with pytest.raises(SignatureInvalid):
            real.add_license_file(response)
        (removed,) = [e for e in real.audit_entries() if e.operation == "trust-remove"]
        assert removed.detail["key_id"] == demo_key and "cloud URL" in removed.detail["reason"]
    finally:
        await real.aclose()


async def test_trust_remove_refuses_the_embedded_key_and_unknown_ids(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _, demo_key = await embedded_request(data)
    service = make_service(data)
    try:
        with pytest.raises(Refused, match="cloud URL"):
            service.trust_remove(demo_key)
        with pytest.raises(NotFound):
            service.trust_remove("0123456789abcdef")
        with pytest.raises(NotFound):
            service.trust_remove("../../etc/passwd")
    finally:
        await service.aclose()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = smartlic([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def test_trust_list_and_remove_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMARTLIC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMARTLIC_CLOUD_URL", NOWHERE)
    key_file = tmp_path / "cloud.pub"
    key_file.write_bytes(Signer.generate().public_pem())
    code, added = run_cli(capsys, "trust", "add", str(key_file))
    assert code == 0
    assert run_cli(capsys, "trust", "list") == (
        0,
        {"keys": [{"key_id": added["key_id"], "source": "trust store"}]},
    )
    assert run_cli(capsys, "trust", "remove", added["key_id"]) == (
        0,
        {"removed": added["key_id"], "changed": True},
    )
    assert run_cli(capsys, "trust", "list") == (0, {"keys": []})
    code, answer = run_cli(capsys, "trust", "remove", added["key_id"])
    assert code == 1 and answer["error"]["code"] == "key_not_found"
    code, answer = run_cli(capsys, "trust", "remove")
    assert code == 2
    _, audit = run_cli(capsys, "audit")
    assert [e["operation"] for e in audit["entries"] if e["operation"].startswith("trust")] == [
        "trust-add",
        "trust-remove",
    ]


def test_the_actor_is_the_process_user_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setenv("SSH_CLIENT", "10.0.0.5 51234 22")
    assert default_actor("cli") == f"{me} (from 10.0.0.5, unverified) (cli)"
    monkeypatch.setenv("SSH_CLIENT", "$(reboot) 1 22")
    assert default_actor("tui") == f"{me} (tui)"
    monkeypatch.delenv("SSH_CLIENT")
    assert default_actor("cli") == f"{me} (cli)"


async def test_the_audit_log_names_the_process_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("SSH_CLIENT", "10.0.0.5 51234 22")
    service: LicenseService = make_service(tmp_path / "data")
    try:
        service.set_customer_id(A, str(uuid4()))
        (entry,) = [e for e in service.audit_entries() if e.operation == "set-customer-id"]
    finally:
        await service.aclose()
    me = pwd.getpwuid(os.getuid()).pw_name
    assert entry.actor == f"{me} (from 10.0.0.5, unverified) (test)"
    assert me == "alice" or "alice" not in entry.actor


async def test_the_support_bundle_is_private(tmp_path: Path) -> None:
    service = make_service(tmp_path / "data")
    bundle = tmp_path / "bundle.json"
    leftover = tmp_path / "bundle.json.tmp"
    leftover.write_text("")
    leftover.chmod(0o644)
    try:
        service.diagnostics(bundle, Settings(data_dir=tmp_path / "data"))
    finally:
        await service.aclose()
    assert bundle.stat().st_mode & 0o777 == 0o600
    assert "install_code" in bundle.read_text()
