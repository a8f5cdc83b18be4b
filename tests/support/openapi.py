"""The sandbox's OpenAPI document, and checking a response against it.

``check`` asserts a response's status (and error type) and validates its body against
the schema the document gives for that operation and status. ``coverage_problems``
compares the document with what the sandboxes actually answered during the session
(recorded by ``ResponseRecorder`` in tests/support/sandbox.py; checked when the session
ends, in tests/conftest.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Any

import httpx
import jsonschema

DOC: dict[str, Any] = json.loads(resources.files("refundctl.sandbox").joinpath("openapi.json").read_text())
OPERATIONS = {op["operationId"]: (path, method) for path, item in DOC["paths"].items() for method, op in item.items()}
_TEMPLATES = [
    (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), method.upper(), op)
    for op, (path, method) in OPERATIONS.items()
]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check(resp: httpx.Response, operation: str, status: int, error_type: str | None = None) -> Any:
    """Assert the status (and error type) and that the body matches the documented schema."""
    assert resp.status_code == status, resp.text
    path, method = OPERATIONS[operation]
    documented = _resolve(DOC["paths"][path][method]["responses"][str(status)])
    body = resp.json()
    schema = {"$ref": documented["content"]["application/json"]["schema"]["$ref"], "components": DOC["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
    if error_type is not None:
        assert body["error"]["type"] == error_type
        assert error_type in documented["x-error-types"]
    return body


def documented_cases() -> Iterator[tuple[str, int, str | None]]:
    """Every (operation, status, error type) the document lists; None for a success."""
    for operation, (path, method) in OPERATIONS.items():
        for status, response in DOC["paths"][path][method]["responses"].items():
            types = _resolve(response).get("x-error-types", [None])
            for error_type in types:
                yield operation, int(status), error_type


def operation_of(method: str, path: str) -> str | None:
    """The documented operation answering ``method path`` (a concrete path), or None."""
    return next((op for pattern, m, op in _TEMPLATES if m == method and pattern.match(path)), None)


def coverage_problems(answered: Iterable[tuple[str, str, int, str | None]]) -> list[str]:
    """What the answers (method, path, status, error type) leave out of the document, or add to it: empty when
    every documented (operation, status, error type) was answered and every answer to an operation is documented."""
    documented = set(documented_cases())
    exercised = {(operation_of(method, path), status, error_type) for method, path, status, error_type in answered}
    missing = sorted(documented - exercised, key=str)
    undocumented = sorted({case for case in exercised if case[0] is not None} - documented, key=str)
    return [f"documented, never answered: {case}" for case in missing] + [
        f"answered, not documented: {case}" for case in undocumented
    ]
