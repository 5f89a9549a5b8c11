"""Fuzz: Customer IDs, Notes, segment references and the CLI's plain-text output.

Hostile text (control characters, NULs, markup, RTL overrides, 10^5-character values, any unicode
from ``st.text()``) is either accepted as documented or refused with InvalidInput / NotFound, and a
refusal leaves the store exactly as it was.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout
from uuid import UUID

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core import rules
from core.errors import InvalidInput, NotFound
from core.sanitize import clean, is_unsafe
from tests.fuzz.fuzz_helpers import (
    CUSTOMER,
    HUGE,
    SPACE,
    A,
    Env,
    attempt,
    call_refused_or_ok,
    fuzz_settings,
    hostile_small,
    hostile_text,
    snapshot,
)
from tui.cli_output import say, table

CANONICAL = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
B = "SmartServer-B"


@st.composite
def near_uuids(draw: st.DrawFn) -> str:
    """Strings one to three edits away from a Customer ID, in the spellings UUID() also accepts."""
    value = draw(st.uuids())
    text = draw(
        st.sampled_from(
            [str(value), str(value).upper(), value.hex, "{" + str(value) + "}", f"urn:uuid:{value}"]
        )
    )
    chars = list(text)
    odd = st.one_of(
        st.sampled_from("0123456789abcdefABCDEF-gGxz_ {}:"),
        st.sampled_from(["\u0660", "\uff11", "\u0131", "\u212a", "\u0130", "\x00", "\u2010", "\u2212"]),
        st.characters(),
    )
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(chars) - 1)))
        if op == "replace" and chars:
            chars[at] = draw(odd)
        elif op == "insert":
            chars.insert(at, draw(odd))
        elif chars:
            del chars[at]
    pad = st.lists(SPACE | st.sampled_from(["\t", "\n", "\r", "\x85"]), max_size=3).map("".join)
    return draw(pad) + "".join(chars) + draw(pad)


# --- pure functions --------------------------------------------------------------------------


@fuzz_settings(300)
@given(st.one_of(near_uuids(), hostile_text))
@example("2133c667-af41-4518-94df-a2bb3b775330")
@example(" 2133C667-AF41-4518-94DF-A2BB3B775330\n")
@example("2133c667af41451894dfa2bb3b775330")
@example("\u0662133c667-af41-4518-94df-a2bb3b775330")
def test_customer_id_problem_agrees_with_uuid(text: str) -> None:
    with attempt():
        problem = rules.customer_id_problem(text)
        stripped = text.strip()
        assert (problem is None) == bool(CANONICAL.fullmatch(stripped)), (text, problem)
        if problem is None:
            assert str(UUID(stripped)) == stripped.lower()
            assert rules.parse_customer_id(text) == UUID(stripped)
        else:
            assert problem.isprintable(), problem
            with pytest.raises(ValueError, match=re.escape(problem)):
                rules.parse_customer_id(text)


def _controls(text: str) -> set[str]:
    """What may drive a terminal or reorder text (core.sanitize): C0/C1, bidi, separators, surrogates.
    Other format characters (joiners of emoji) and unassigned code points are text."""
    return {c for c in text if is_unsafe(c)}


@fuzz_settings(200)
@given(
    st.lists(st.lists(st.one_of(hostile_small, st.none(), st.integers()), min_size=3, max_size=3), max_size=4)
)
@example([[HUGE[0], HUGE[1], HUGE[2]], [HUGE[3], None, HUGE[4]]])
def test_table_never_emits_control_characters(rows: list[list[object]]) -> None:
    with attempt():
        out = table(["Segment", "License ID", "Note"], rows)
        assert _controls(out) <= {"\n"}
        assert out.count("\n") == len(rows) + 1  # stored text cannot add or break lines


@fuzz_settings(200)
@given(hostile_text)
@example("\x1b[2J\x1b[31mred")
def test_say_never_emits_escape(text: str) -> None:
    with attempt():
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            say(text)
        assert "\x1b" not in buffer.getvalue()


@fuzz_settings(100)
@given(hostile_text.filter(lambda t: "\n" not in t))
@example("cloud reason\x9b2J\rFAKE: ok\x07")
def test_say_never_emits_other_control_characters(text: str) -> None:
    with attempt():
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            say(text)
        assert _controls(buffer.getvalue()) <= {"\n"}, repr(buffer.getvalue())


# --- the service -----------------------------------------------------------------------------


def test_set_customer_id_is_set_exactly_or_refused_unchanged(env: Env) -> None:
    service = env.service

    @fuzz_settings(100)
    @given(st.one_of(near_uuids(), hostile_text))
    @example(" 2133C667-AF41-4518-94DF-A2BB3B775330 ")
    @example("   ")
    @example("[bold]2133c667-af41-4518-94df-a2bb3b775330[/]")
    def check(text: str) -> None:
        before = snapshot(service)
        seg, error = call_refused_or_ok(lambda: service.set_customer_id(B, text))
        if error is not None:
            assert isinstance(error, InvalidInput), error
            assert snapshot(service) == before
            return
        expected = UUID(text.strip()) if text.strip() else None
        assert seg is not None and seg.customer_id == expected
        assert service.segment(B).customer_id == expected
        others = [s for s in service.segments() if s.name != B]
        assert others == [s for s in before["segments"] if s.name != B]

    check()


def test_unknown_segment_references_are_not_found(env: Env) -> None:
    service = env.service
    names = {s.name.casefold() for s in service.segments()} | {
        s.install_code.casefold() for s in service.segments()
    }

    @fuzz_settings(40)
    @given(hostile_text.filter(lambda t: t.strip().casefold() not in names and t.strip()))
    def check(ref: str) -> None:
        before = snapshot(service)
        for action in (
            lambda: service.segment(ref),
            lambda: service.devices(ref),
            lambda: service.license_rows(ref),
            lambda: service.set_customer_id(ref, str(CUSTOMER)),
            lambda: service.provision(ref, None),
        ):
            _, error = call_refused_or_ok(action)
            assert isinstance(error, NotFound), error
            assert not _controls(error.message), "the message repeats the input raw"
        assert snapshot(service) == before

    check()


def _license_on_a(env: Env) -> UUID:
    """Put one license on SmartServer-A through an offline response file."""
    service = env.service
    service.set_customer_id(A, str(CUSTOMER))
    request = service.offline_request(A, env.tmp / "request.json")
    grant = env.sign(env.grant())
    path = env.tmp / "response.json"
    path.write_text(env.sign(env.response_payload(request.request_id, [grant])).model_dump_json())
    return service.add_license_file(path).added[0]


def test_notes_are_stored_printable_bounded_and_round_trip(env: Env) -> None:
    service = env.service
    license_id = _license_on_a(env)

    @fuzz_settings(100)
    @given(hostile_text)
    @example("\x1b[31mred\x1b[0m [bold]x[/] \u202egnp.exe\x00" * 40)
    def check(note: str) -> None:
        _, error = call_refused_or_ok(lambda: service.set_note(license_id, note))
        assert error is None, error
        expected = clean(note)[:500]
        with service.context.store.read() as tx:
            kept = tx.license(license_id)
        assert kept is not None
        stored = kept.note
        assert stored == expected
        assert not any(is_unsafe(c) for c in stored) and len(stored) <= 500
        (row,) = [r for r in service.license_rows() if r.license_id == license_id]
        assert row.note == stored
        out = table(["License ID", "Note"], [[row.license_id, row.note]])
        assert _controls(out) <= {"\n"}

    check()

    @fuzz_settings(30)
    @given(st.uuids(), hostile_text)
    def unknown(other: UUID, note: str) -> None:
        before = snapshot(service)
        _, error = call_refused_or_ok(lambda: service.set_note(other, note))
        assert isinstance(error, NotFound), error
        assert snapshot(service) == before

    unknown()
    assert service.license_rows()[0].license_id == license_id
