"""The one sanitizer for text from outside (the cloud, files, notes, names) before a face shows it.

A terminal obeys control characters: ESC starts sequences that retitle the window (OSC 0), clear
the screen (CSI 2 J) or write the clipboard (OSC 52); C1 controls (U+0080–U+009F, e.g. U+009B, a
one-character CSI) do the same on many terminals; bidi overrides and isolates reorder what is shown
(``\u202egnp.exe`` reads as ``exe.png``). Every such character is shown as a visible escape
(``\\x1b``, ``<U+202E>``) instead, so a sequence can never start and a user sees that the text
carried something odd. Everything else, é, 中, emoji and their joiners, is kept as it is.

``clean`` is for terminal text (both faces); ``escape_json`` keeps a JSON document exactly equal
when decoded while writing those characters as ``\\uXXXX``.
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset(
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT / RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, pop, overrides
    "\u2066\u2067\u2068\u2069"  # isolates
)
LINE_BREAKERS = frozenset("\u2028\u2029")
"""LINE and PARAGRAPH SEPARATOR: they break lines (and so tables) in some terminals."""


def is_unsafe(char: str) -> bool:
    """Whether ``char`` may act on a terminal or reorder text: C0/C1 controls, DEL, bidi controls,
    line separators and lone surrogates (which cannot even be encoded)."""
    if char in BIDI_CONTROLS or char in LINE_BREAKERS:
        return True
    category = unicodedata.category(char)
    return category == "Cc" or category == "Cs"


def visible(char: str) -> str:
    """How an unsafe character is shown: ``\\x1b`` for a control, ``<U+202E>`` for the rest."""
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def clean(text: str, *, multiline: bool = False) -> str:
    """``text`` with every unsafe character shown as a visible escape; ``multiline`` keeps ``\\n``.

    Idempotent: what it returns has nothing left to escape.
    """
    if text.isprintable() or (multiline and text.replace("\n", "").isprintable()):
        # Fast path (table cells are cleaned on every render): printable text has no unsafe character.
        return text
    return "".join(visible(c) if is_unsafe(c) and not (multiline and c == "\n") else c for c in text)


_JSON_UNSAFE = re.compile("[\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS | LINE_BREAKERS)) + "\ud800-\udfff]")


def escape_json(document: str) -> str:
    """A JSON document (from ``json.dumps(..., ensure_ascii=False)``) with the unsafe characters that
    JSON lets through raw written as ``\\uXXXX``; decoding gives exactly the same value.

    Safe to do on the whole text: outside strings a JSON document is ASCII, and JSON already escapes
    C0 controls.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
