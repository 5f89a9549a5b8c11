"""How the store writes an audit entry's detail: as plain JSON, whatever Python values it was given.

Instants are written by ``core.utc``, which the audit chain shares (a module of the store here would
make the chain import the whole store package).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from core.utc import utc_text

__all__ = ["plain_json"]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in the audit log")


def plain_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as plain JSON types, so the hash of what is stored equals the hash of what is read."""
    result = json.loads(json.dumps(value, default=_json_default))
    if not isinstance(result, dict):
        raise TypeError("audit detail must be a dict")
    return result
