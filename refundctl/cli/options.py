"""Options shared by several commands (sqlite-utils style decorators)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class AsOf(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 instant with a UTC offset, or ``now``."""

    name = "TIMESTAMP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        if value == "now":
            return datetime.now(UTC)
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"expected an ISO 8601 time such as 2026-11-25T09:00:00+08:00, got {value!r}", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset (add Z or +08:00: the same wall time differs by zone)", param, ctx)
        if not 1900 <= parsed.year <= 2999:  # as for order times; beyond, instants overflow
            self.fail(f"expected a year from 1900 to 2999, got {value!r}", param, ctx)
        return parsed


class Rate(click.ParamType):  # type: ignore[type-arg]
    """A positive number of requests per second: ``200/s`` or ``200``."""

    name = "N/s"
    _PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*$")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        match = self._PATTERN.match(str(value))
        if match is None or float(match.group(1)) <= 0:
            self.fail(f"expected a positive rate such as 200/s, got {value!r}", param, ctx)
        return float(match.group(1))


class Tolerance(click.ParamType):  # type: ignore[type-arg]
    """A non-negative amount: how far a supplier's quote may be below the decision."""

    name = "AMOUNT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            parsed = Decimal(str(value))
        except InvalidOperation:
            parsed = Decimal(-1)
        if not parsed.is_finite() or parsed < 0:
            self.fail(f"expected a non-negative amount such as 0.50, got {value!r}", param, ctx)
        return parsed


def tolerance_option(help_text: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return click.option("--tolerance", type=Tolerance(), default="0", show_default=True, help=help_text)(f)

    return decorate


def as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        type=AsOf(),
        default="now",
        show_default=True,
        help="Decide as if cancelling at this instant; the same --as-of gives the same output.",
    )(f)


def policies_option(f: F) -> F:
    return click.option(
        "--policies",
        "policy_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="REFUNDCTL_POLICIES",
        show_envvar=True,
        help="Policy directory (default: the config profile's policies, else the shipped set; "
        "`refundctl policy path` prints the one in use).",
    )(f)
