"""Shared pieces of the fuzz suite: the example/crash counter, hostile strategies, store snapshots.

Every fuzz test body runs inside ``attempt()``: it counts one example and, when the body raises
anything that is not a ``SmartlicError`` (nor a test assertion), one crash. ``conftest.py`` prints
the totals at the end of the session (``fuzz: N examples tried, 0 crashes``).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from core.cloud import CloudClient
from core.errors import SmartlicError
from core.models import LicenseGrant, LicenseKind, OfflineResponse, SignedDocument
from core.service import LicenseService
from core.signing import Signer
from tests.support.clock import FIXED_NOW as NOW
from tests.support.services import make_service

T = TypeVar("T")
A = "SmartServer-A"
CUSTOMER = UUID("2133c667-af41-4518-94df-a2bb3b775330")


# --- counting --------------------------------------------------------------------------------


class FuzzStats:
    def __init__(self) -> None:
        self.examples: Counter[str] = Counter()
        self.crashes: Counter[str] = Counter()
        self.known: set[str] = set()  # tests marked xfail: their crashes are known bugs
        self.current = "(outside a test)"


STATS = FuzzStats()


@contextmanager
def attempt() -> Iterator[None]:
    """One fuzz example: counted; an exception that is not a SmartlicError counts as a crash."""
    STATS.examples[STATS.current] += 1
    try:
        yield
    except (SmartlicError, AssertionError):
        raise
    except Exception:
        STATS.crashes[STATS.current] += 1
        raise


def fuzz_settings(max_examples: int) -> settings:
    """``make faults`` raises SMARTLIC_FUZZ_SCALE for the full run; CI runs the bounded one."""
    scale = max(1, int(os.environ.get("SMARTLIC_FUZZ_SCALE", "1")))
    return settings(
        max_examples=max_examples * scale,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def call_refused_or_ok(action: Callable[[], T]) -> tuple[T | None, SmartlicError | None]:
    """``action()`` inside ``attempt()``: its result, or the SmartlicError it raised."""
    with attempt():
        try:
            return action(), None
        except SmartlicError as exc:
            assert exc.message, "a SmartlicError must carry a message"
            return None, exc


# --- hostile text ----------------------------------------------------------------------------

CONTROL = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x08",
        "\t",
        "\n",
        "\r",
        "\x1b",
        "\x1b[31m",
        "\x1b]0;x\x07",
        "\x7f",
        "\x85",
        "\x9b",
        "\x9b2J",
        "\u2028",
        "\u2029",
        "\ufeff",
    ]
)
MARKUP = st.sampled_from(
    ["[bold]", "[/]", "[red]x[/red]", "[link=http://x]", "[", "]", "\\[", "[@click=quit]"]
)
RTL = st.sampled_from(["\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "שלום", "مرحبا", "\u061c"])
SPACE = st.sampled_from([" ", "\u00a0", "\u3000", "\u2003", "\x0b", "\x0c", "\x1c", "\x1f", "\u200b"])


def _huge(piece: str) -> str:
    piece = piece or "x"
    return (piece * (100_000 // len(piece) + 1))[:100_000]


hostile_small = st.one_of(
    st.text(),
    st.lists(st.one_of(st.text(max_size=8), CONTROL, MARKUP, RTL, SPACE), max_size=12).map("".join),
    st.sampled_from(["", " ", "\x00", "\x1b[2J", "[bold]x[/bold]", "\u202egnp.exe"]),
)
HUGE = [_huge("[bold]"), _huge("\x1b[2J"), _huge("\u202e"), _huge("a\x00"), _huge("\u05e9")]
# 10^5-character values: rarer, they cost time in every pass over the text.
hostile_text = st.one_of(hostile_small, st.text(min_size=1, max_size=4).map(_huge), st.sampled_from(HUGE))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=12), json_values, max_size=6)


def mutate_object(draw: st.DrawFn, obj: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``obj`` with one field dropped, retyped or added: what a buggy or hostile cloud sends."""
    result = dict(obj)
    how = draw(st.sampled_from(["drop", "retype", "extra", "null"]))
    key = draw(st.sampled_from(keys))
    if how == "drop":
        result.pop(key, None)
    elif how == "retype":
        result[key] = draw(json_values)
    elif how == "null":
        result[key] = None
    else:
        result[draw(st.text(min_size=1, max_size=10))] = draw(json_values)
    return result


