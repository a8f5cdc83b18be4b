"""Every option shared by several commands, declared once (sqlite-utils style decorators).

Values that need parsing are ``click.ParamType``s, so a bad one is reported as
click reports any bad value: ``Invalid value for '--flag': expected ...`` (exit 2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generic, TypeVar

import click

from refundctl.config import ADAPTER_NAMES, DEFAULT_ADAPTER, PAYMENTS_CHOICES
from refundctl.orders.shards import Shard, parse_shard
from refundctl.output import FORMATS


def existing_journal_option(what: str) -> Callable[[F], F]:
    """``--journal`` of a journal a run made: ``what`` the command does with it."""
    return click.option(
        "--journal",
        "journal_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Journal to {what} (default: the one *.journal.sqlite in the current directory).",
    )


journal_to_read_option = existing_journal_option("read")


def examples(*commands: str) -> str:
    """A command's help epilog: one or two examples, kept as written (click's \\b)."""
    return "\b\nExamples:\n" + "\n".join(f"  {command}" for command in commands)


F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


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


class ShardParam(click.ParamType):  # type: ignore[type-arg]
    """``K/N``: this run's shard (0 to N-1) of N, by a stable hash of each order id."""

    name = "K/N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Shard:
        if isinstance(value, Shard):
            return value
        try:
            return parse_shard(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def shard_option(f: F) -> F:
    return click.option(
        "--shard",
        type=ShardParam(),
        default=None,
        help="Take only shard K of N (K from 0 to N-1): the orders whose id hashes to K; "
        "N runs with K = 0..N-1 cover the input exactly once (see the README's Shards).",
    )(f)


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


class Parsed(click.ParamType, Generic[T]):  # type: ignore[type-arg]
    """A flag value read by ``parse``, whose ValueError already names the flag and what it expects."""

    def __init__(self, metavar: str, parse: Callable[[str], T]) -> None:
        self.name = metavar
        self._parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> T:
        if not isinstance(value, str):
            return value  # type: ignore[no-any-return]
        try:
            return self._parse(value)
        except ValueError as exc:
            raise click.UsageError(str(exc), ctx) from None  # the message names the flag itself


def tolerance_option(help_text: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return click.option("--tolerance", type=Tolerance(), default="0", show_default=True, help=help_text)(f)

    return decorate


def as_of_option(f: F) -> F:
    return as_of_option_with("Decide as if cancelling at this instant; the same --as-of gives the same output.")(f)


def as_of_option_with(help_text: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return click.option("--as-of", type=AsOf(), default="now", show_default=True, help=help_text)(f)

    return decorate


def concurrency_option(default: int, help_text: str) -> Callable[[F], F]:
    """``--concurrency``: requests in flight at most (one bound for every command)."""

    def decorate(f: F) -> F:
        return click.option(
            "--concurrency", type=click.IntRange(1, 512), default=default, show_default=True, help=help_text
        )(f)

    return decorate


def output_option(default: str = "table") -> Callable[[F], F]:
    """The shared ``-o/--output`` option."""
    return click.option(
        "-o",
        "--output",
        "output_format",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="Output format: table for people; json, jsonl and csv for scripts.",
    )


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


_OPTIONS = (
    click.option("--api", metavar="URL", help="Refund API base URL (else $REFUNDCTL_API, else the profile)."),
    click.option("--profile", "profile_name", metavar="NAME", help="Config file profile to use."),
    click.option(
        "--adapter",
        type=click.Choice(ADAPTER_NAMES),
        help=f"Supplier adapter (default: the profile's, else {DEFAULT_ADAPTER}).",
    ),
    click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding the API token (else $REFUNDCTL_TOKEN). The token itself is never a flag.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=30.0,
        show_default=True,
        help="Seconds to wait for one answer.",
    ),
    click.option(
        "--max-attempts",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Attempts per request before it is reported failed.",
    ),
    click.option(
        "--max-time",
        type=click.FloatRange(min=0),
        default=120.0,
        show_default=True,
        help="Seconds of retrying per request before it is reported failed.",
    ),
)
_FIELDS = ("api", "profile_name", "adapter", "token_file", "timeout", "max_attempts", "max_time")


def _grouped(
    options: tuple[Callable[[Any], Any], ...], fields: dict[str, str], name: str, flags: str
) -> Callable[[F], F]:
    """Add ``options`` to a command, which receives their values as one object: ``name=Flags(...)``.

    ``fields`` maps each option's parameter to the Flags field; ``flags`` names the class in
    ``.connection``, imported only when the command runs: it brings in the HTTP clients,
    which `check` and `policy` never need.
    """

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from . import connection  # noqa: PLC0415 - see above

            values = {field: kwargs.pop(param) for param, field in fields.items()}
            return f(*args, **{name: getattr(connection, flags)(**values)}, **kwargs)

        command: Any = wrapper
        for option in reversed(options):
            command = option(command)
        return command  # type: ignore[no-any-return]

    return decorate


# The connection flags; the command receives them as ``connection: ConnectionFlags``.
connection_options = _grouped(_OPTIONS, {f: f for f in _FIELDS}, "connection", "ConnectionFlags")


_PAYMENTS_OPTIONS = (
    click.option(
        "--payments",
        "payments_provider",
        type=click.Choice(PAYMENTS_CHOICES),
        help="Payments provider for the platform-funded share of refunds (default: the profile's, else none: "
        "those legs are journaled manual, to be paid by hand).",
    ),
    click.option(
        "--payments-api", metavar="URL", help="Payments API base URL (default: the provider's, e.g. Stripe's)."
    ),
    click.option(
        "--payments-token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding the payments secret key (else $REFUNDCTL_PAYMENTS_TOKEN). Never a flag value.",
    ),
)


# The payments flags; the command receives them as ``payments: PaymentsFlags``.
payments_options = _grouped(
    _PAYMENTS_OPTIONS,
    {"payments_provider": "provider", "payments_api": "api", "payments_token_file": "token_file"},
    "payments",
    "PaymentsFlags",
)
