"""The command line against a hostile cloud: text output shows the escape sequences, never sends
them; --json keeps the exact text, written as \\uXXXX escapes."""

from __future__ import annotations

import json
from functools import partial
from uuid import uuid4

import pytest

from core.mock_cloud.faults import HOSTILE_TEXT, Faults
from core.sanitize import is_unsafe
from tests.support.cli import A, Cli

RAW = ("\x1b", "\x07", "\x9b", "\u202e")


@pytest.fixture
def hostile(run: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The embedded demo cloud, built with the hostile fault on from its start."""
    from core.mock_cloud import app

    monkeypatch.setattr(app, "create_app", partial(app.create_app, faults=Faults(hostile=True)))
    customer = run.json("demo-info")["customer_id"]
    run("accounts", "set", A, customer)
    return run


def clean_terminal_text(text: str) -> bool:
    return not any(c in text for c in RAW) and all(c == "\n" or not is_unsafe(c) for c in text)


def test_descriptions_in_text_and_json(hostile: Cli) -> None:
    text = hostile("cloud-licenses", A)
    assert "PWNED-TITLE" in text and clean_terminal_text(text)
    assert "\\x1b]0;PWNED-TITLE\\x07" in text and "<U+202E>" in text

    raw = hostile.json("cloud-licenses", A)
    assert clean_terminal_text(hostile.out)
    assert (
        "\\u001b]0;PWNED-TITLE\\u0007" in hostile.out
        and "\\u202e" in hostile.out
        and "\\u009b" in hostile.out
    )
    assert all(lic["description"].endswith(HOSTILE_TEXT) for lic in raw["licenses"])  # equal when decoded
    assert json.loads(hostile.out) == raw


def test_refusal_reasons_in_text_and_json(hostile: Cli) -> None:
    unknown = str(uuid4())
    text = hostile("activate", A, unknown, code=1)
    assert f"FAILED     {unknown}" in text and "PWNED-TITLE" in text and clean_terminal_text(text)
    result = hostile.json("activate", A, unknown, code=1)
    assert result["failed"][0]["reason"].endswith(HOSTILE_TEXT)
    assert clean_terminal_text(hostile.out)
