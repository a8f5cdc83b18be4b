"""The sandbox's error answers (``{"error": {"type", "message"}}``) and its request bodies.

Bodies are read by the shared reader (``refundctl.validate``), so a bad one is answered
``field: expected ...`` as every other input is reported; only the first problem is told.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from refundctl import jsonvalue
from refundctl.validate import Fields, FirstIssue, Keys

MAX_BODY = 64 * 1024  # bytes of a request body (enforced by ``guard`` for every route)


class ApiProblem(Exception):
    """An error answer: ``{"error": {"type", "message", **extra}}`` with ``status``."""

    def __init__(self, status: int, error_type: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.extra = extra

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response(
            {"error": {"type": self.error_type, "message": str(self), **self.extra}}, self.status, headers
        )


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status, headers, media_type="application/json")


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (its size is bounded by ``guard``), decoded as untrusted JSON."""
    try:
        value = jsonvalue.loads(await request.body())
    except jsonvalue.JsonError as exc:
        raise ApiProblem(400, "invalid_request", f"request body: {exc.message}") from None
    if not isinstance(value, dict):
        raise ApiProblem(400, "invalid_request", "request body must be a JSON object")
    return value


# A request body is read with the shared reader; its first problem is the 400 answer.
FIRST_PROBLEM = FirstIssue(lambda issue: ApiProblem(400, "invalid_request", f"{issue.path}: {issue.message}"))


async def body_fields(request: Request, allowed: Keys) -> Fields:
    """The body's fields, only ``allowed`` ones; any problem answers HTTP 400 ``invalid_request``."""
    return Fields(await json_object(request), "", allowed, FIRST_PROBLEM)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return exc.response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = "not_found" if exc.status_code == 404 else "invalid_request"
    return ApiProblem(exc.status_code, error_type, str(exc.detail)).response(dict(exc.headers or {}))


async def _crash(request: Request, exc: Exception) -> Response:
    return ApiProblem(500, "internal_error", "the sandbox failed; this is a bug in refundctl").response()


EXCEPTION_HANDLERS = {ApiProblem: _problem, HTTPException: _http_exception, Exception: _crash}
