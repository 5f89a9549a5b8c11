"""RFC 9457 problem documents: every error the mock cloud sends, including FastAPI's own."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.models import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Codes for errors Starlette raises itself (unknown route, wrong method, ...).
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ApiProblem(Exception):
    """Raised by endpoints; becomes a problem document with a stable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        # Extension members (RFC 9457 §3.2), e.g. which license a batch was refused for.
        self.extra = dict(extra or {})

    def problem(self) -> Problem:
        return make_problem(self.status, self.code, self.detail, self.extra)


def make_problem(
    status: int, code: str, detail: str | None, extra: Mapping[str, Any] | None = None
) -> Problem:
    return Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, code=code, **dict(extra or {})
    )


def problem_response(
    status: int,
    code: str,
    detail: str | None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    problem = make_problem(status, code, detail, extra)
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _validation_detail(exc: RequestValidationError) -> str:
    """One readable line per wrong field, e.g. "query.limit: Input should be <= 5000"."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is not valid."


async def _on_api_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.code, exc.detail, exc.headers, exc.extra)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(422, "invalid_request", _validation_detail(exc))


async def _on_http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, code, detail, exc.headers)


async def _on_crash(_: Request, exc: Exception) -> JSONResponse:
    # Starlette still re-raises after this, so the traceback reaches the server log.
    return problem_response(500, "internal_error", "The license cloud failed unexpectedly.")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_crash)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: these statuses answer with a problem document."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            # "model" registers the schema; the problem media type is what is actually sent.
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
