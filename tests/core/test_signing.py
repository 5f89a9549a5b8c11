from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from core.errors import SignatureInvalid
from core.models import LicenseGrant, LicenseKind, SignedDocument
from core.signing import Signer, TrustStore, canonical_json

GRANT = LicenseGrant(
    license_id=UUID("2133c667-af41-4518-94df-a2bb3b775330"),
    kind=LicenseKind.MAINTENANCE,
    devices=200,
    term_years=3,
    expires_on=date(2029, 1, 1),
    customer_id=UUID("11111111-2222-4333-8444-555555555555"),
    install_code="17q5t6a",
    issued_at=datetime(2026, 11, 28, 9, tzinfo=UTC),
)


@pytest.fixture
def signer_and_trust(tmp_path):
    signer = Signer.generate()
    trust = TrustStore(tmp_path / "trust")
    trust.add(signer.public_pem())
    return signer, trust


def test_canonical_json_is_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1})
    assert canonical_json({"a": 1}) == b'{"a":1}'


def test_signed_document_verifies(signer_and_trust) -> None:
    signer, trust = signer_and_trust
    doc = signer.sign(GRANT.model_dump(mode="json"))
    assert LicenseGrant.model_validate(trust.verify(doc)) == GRANT
    assert trust.key_ids() == [signer.key_id]


@pytest.mark.parametrize("field", list(GRANT.model_dump(mode="json")))
def test_each_flipped_field_is_refused(signer_and_trust, field: str) -> None:
    signer, trust = signer_and_trust
    doc = signer.sign(GRANT.model_dump(mode="json"))
    payload = dict(doc.payload)
    value = payload[field]
    payload[field] = (
        value + 1 if isinstance(value, int) else (str(value)[:-1] + ("0" if str(value)[-1] != "0" else "1"))
    )
    with pytest.raises(SignatureInvalid):
        trust.verify(doc.model_copy(update={"payload": payload}))


def test_unknown_key_and_garbage_signature_refused(signer_and_trust) -> None:
    signer, trust = signer_and_trust
    other = Signer.generate().sign(GRANT.model_dump(mode="json"))
    with pytest.raises(SignatureInvalid, match="unknown key"):
        trust.verify(other)
    doc = signer.sign(GRANT.model_dump(mode="json"))
    for bad in ("not base64!", "", doc.signature[:-4] + "AAAA"):
        with pytest.raises(SignatureInvalid):
            trust.verify(doc.model_copy(update={"signature": bad}))
    with pytest.raises(SignatureInvalid):
        trust.verify(SignedDocument(payload=doc.payload, key_id="../../etc/passwd", signature=doc.signature))


def test_key_is_kept_private_and_reloaded(tmp_path) -> None:
    path = tmp_path / "k" / "key.pem"
    first = Signer.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Signer.load_or_create(path).key_id == first.key_id


def test_trust_store_refuses_non_key(tmp_path) -> None:
    with pytest.raises(SignatureInvalid):
        TrustStore(tmp_path).add(b"hello")


@pytest.mark.parametrize("count", [3, 300])  # 300: verified in several threads
def test_batch_verification_answers_each_document_in_order(signer_and_trust, count: int) -> None:
    signer, trust = signer_and_trust
    docs = [signer.sign({**GRANT.model_dump(mode="json"), "devices": n + 1}) for n in range(count)]
    forged = docs[1].model_copy(update={"payload": {**docs[1].payload, "devices": 10_000}})
    stranger = Signer.generate().sign(GRANT.model_dump(mode="json"))
    batch = [docs[0], forged, stranger, *docs[2:]]
    results = trust.verify_batch(batch)
    assert len(results) == len(batch)
    assert results[0] == docs[0].payload
    assert isinstance(results[1], SignatureInvalid)
    assert isinstance(results[2], SignatureInvalid) and "unknown key" in str(results[2])
    assert results[3:] == [d.payload for d in docs[2:]]
    assert trust.verify_batch([]) == []


def test_signing_module_leaves_cryptography_for_first_use() -> None:
    # Start-up time: the TUI imports core.signing before it has anything to sign or verify.
    import subprocess
    import sys

    code = "import sys, core.signing, core.offline; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
