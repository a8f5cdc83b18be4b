"""Untrusted structured input read one way: order records, policy files, Duffel's orders, sandbox request bodies.

A :class:`Fields` reads the fields of one object at a path (``fare.taxes[1]``) through
converters: plain functions that return the typed value or raise ValueError saying what
was expected (``expected true or false, got 'yes'``). Each problem is an :class:`Issue`
(path, message) handed to a sink: a list collects every one (orders, policies), while
:class:`FirstIssue` raises the first as the caller's own error (a Duffel answer that
cannot be mapped, the sandbox's HTTP 400). The format's reader adds the file and line, so
every message reads ``file:line: field.path: expected ...``.

What differs between formats on purpose lives in a thin layer beside each one: the
:class:`Words` its messages use (JSON fields and objects, TOML keys and tables), where its
lines come from (``policy.locate``), and how the first problem is answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple, Protocol, TypeVar, overload

from refundctl.errors import shown
from refundctl.money import minor_unit, parse_amount
from refundctl.zones import iana_zone

__all__ = [
    "JSON",
    "TOML",
    "Fields",
    "FirstIssue",
    "Issue",
    "Sink",
    "Words",
    "amount_in",
    "boolean",
    "choice",
    "codes",
    "count",
    "currency",
    "day",
    "instant",
    "of_type",
    "positive",
    "read",
    "string",
    "text",
    "within",
    "zone",
]

T = TypeVar("T")
Keys = set[str] | frozenset[str]


class Issue(NamedTuple):
    """One problem: where (a field path such as ``fare.taxes[1].amount``) and what was expected."""

    path: str
    message: str


class Sink(Protocol):
    """Where problems go; a ``list`` collects them."""

    def append(self, issue: Issue, /) -> None: ...

    def __len__(self) -> int: ...


class FirstIssue:
    """A sink that raises the first problem as the caller's own error (an API answer, an HTTP 400)."""

    def __init__(self, error: Callable[[Issue], Exception]) -> None:
        self.error = error

    def append(self, issue: Issue, /) -> None:
        raise self.error(issue)

    def __len__(self) -> int:
        return 0  # nothing is ever kept: reading stops at the first problem


@dataclass(frozen=True, slots=True)
class Words:
    """How a format names its parts in messages."""

    container: str  # what a field lives in: "object" (JSON) or "table" (TOML)
    unknown: str  # said of a key the schema does not have
    missing: str  # said of a required key that is absent (or null)
    list_allowed: bool = False  # whether an unknown key's message lists the allowed ones


JSON = Words("object", "unknown field", "required field is missing")
TOML = Words("table", "unknown key", "required key is missing", list_allowed=True)

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,60}")
_NO_KEYS: frozenset[str] = frozenset()


def read(value: Any, path: str, convert: Callable[[Any], T], default: T, problems: Sink) -> T:
    """``convert(value)``; on a problem, records it at ``path`` and returns ``default``."""
    try:
        return convert(value)
    except (ValueError, TypeError) as exc:
        problems.append(Issue(path, str(exc)))
        return default


class Fields:
    """Reads the fields of one object at ``path``, recording problems instead of stopping at the first.

    ``allowed`` None accepts any key (a foreign API's answer grows fields); ``required`` keys
    are reported missing up front, for schemas that state them as a set.
    """

    __slots__ = ("data", "path", "problems", "words")

    def __init__(
        self,
        data: object,
        path: str,
        allowed: Keys | None,
        problems: Sink,
        *,
        required: Keys = _NO_KEYS,
        words: Words = JSON,
    ) -> None:
        self.path = path
        self.problems = problems
        self.words = words
        self.data: dict[str, Any]
        if isinstance(data, dict):
            self.data = data
        else:  # its keys are not looked at: the one problem is what it is
            self.data = {}
            problems.append(Issue(path or "<record>", f"expected {_a(words.container)}, got {type(data).__name__}"))
            return
        if allowed is not None and not allowed.issuperset(data):
            listed = f" (expected one of: {', '.join(sorted(allowed))})" if words.list_allowed else ""
            for key in sorted(set(data) - allowed):
                # The user's key is shown quoted when it is not a plain name (a newline would break the message).
                where = self.at(key if words.list_allowed or _PLAIN_KEY.fullmatch(key) else shown(key))
                problems.append(Issue(where, words.unknown + listed))
        if required:
            for key in sorted(required - set(data)):
                problems.append(Issue(self.at(key), words.missing))

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    # Without a default, a value that is absent or has a problem is None, and its type says so: compiled
    # with mypyc (setup.py), a None where the type says otherwise is a TypeError, not a silent pass.
    @overload
    def get(self, key: str, convert: Callable[[Any], T], default: T, *, required: bool = True) -> T: ...
    @overload
    def get(
        self, key: str, convert: Callable[[Any], T], default: None = None, *, required: bool = True
    ) -> T | None: ...
    def get(
        self, key: str, convert: Callable[[Any], T], default: T | None = None, *, required: bool = True
    ) -> T | None:
        """The converted value; on a problem, records it and returns ``default``."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.problems.append(Issue(self.at(key), self.words.missing))
            return default
        try:
            return convert(value)
        except (ValueError, TypeError) as exc:
            self.problems.append(Issue(self.at(key), str(exc)))
            return default

    def items(self, key: str, convert: Callable[[Any, str], T], *, required: bool = False) -> tuple[T, ...]:
        """A list field, each element converted with its own path (``key[i]``); kept only without a problem."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.problems.append(Issue(self.at(key), self.words.missing))
            return ()
        if not isinstance(value, list):
            self.problems.append(Issue(self.at(key), f"expected a list, got {type(value).__name__}"))
            return ()
        out = []
        path = self.at(key)
        for i, item in enumerate(value):
            before = len(self.problems)
            converted = convert(item, f"{path}[{i}]")
            if len(self.problems) == before:
                out.append(converted)
        return tuple(out)

    def fields(self, key: str, allowed: Keys | None, **options: Any) -> Fields:
        """The object under ``key`` (``{}`` when absent), read with the same sink and words."""
        return Fields(self.data.get(key, {}), self.at(key), allowed, self.problems, words=self.words, **options)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


