"""Plain-text tables and JSON documents for the command line (no terminal UI imports)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from core.sanitize import clean, escape_json


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[clean("" if v is None else str(v)) for v in row] for row in rows]
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
    # Control and bidi characters as \uXXXX: a terminal showing the JSON is not driven by them.
    sys.stdout.write(escape_json(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)) + "\n")


def say(text: str = "") -> None:
    print(clean(text, multiline=True))


def error_line(text: str) -> None:
    # One line, whatever the text carries: a hint's own lines become spaces.
    print(f"smartlic: {clean(text.replace(chr(10), ' '))}", file=sys.stderr)
