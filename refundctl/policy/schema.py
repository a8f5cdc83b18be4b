"""Validate one parsed policy file against the schema and build typed policies.

Problems are collected (never the first only) with their TOML path, so that
``refundctl policy validate`` can print every one as ``file:line: message``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import time
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal, TypeVar, get_args

from refundctl import validate
from refundctl.errors import shown
from refundctl.policy.locate import locate
from refundctl.policy.model import CarrierAttribute, CarrierSize, Deadline, Penalty, Policy, Refundability, Rule, Window
from refundctl.validate import TOML, Fields, Issue, Keys, amount_in, of_type

T = TypeVar("T")
RULE_TABLE = {"airline": "fares", "hotel": "rates"}
RULE_CODES = {"airline": "classes", "hotel": "plans"}
SUPPLIERS = {"airline": "carriers", "hotel": "hotels"}
# Deadlines reach back at most a century: far enough for any real policy, and near enough
# that anchor minus deadline stays a valid date (orders' years start at 1900).
MAX_DAYS_BEFORE = 36500
MAX_HOURS_BEFORE = MAX_DAYS_BEFORE * 24
MAX_PENALTY_NIGHTS = 9999  # as orders' nights are bounded
CARRIER_FLAGS: tuple[CarrierAttribute, ...] = get_args(CarrierAttribute)


class Checker:
    """The shared reader (``refundctl.validate``) in TOML's words, plus where each path's line is.

    Values are passed in with their path (TOML tables are read whole by ``tomllib``); every
    problem is recorded as an :class:`Issue`, and ``policy.locate`` turns its path into a line.
    """

    def __init__(self, lines: dict[str, int]) -> None:
        self.issues: list[Issue] = []
        self.lines = lines

    def line(self, path: str) -> int:
        return locate(self.lines, path) or 0

    def problem(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    def read(self, value: Any, path: str, convert: Callable[[Any], T], default: T) -> T:
        return validate.read(value, path, convert, default, self.issues)

    def table(self, value: Any, path: str, allowed: Keys, required: Keys = frozenset()) -> dict[str, Any]:
        return Fields(value, path, allowed, self.issues, required=required, words=TOML).data

    def array(self, value: Any, path: str, *, required: bool = False) -> list[tuple[str, Any]]:
        """An array of tables ``[[path]]``: each item with its own path (``path[i]``); [] after a problem."""
        if not isinstance(value, list) or (required and not value):
            wanted = f"at least one [[{path}]] table" if required else f"[[{path}]] tables"
            self.problem(path, f"expected {wanted}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def typed(self, value: Any, kind: type[T], path: str, default: T) -> T:
        return default if value is None else self.read(value, path, of_type(kind), default)

    def head_text(self, head: dict[str, Any], key: str) -> str:
        """A string in the ``[policy]`` table (id, name, source); "" when absent or mistyped."""
        return self.typed(head.get(key), str, f"policy.{key}", "")

    def currency(self, value: Any, path: str, default: str) -> str | None:
        """An ISO 4217 code that can be paid (``default`` when absent); None after recording a problem."""
        return self.read(self.typed(value, str, path, default), path, validate.currency, None)

    def codes(self, value: Any, path: str) -> frozenset[str]:
        return self.read(value, path, validate.codes, frozenset())

    def amount(self, value: Any, currency: str, path: str) -> Decimal | None:
        return None if value is None else self.read(value, path, amount_in(currency), None)

    def percent(self, value: Any, path: str) -> Decimal | None:
        return self.read(value, path, percent, None)

    def clock(self, value: Any, path: str) -> time | None:
        return self.read(value, path, clock, None)


def percent(value: Any) -> Decimal:
    try:
        result = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite() or not 0 <= result <= 100:
        raise ValueError(f'expected a percentage from "0" to "100" as a string, got {shown(value)}')
    return result


def clock(value: Any) -> time:
    """A local wall-clock time: an offset would be silently meaningless (times are the policy zone's)."""
    try:
        parsed = time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        raise ValueError(f'expected a local time "HH:MM" without a UTC offset, got {shown(value)}')
    if parsed is None:
        raise ValueError(f'expected a local time "HH:MM", got {shown(value)}')
    return parsed


def build_policy(data: dict[str, Any], file: str, lines: dict[str, int]) -> tuple[Policy | None, list[Issue]]:
    c = Checker(lines)
    c.table(data, "", {"policy", "fares", "rates"}, {"policy"})
    head = c.table(data.get("policy", {}), "policy", {
        "id", "kind", "name", "source", "carriers", "hotels", "currency", *CARRIER_FLAGS, "appr_carrier_size",
        "dot_24_hour", "timezone", "check_in_time", "full_refund_statuses",
    }, {"id", "kind", "currency"})  # fmt: skip
    kind = head.get("kind")
    if kind not in RULE_TABLE:
        c.problem("policy.kind", f"expected 'airline' or 'hotel', got {shown(kind)}")
        return None, c.issues
    currency = c.currency(head.get("currency"), "policy.currency", "") or "XXX"
    suppliers_key = SUPPLIERS[kind]
    if suppliers_key not in head:
        c.problem(f"policy.{suppliers_key}", "required key is missing")
    timezone = c.typed(head.get("timezone"), str, "policy.timezone", "") or None
    if kind == "hotel" and timezone is None:
        c.problem("policy.timezone", "required for hotels: deadlines are in the hotel's own time zone")
    if timezone:
        c.read(timezone, "policy.timezone", validate.zone, None)
    rules_key = RULE_TABLE[kind]
    raw_rules = data.get(rules_key, [])
    if not isinstance(raw_rules, list) or not raw_rules:
        c.problem(rules_key, f"expected at least one [[{rules_key}]] table")
        raw_rules = []
    check_in = c.clock(head.get("check_in_time", "14:00"), "policy.check_in_time") or time(14)
    anchor_time = check_in if kind == "hotel" else None  # a flight's anchor is a departure at any time
    rules = tuple(_rule(c, r, f"{rules_key}[{i}]", kind, currency, anchor_time) for i, r in enumerate(raw_rules))
    seen: dict[str, str] = {}
    for i, rule in enumerate(rules):
        for code in sorted(rule.codes):
            if code in seen:
                c.problem(f"{rules_key}[{i}].{RULE_CODES[kind]}", f"{code!r} is already covered by rule {seen[code]!r}")
            seen[code] = rule.id
    policy = Policy(
        id=c.head_text(head, "id"),
        kind=kind,
        file=file,
        name=c.head_text(head, "name"),
        source=c.head_text(head, "source"),
        suppliers=c.codes(head.get(suppliers_key, []), f"policy.{suppliers_key}"),
        currency=currency,
        rules=rules,
        **{flag: c.typed(head[flag], bool, f"policy.{flag}", False) for flag in CARRIER_FLAGS if flag in head},
        appr_carrier_size=carrier_size(c, head.get("appr_carrier_size"), "policy.appr_carrier_size"),
        dot_24_hour=_dot_24_hour(c, head.get("dot_24_hour")),
        timezone=timezone,
        check_in_time=check_in,
        full_refund_statuses=c.codes(head.get("full_refund_statuses", []), "policy.full_refund_statuses"),
    )
    return (None if c.issues else policy), c.issues


def carrier_size(c: Checker, value: Any, path: str) -> CarrierSize | None:
    """APPR s. 1(2): "large" (two million passengers or more in each of the two preceding years) or "small"."""
    if value is None or value in get_args(CarrierSize):
        return value  # type: ignore[no-any-return]
    c.problem(path, f"expected 'large' or 'small' (APPR s. 1(2)), got {shown(value)}")
    return None


def _dot_24_hour(c: Checker, value: Any) -> Literal["cancel", "hold"] | None:
    if value is None or value in ("cancel", "hold"):
        return value  # type: ignore[no-any-return]
    c.problem("policy.dot_24_hour", f"expected 'cancel' or 'hold' (14 CFR 259.5(b)(4)), got {value!r}")
    return None


def _rule(c: Checker, raw: Any, path: str, kind: str, currency: str, anchor_time: time | None) -> Rule:
    codes_key = RULE_CODES[kind]
    r = c.table(raw, path, {"id", codes_key, "refundable", "windows", "no_show", "taxes", "fees", "ancillaries"},
                {"id", codes_key})  # fmt: skip
    refundable = c.typed(r.get("refundable"), bool, f"{path}.refundable", True)
    raw_windows = r.get("windows", [])
    if not isinstance(raw_windows, list):
        c.problem(f"{path}.windows", "expected [[...windows]] tables")
        raw_windows = []
    if refundable and not raw_windows:
        c.problem(f"{path}.windows", "a refundable rule needs at least one window")
    windows = tuple(_window(c, w, f"{path}.windows[{i}]", kind, currency) for i, w in enumerate(raw_windows))
    for i, window in enumerate(windows[:-1]):
        if window.until is None:
            c.problem(f"{path}.windows[{i}].until", "only the last window may leave out 'until'")
    if windows and windows[-1].until is not None:
        c.problem(f"{path}.windows[{len(windows) - 1}].until", "the last window must leave out 'until'")
    _check_order(c, windows, path, anchor_time)
    no_show = _window(c, r["no_show"], f"{path}.no_show", kind, currency) if "no_show" in r else None
    # Window ids name the window in force (and pick it when pricing): unique within a rule.
    named = [(f"{path}.windows[{i}].id", w.id) for i, w in enumerate(windows)]
    named += [(f"{path}.no_show.id", no_show.id)] if no_show else []
    for i, (where, window_id) in enumerate(named):
        if window_id and window_id in [other for _, other in named[:i]]:
            c.problem(where, f"window id {window_id!r} is already used in this rule")
    ancillaries = r.get("ancillaries", "none")
    if ancillaries not in ("none", "unused"):
        c.problem(f"{path}.ancillaries", f"expected 'none' or 'unused', got {shown(ancillaries)}")
    return Rule(
        id=c.typed(r.get("id"), str, f"{path}.id", ""),
        codes=c.codes(r.get(codes_key, []), f"{path}.{codes_key}"),
        refundable=refundable,
        windows=windows,
        no_show=no_show,
        taxes=_refundability(c, r.get("taxes"), f"{path}.taxes", "all"),
        fees=_refundability(c, r.get("fees"), f"{path}.fees", "none"),
        ancillaries="unused" if ancillaries == "unused" else "none",
        line=c.line(path),
    )


# A days_before/at deadline is a local wall-clock time: across a daylight-saving change it
# lies up to this much nearer to or farther from the anchor than its wall-clock distance.
DST_MARGIN_HOURS = Fraction(1)


def _hours_before(deadline: Deadline, anchor_time: time | None) -> tuple[Fraction, Fraction]:
    """How many hours before the anchor ``deadline`` falls, as the narrowest range that holds
    for every anchor: a flight departs at any time of day, a hotel's check-in is at its
    ``check_in_time``."""
    if deadline.hours_before is not None:
        return Fraction(deadline.hours_before), Fraction(deadline.hours_before)
    assert deadline.days_before is not None and deadline.at is not None
    at = Fraction(deadline.at.hour * 60 + deadline.at.minute, 60)
    base = 24 * deadline.days_before - at
    if anchor_time is None:
        return base - DST_MARGIN_HOURS, base + 24 + DST_MARGIN_HOURS
    anchor = Fraction(anchor_time.hour * 60 + anchor_time.minute, 60)
    return base + anchor - DST_MARGIN_HOURS, base + anchor + DST_MARGIN_HOURS


def _earlier(a: Deadline, b: Deadline, anchor_time: time | None) -> bool:
    """True when ``a`` comes strictly before ``b`` for every anchor."""
    if a.days_before is not None and b.days_before is not None:
        # Both are wall-clock times counted back from the same local date: compare them so.
        assert a.at is not None and b.at is not None
        return (-a.days_before, a.at) < (-b.days_before, b.at)
    return _hours_before(a, anchor_time)[0] > _hours_before(b, anchor_time)[1]


def _check_order(c: Checker, windows: tuple[Window, ...], path: str, anchor_time: time | None) -> None:
    """Each window's deadline must come after the previous one's for every possible anchor,
    hours_before and days_before/at mixed, or a window could never apply."""
    timed = [(i, w.until) for i, w in enumerate(windows) if w.until is not None]
    for (_, a), (j, b) in itertools.pairwise(timed):
        if _earlier(a, b, anchor_time):
            continue
        if a.hours_before is not None and b.hours_before is not None:
            message = f"expected fewer hours than the previous window ({a.hours_before}), got {b.hours_before}"
        else:
            anchors = "for every departure time" if anchor_time is None else f"for a check-in at {anchor_time:%H:%M}"
            message = (f"expected a deadline after the previous window's ({a.describe()}) {anchors}, "
                       f"got {b.describe()}")  # fmt: skip
        c.problem(f"{path}.windows[{j}].until", message)


def _refundability(c: Checker, raw: Any, path: str, default: str) -> Refundability:
    if raw is None:
        return Refundability("all" if default == "all" else "none")
    r = c.table(raw, path, {"refund", "except"}, {"refund"})
    mode = r.get("refund")
    except_codes = c.codes(r.get("except", []), f"{path}.except")
    if isinstance(mode, list):
        return Refundability("codes", c.codes(mode, f"{path}.refund"), except_codes)
    if mode not in ("all", "none", "proportional"):
        expected = "expected 'all', 'none', 'proportional' or a list of codes"
        c.problem(f"{path}.refund", f"{expected}, got {shown(mode)}")
        return Refundability("none")
    return Refundability(mode, frozenset(), except_codes)


def _window(c: Checker, raw: Any, path: str, kind: str, currency: str) -> Window:
    w = c.table(raw, path, {"id", "until", "penalty"}, {"id", "penalty"})
    return Window(
        id=c.typed(w.get("id"), str, f"{path}.id", ""),
        until=_deadline(c, w["until"], f"{path}.until") if "until" in w else None,
        penalty=_penalty(c, w.get("penalty", {}), f"{path}.penalty", kind, currency),
        line=c.line(path),
    )


def _deadline(c: Checker, raw: Any, path: str) -> Deadline:
    d = c.table(raw, path, {"hours_before", "days_before", "at"})
    if "hours_before" in d and ("days_before" in d or "at" in d):
        c.problem(path, "give either hours_before, or days_before with at")
    if "hours_before" in d:
        hours = c.typed(d["hours_before"], int, f"{path}.hours_before", 0)
        if not 0 <= hours <= MAX_HOURS_BEFORE:
            c.problem(f"{path}.hours_before", f"expected 0 to {MAX_HOURS_BEFORE} hours, got {hours}")
        return Deadline(hours_before=hours)
    if "days_before" in d and "at" in d:
        days = c.typed(d["days_before"], int, f"{path}.days_before", 0)
        if not 0 <= days <= MAX_DAYS_BEFORE:
            c.problem(f"{path}.days_before", f"expected 0 to {MAX_DAYS_BEFORE} days, got {days}")
        return Deadline(days_before=days, at=c.clock(d["at"], f"{path}.at") or time(0))
    c.problem(path, 'expected { hours_before = N } or { days_before = N, at = "HH:MM" }')
    return Deadline(hours_before=0)


def _penalty(c: Checker, raw: Any, path: str, kind: str, currency: str) -> Penalty:
    p = c.table(raw, path, {"amount", "currency", "percent", "nights", "min", "max"})
    given = [k for k in ("amount", "percent", "nights") if k in p]
    if len(given) != 1:
        c.problem(path, f"expected exactly one of amount, percent, nights; got {', '.join(given) or 'none'}")
    if "nights" in p and kind != "hotel":
        c.problem(f"{path}.nights", "nights apply to hotel rates only")
    cur = c.currency(p.get("currency"), f"{path}.currency", currency) or currency
    nights = c.typed(p.get("nights"), int, f"{path}.nights", 0) if "nights" in p else None
    if nights is not None and nights == p["nights"] and not 1 <= nights <= MAX_PENALTY_NIGHTS:  # mistyped: reported
        c.problem(f"{path}.nights", f"expected 1 to {MAX_PENALTY_NIGHTS} nights, got {nights}")
    return Penalty(
        amount=c.amount(p.get("amount"), cur, f"{path}.amount"),
        currency=cur,
        percent=c.percent(p["percent"], f"{path}.percent") if "percent" in p else None,
        nights=nights,
        min=c.amount(p.get("min"), cur, f"{path}.min"),
        max=c.amount(p.get("max"), cur, f"{path}.max"),
    )