# Converters: value -> typed value, or ValueError saying what was expected.


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value


def string(value: Any) -> str:
    """A non-empty string, spaces allowed (an id or a tag is taken as written)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {shown(value)}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {shown(value)}")
    return value


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a non-negative whole number, got {shown(value)}")
    return value


def positive(value: Any) -> int:
    if count(value) == 0:
        raise ValueError("expected at least 1")
    return int(value)


def of_type(kind: type[T]) -> Callable[[Any], T]:
    """A value TOML already typed (``str``, ``int``, ``bool``): named by its Python type, as TOML's are."""

    def typed(value: Any) -> T:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"expected {kind.__name__}, got {shown(value)}")
        return value

    return typed


def within(low: int, high: int, unit: str) -> Callable[[Any], int]:
    """A whole number from ``low`` to ``high``; the bounds and ``unit`` are in the message."""
    whole = of_type(int)

    def number(value: Any) -> int:
        if not low <= whole(value) <= high:
            raise ValueError(f"expected {low} to {high} {unit}, got {value}")
        return int(value)

    return number


def choice(allowed: Iterable[str], show: Callable[[Any], str] = shown) -> Callable[[Any], str]:
    """One of a fixed set of words, listed in the message in the order given."""
    words = tuple(allowed)
    listed = ", ".join(words)

    def chosen(value: Any) -> str:
        if value not in words:
            raise ValueError(f"expected one of {listed}, got {show(value)}")
        return str(value)

    return chosen


def codes(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"expected a list of codes, got {shown(value)}")
    return frozenset(value)


YEARS = range(1900, 3000)  # far outside, deadline arithmetic would overflow; never a real booking


def _plausible_year(year: int, value: str) -> None:
    if year not in YEARS:
        raise ValueError(f"expected a year from {YEARS.start} to {YEARS.stop - 1}, got {shown(value)}")


def _iso(value: Any, parse: Callable[[str], T], not_text: str, unreadable: str) -> T:
    """``parse(value)`` for an ISO 8601 string; each way to fail says what was expected."""
    if not isinstance(value, str):
        raise ValueError(f"{not_text}, got {shown(value)}")
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{unreadable}, got {shown(value)}") from None


def instant(value: Any) -> datetime:
    """An ISO 8601 time with a UTC offset, written as a string."""
    parsed = _iso(
        value,
        datetime.fromisoformat,
        "expected an ISO 8601 time with an offset",
        "expected an ISO 8601 time such as 2026-12-01T08:00:00+08:00",
    )
    if parsed.tzinfo is None:
        raise ValueError(f"time {shown(value)} has no UTC offset (expected e.g. {value}+08:00 or {value}Z)")
    _plausible_year(parsed.year, value)
    return parsed


def day(value: Any) -> date:
    """A calendar date ``YYYY-MM-DD``, written as a string."""
    parsed = _iso(value, date.fromisoformat, "expected a date YYYY-MM-DD", "expected a date YYYY-MM-DD")
    _plausible_year(parsed.year, value)
    return parsed


def zone(name: str) -> str:
    """An IANA time zone name the database lists (a string already read as such)."""
    iana_zone(name)  # raises ValueError naming what was expected
    return name


def currency(code: str) -> str:
    """An ISO 4217 code that can be paid (a string already read as such)."""
    minor_unit(code)  # raises ValueError naming the problem
    return code


def amount_in(code: str) -> Callable[[Any], Decimal]:
    """An amount string exact in ``code``'s minor unit (``refundctl.money.parse_amount``)."""
    return partial(parse_amount, currency=code)  # in C: one call less per amount read
