"""core.sanitize: the one sanitizer for outside text, and the JSON escaping of the same characters."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from core.mock_cloud.faults import HOSTILE_TEXT
from core.sanitize import BIDI_CONTROLS, clean, escape_json, is_unsafe

C0 = [chr(c) for c in range(0x20)] + ["\x7f"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = sorted(BIDI_CONTROLS)
NASTY = st.sampled_from([*C0, *C1, *BIDI, "\u2028", "\u2029", "\ud800", HOSTILE_TEXT, "\x1b[2J"])
ANY_TEXT = st.lists(st.one_of(st.characters(), NASTY), max_size=40).map("".join)


def forbidden(text: str) -> set[str]:
    return {c for c in text if c in C0 or c in C1 or c in BIDI_CONTROLS or unicodedata.category(c) == "Cs"}


@given(ANY_TEXT)
@example(HOSTILE_TEXT)
@example("\u202egnp.exe")
def test_no_control_or_bidi_character_survives(text: str) -> None:
    out = clean(text)
    assert not forbidden(out), repr(out)
    assert "\n" not in out
    out.encode("utf-8")  # lone surrogates are gone too: printing cannot fail


@given(ANY_TEXT)
def test_multiline_keeps_only_newlines(text: str) -> None:
    out = clean(text, multiline=True)
    assert forbidden(out) <= {"\n"}
    assert out.count("\n") == text.count("\n")


@given(ANY_TEXT, st.booleans())
def test_idempotent(text: str, multiline: bool) -> None:
    once = clean(text, multiline=multiline)
    assert clean(once, multiline=multiline) == once


@given(st.text(st.characters(blacklist_categories=["Cc", "Cs"])).filter(lambda t: not any(map(is_unsafe, t))))
@example("Plant room é 中 😀 👨‍👩‍👧 שלום مرحبا [bold]x[/bold]")
def test_printable_text_is_kept_exactly(text: str) -> None:
    assert clean(text) == text
    assert clean(text, multiline=True) == text


def test_unsafe_characters_are_shown_not_dropped() -> None:
    assert clean("\x1b]0;x\x07") == "\\x1b]0;x\\x07"
    assert clean("a\u202eb") == "a<U+202E>b"
    assert clean("\x9b2J") == "\\x9b2J"
    assert clean("a\nb") == "a\\x0ab"
    assert clean("a\nb", multiline=True) == "a\nb"


JSON_VALUES = st.recursive(
    ANY_TEXT | st.integers() | st.none(), lambda inner: st.lists(inner) | st.dictionaries(ANY_TEXT, inner)
)


@given(JSON_VALUES)
def test_json_stays_valid_equal_and_free_of_raw_controls(value: object) -> None:
    escaped = escape_json(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(escaped) == value
    assert forbidden(escaped) <= {"\n"}  # indent's own newlines
    assert all(c == "\n" or not is_unsafe(c) for c in escaped)


def test_json_keeps_normal_unicode_readable() -> None:
    text = escape_json(json.dumps({"d": "é 中 😀\u202e\x9b"}, ensure_ascii=False))
    assert text == '{"d": "é 中 😀\\u202e\\u009b"}'
