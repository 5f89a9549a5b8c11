"""Signing raw HTTP calls to the mock cloud's device endpoints, as a segment controller does.

``DeviceAuth`` is an ``httpx.Auth``: every device request is signed (core.request_signature) with
the key of the install code it names (in the path ``/installs/{code}/`` or ``/devices/{code}/``,
or the ``install_code`` query; a listing that names none is signed as ``default``), one key per
install code, made on first use. Requests already carrying a Signature are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from datetime import datetime

import httpx

from core.request_signature import signed_headers
from core.rules import is_install_code
from core.signing import Signer

_INSTALL_IN_PATH = re.compile(r"/(?:installs|devices)/([^/]+)/")
_DEVICE_LISTING = re.compile(r"^/api/v1/customers/[^/]+/licenses$")


def install_code_of(request: httpx.Request, default: str) -> str | None:
    """The install code whose key signs ``request``; None for a call that is no device call."""
    found = _INSTALL_IN_PATH.search(request.url.path)
    if found:
        return found[1]
    if _DEVICE_LISTING.match(request.url.path):
        return request.url.params.get("install_code", default)
    return None


def sign(request: httpx.Request, signer: Signer, install_code: str, now: datetime) -> None:
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    request.headers.update(
        signed_headers(signer, install_code, request.method, path, query, request.content, now)
    )


class DeviceAuth(httpx.Auth):
    requires_request_body = True

    def __init__(self, clock: Callable[[], datetime], default: str = "17q5t6a") -> None:
        self.clock = clock
        self.default = default
        self.signers: dict[str, Signer] = {}

    def signer(self, install_code: str) -> Signer:
        if install_code not in self.signers:
            self.signers[install_code] = Signer.generate()
        return self.signers[install_code]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        code = install_code_of(request, self.default)
        # An invalid install code is refused before any signature is looked at: none is made.
        if code is not None and is_install_code(code) and "Signature" not in request.headers:
            sign(request, self.signer(code), code, self.clock())
        yield request
