"""Untrusted JSON, decoded one way everywhere: order records in every format and sandbox request bodies.

orjson refuses what Python's ``json`` lets through and later trips over: a lone
surrogate (``"\\ud800"``, which cannot be written out as UTF-8), and nesting past
its own limit of 1,024. Integers too long for a 64-bit value become floats, which
no field accepts, so a 5,000-digit number is a clean type error rather than
Python's int-string limit. On top of that, values are bounded at ``MAX_DEPTH``
levels: an order is 4 deep, and a bound far below the interpreter's recursion
limit keeps every later step (error messages, pickling for workers) safe.
"""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 32


class JsonError(ValueError):
    """Not acceptable JSON; ``line`` and ``column`` count from 1 within the decoded text."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def loads(data: bytes | str) -> Any:
    """The decoded value, or JsonError saying what is wrong and where."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith("depth limit"):
            raise JsonError(_too_deep(), exc.lineno, exc.colno) from None
        raise JsonError(f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno, exc.colno) from None
    # Nesting needs at least as many brackets as levels: most values skip the walk.
    if _brackets(data) > MAX_DEPTH and too_deep(value):
        raise JsonError(_too_deep())
    return value


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _brackets(data: bytes | str) -> int:
    if isinstance(data, bytes):
        return data.count(b"[") + data.count(b"{")
    return data.count("[") + data.count("{")


def _too_deep() -> str:
    return f"JSON nested deeper than {MAX_DEPTH} levels (lists and objects within each other)"