# --- the environment: a service on a temporary store, the embedded cloud's signing key ---------


class Env:
    """A service whose cloud answers come from ``self.answer`` (a function of the request)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        service = make_service(tmp / "data")
        # The cloud's signing key, trusted as `smartlic trust add` would (the embedded demo cloud's key
        # is trusted only once that cloud starts, which these tests never need).
        self.signer = Signer.generate()
        service.context.trust.add(self.signer.public_pem())
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda r: httpx.Response(500)
        self.requests: list[httpx.Request] = []
        cloud = CloudClient("http://x", transport=httpx.MockTransport(self._handle), retries=0)
        run(service.context.cloud.aclose())
        self.service: LicenseService = LicenseService(replace(service.context, cloud=cloud))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        # The batch limit is asked once before the first batch, as of a real cloud; the scripted
        # answers are for the operations under test.
        if request.url.path.endswith("/capabilities"):
            return httpx.Response(200, json={"max_batch": 5000})
        self.requests.append(request)
        return self.answer(request)

    @property
    def install_code(self) -> str:
        return self.service.segment(A).install_code

    def close(self) -> None:
        run(self.service.aclose())

    def grant(self, license_id: UUID | None = None, *, devices: int = 25, **over: Any) -> dict[str, Any]:
        grant = LicenseGrant(
            license_id=license_id or uuid4(),
            kind=LicenseKind.CAPACITY,
            devices=devices,
            customer_id=CUSTOMER,
            install_code=self.install_code,
            issued_at=NOW,
        ).model_dump(mode="json")
        grant.update(over)
        return grant

    def sign(self, payload: dict[str, Any]) -> SignedDocument:
        return self.signer.sign(payload)

    def response_payload(self, request_id: str, docs: list[SignedDocument]) -> dict[str, Any]:
        return OfflineResponse(
            request_id=request_id,
            install_code=self.install_code,
            customer_id=CUSTOMER,
            issued_at=NOW,
            licenses=docs,
        ).model_dump(mode="json")


def snapshot(service: LicenseService, *, audit: bool = True, journal: bool = True) -> dict[str, Any]:
    """Everything a refused input must leave as it was."""
    store = service.context.store
    with store.read() as tx:
        state: dict[str, Any] = {
            "segments": tx.segments(),
            "licenses": tx.licenses(),
            "devices": tx.devices(),
            "offline": {
                s.install_code: tx.meta_get(f"offline_request:{s.install_code}") for s in tx.segments()
            },
        }
        if journal:
            state["journal"] = tx.journal()
        if audit:
            state["audit"] = len(tx.audit_entries())
    return state


def same_json(a: bytes, b: bytes) -> bool:
    """Whether two files mean the same signed document (JSON equal, signature bytes equal)."""
    import base64

    try:
        left, right = json.loads(a), json.loads(b)
        for doc in (left, right):
            doc["signature"] = base64.b64decode(doc["signature"], validate=True)
    except Exception:
        return False
    return left == right


def cloud_license_json(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["capacity", "maintenance"])
    return {
        "license_id": str(UUID(int=rng.getrandbits(128))),
        "kind": kind,
        "devices": rng.randint(1, 500),
        "term_years": 1 if kind == "maintenance" else None,
        "expires_on": date(2027, 1, 1).isoformat() if kind == "maintenance" else None,
        "earmarked_install_code": None,
        "transfer_date": None,
        "description": "fuzz",
    }
