"""Fuzz: Add License (offline response files) refuses every damaged or forged file and changes nothing.

Random bytes, the valid file cut at any point, one flipped byte, JSON of random structure, a valid
cloud signature over a random or almost-right payload, good files holding one bad grant: each is
refused with a SmartlicError and the store stays as it was. The untouched valid file is accepted,
once. A flipped byte that leaves the same document (whitespace, base64 padding bits) may pass.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.errors import Refused, SmartlicError
from core.models import OfflineResponse
from tests.fuzz.fuzz_helpers import (
    CUSTOMER,
    A,
    Env,
    call_refused_or_ok,
    fuzz_settings,
    json_objects,
    json_values,
    mutate_object,
    same_json,
    snapshot,
)

KINDS = [
    "bytes", "truncated", "flipped", "json", "signed-junk", "signed-mutated", "foreign", "one-bad-grant",
    "unsigned", "not-a-file",
]  # fmt: skip


class Offline:
    """SmartServer-A with an outstanding offline request and the valid response file for it."""

    def __init__(self, env: Env) -> None:
        self.env = env
        env.service.set_customer_id(A, str(CUSTOMER))
        self.renew()

    def renew(self) -> None:
        # A new request replaces the last one, file and all.
        request = self.env.service.offline_request(A, self.env.tmp / "request.json", force=True)
        self.request_id = request.request_id
        self.grants = [self.env.sign(self.env.grant(devices=n)).model_dump(mode="json") for n in (25, 100)]
        self.payload = self.env.response_payload(self.request_id, [])
        self.payload["licenses"] = self.grants
        self.good = json.dumps(self.env.sign(self.payload).model_dump(mode="json"), indent=1).encode()

    def signed(self, payload: Any) -> bytes:
        return json.dumps(self.env.sign(payload).model_dump(mode="json")).encode()


@st.composite
def hostile_file(draw: st.DrawFn, case: Offline) -> tuple[str, bytes | None]:
    """A file (None: a path that is not a readable file) and its kind."""
    kind = draw(st.sampled_from(KINDS))
    good = case.good
    if kind == "bytes":
        return kind, draw(st.binary(max_size=500))
    if kind == "truncated":
        return kind, good[: draw(st.integers(0, len(good) - 1))]
    if kind == "flipped":
        at = draw(st.integers(0, len(good) - 1))
        flipped = bytearray(good)
        flipped[at] ^= draw(st.integers(1, 255))
        return kind, bytes(flipped)
    if kind == "json":
        return kind, json.dumps(draw(json_values)).encode()
    if kind == "signed-junk":
        return kind, case.signed(draw(json_objects))
    if kind == "signed-mutated":
        return kind, case.signed(mutate_object(draw, case.payload, list(case.payload)))
    if kind == "foreign":
        field, value = draw(
            st.sampled_from(
                [
                    ("install_code", case.env.service.segment("SmartServer-B").install_code),
                    ("install_code", "zzzzzzz"),
                    ("customer_id", "11111111-2222-4333-8444-555555555555"),
                    ("request_id", "0" * 32),
                ]
            )
        )
        return kind, case.signed({**case.payload, field: value})
    if kind == "one-bad-grant":
        bad = dict(case.grants[0])
        how = draw(st.sampled_from(["payload", "install", "customer", "signature", "key"]))
        if how == "payload":
            bad["payload"] = {**bad["payload"], "devices": 100_000}
        elif how == "install":
            bad = case.env.sign(case.env.grant(install_code="zzzzzzz")).model_dump(mode="json")
        elif how == "customer":
            other = "11111111-2222-4333-8444-555555555555"
            bad = case.env.sign(case.env.grant(customer_id=other)).model_dump(mode="json")
        elif how == "signature":
            bad["signature"] = draw(st.text(max_size=100))
        else:
            bad["key_id"] = draw(st.text(max_size=40).filter(lambda k: k != case.env.signer.key_id))
        licenses = list(case.grants)
        licenses.insert(draw(st.integers(0, len(licenses))), bad)
        return kind, case.signed({**case.payload, "licenses": licenses})
    if kind == "unsigned":
        doc = json.loads(good)
        doc[draw(st.sampled_from(["signature", "key_id", "payload"]))] = draw(json_values)
        return kind, json.dumps(doc).encode()
    return kind, None


def test_damaged_or_forged_license_files_change_nothing(env: Env) -> None:
    service = env.service
    case = Offline(env)
    path = env.tmp / "response.json"
    accepted_equivalents = []

    @fuzz_settings(150)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        kind, content = data.draw(hostile_file(case))
        target = path
        if content is None:
            target = data.draw(st.sampled_from([env.tmp / "missing.json", env.tmp, env.tmp / "dir.json"]))
            (env.tmp / "dir.json").mkdir(exist_ok=True)
        else:
            path.write_bytes(content)
        before = snapshot(service)
        result, error = call_refused_or_ok(lambda: service.add_license_file(target))
        if error is not None:
            assert isinstance(error, SmartlicError)
            assert snapshot(service) == before, f"{kind}: refused, but the store changed"
            return
        # Accepted: only a file that means exactly the valid one (a no-op flip), or a genuinely signed
        # response that is still a well-formed answer to the outstanding request.
        assert content is not None and result is not None
        if kind == "signed-mutated":
            response = OfflineResponse.model_validate(json.loads(content)["payload"])
            assert (response.request_id, response.install_code, response.customer_id) == (
                case.request_id, env.install_code, CUSTOMER,
            )  # fmt: skip
            assert len(result.added) == len(response.licenses)
        else:
            assert same_json(content, case.good), f"{kind}: a damaged file was accepted"
            assert len(result.added) == 2
        accepted_equivalents.append(kind)
        case.renew()

    check()

    path.write_bytes(case.good)
    before = snapshot(service)
    result = service.add_license_file(path)
    assert len(result.added) == 2
    assert snapshot(service) != before
    after = snapshot(service)
    with pytest.raises(Refused, match="no outstanding request"):
        service.add_license_file(path)
    assert snapshot(service) == after


def test_the_valid_file_cut_anywhere_changes_nothing(env: Env) -> None:
    """Every cut point of the valid file (not sampled: each costs a parse, not a store write)."""
    service = env.service
    case = Offline(env)
    path = env.tmp / "cut.json"
    before = snapshot(service)
    for cut in range(len(case.good)):
        path.write_bytes(case.good[:cut])
        _, error = call_refused_or_ok(lambda: service.add_license_file(path))
        assert error is not None, f"the file cut at byte {cut} was accepted"
    assert snapshot(service) == before
    path.write_bytes(case.good)
    assert len(service.add_license_file(path).added) == 2


def test_a_very_long_key_id_is_a_clear_error(env: Env) -> None:
    path = env.tmp / "long-key.json"

    @fuzz_settings(20)
    @given(st.text(alphabet="0123456789abcdefABCDEFxyz", min_size=252, max_size=5000))
    @example("a" * 300)
    def check(key_id: str) -> None:
        path.write_text(json.dumps({"payload": {}, "key_id": key_id, "signature": ""}))
        before = snapshot(env.service)
        _, error = call_refused_or_ok(lambda: env.service.add_license_file(path))
        assert error is not None and snapshot(env.service) == before

    check()
