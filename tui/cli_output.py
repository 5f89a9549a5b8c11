"""Plain-text tables and JSON documents for the command line (no terminal UI imports)."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel


def _printable(text: str, keep: str = "") -> str:
    """Control characters (C0, C1, bidi overrides) from outside text must not drive the terminal."""
    return "".join(c if c in keep or not _moves_the_cursor(c) else "?" for c in text)


def _moves_the_cursor(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_printable("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)
    return "\n".join(lines)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def emit_json(value: Any) -> None:
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def say(text: str = "") -> None:
    print(_printable(text, keep="\n"))


def error_line(text: str) -> None:
    print(f"smartlic: {_printable(text)}", file=sys.stderr)
