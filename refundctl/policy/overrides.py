"""Validate waiver and regulation policy files (``kind = "waiver"`` / ``"regulation"``).

Same approach as ``refundctl.policy.schema``: every problem is collected with its
TOML path, so ``policy validate`` prints them all as ``file:line: message``.
Instants are TOML offset date-times (unquoted); dates are TOML local dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, get_args

import holidays

from refundctl.money import ZERO
from refundctl.policy.model import (
    Band,
    CompensationRule,
    Due,
    Funder,
    Regulation,
    RegulationRule,
    Waiver,
    WaiverConditions,
    WaiverEffect,
)
from refundctl.policy.schema import Checker, Issue

HEAD = {"id", "kind", "name", "source"}
CONDITIONS = {
    "order_kinds", "suppliers", "booked_after", "booked_before", "travel_from", "travel_until", "traveler_tags",
    "waiver_codes", "channels",
}  # fmt: skip
EFFECT = {"type", "up_to", "currency", "funded_by", "evidence"}


def build_waiver(data: dict[str, Any], file: str, lines: dict[str, int]) -> tuple[Waiver | None, list[Issue]]:
    c = Checker(lines)
    c.table(data, "", {"policy", "conditions", "effect"}, {"policy", "conditions", "effect"})
    head = c.table(data.get("policy", {}), "policy", HEAD | {"overlaps"}, {"id", "kind"})
    raw = c.table(data.get("conditions", {}), "conditions", CONDITIONS)
    conditions = WaiverConditions(
        order_kinds=_codes(c, raw, "order_kinds", allowed=("flight", "hotel")),
        suppliers=_codes(c, raw, "suppliers"),
        booked_after=_instant(c, raw.get("booked_after"), "conditions.booked_after"),
        booked_before=_instant(c, raw.get("booked_before"), "conditions.booked_before"),
        travel_from=_date(c, raw.get("travel_from"), "conditions.travel_from"),
        travel_until=_date(c, raw.get("travel_until"), "conditions.travel_until"),
        traveler_tags=_codes(c, raw, "traveler_tags"),
        waiver_codes=_codes(c, raw, "waiver_codes"),
        channels=_codes(c, raw, "channels"),
    )
    if conditions.booked_after and conditions.booked_before and conditions.booked_after >= conditions.booked_before:
        c.issues.append(("conditions.booked_before", "expected a later instant than booked_after"))
    if conditions.travel_from and conditions.travel_until and conditions.travel_from > conditions.travel_until:
        c.issues.append(("conditions.travel_until", "expected a date on or after travel_from"))
    e = c.table(data.get("effect", {}), "effect", EFFECT, {"type", "funded_by"})
    effect = _choice(c, e.get("type"), "effect.type", get_args(WaiverEffect), "full-refund")
    funded_by = _choice(c, e.get("funded_by"), "effect.funded_by", get_args(Funder), "platform")
    if ("up_to" in e) != ("currency" in e):
        c.issues.append(("effect.up_to", "give up_to and currency together"))
    if "up_to" in e and e.get("type") == "full-refund":
        c.issues.append(("effect.up_to", "a full refund has no limit; up_to applies to waive-* effects"))
    currency = c.currency(e["currency"], "effect.currency", "") if "currency" in e else None
    waiver = Waiver(
        id=c.head_text(head, "id"),
        file=file,
        line=c.line("conditions"),
        name=c.head_text(head, "name"),
        source=c.head_text(head, "source"),
        conditions=conditions,
        effect=effect,  # type: ignore[arg-type]
        funded_by=funded_by,  # type: ignore[arg-type]
        evidence=c.typed(e.get("evidence"), bool, "effect.evidence", False),
        up_to=c.amount(e.get("up_to"), currency, "effect.up_to") if currency else None,
        currency=currency,
        overlaps=c.codes(head["overlaps"], "policy.overlaps") if "overlaps" in head else frozenset(),
    )
    return (None if c.issues else waiver), c.issues


def build_regulation(data: dict[str, Any], file: str, lines: dict[str, int]) -> tuple[Regulation | None, list[Issue]]:
    c = Checker(lines)
    c.table(data, "", {"policy", "scope", "due", "significant_change", "compensation"}, {"policy", "scope", "due"})
    head = c.table(data.get("policy", {}), "policy", HEAD | {"implements", "in_force"},
                   {"id", "kind", "source", "implements", "in_force"})  # fmt: skip
    implements = _choice(c, head.get("implements"), "policy.implements", get_args(RegulationRule), "eu-261")
    scope = c.table(data.get("scope", {}), "scope", {"countries"}, {"countries"})
    due_raw = c.table(data.get("due", {}), "due", {"days", "business_days", "holidays", "card"}, {"days"})
    change = data.get("significant_change")
    if implements == "us-dot-260" and change is None:
        c.issues.append(("significant_change", "required for us-dot-260: the hours that make a change significant"))
    if implements != "us-dot-260" and change is not None:
        c.issues.append(("significant_change", "only us-dot-260 uses significant_change"))
    change = c.table(change or {}, "significant_change", {"domestic_hours", "international_hours"},
                     {"domestic_hours", "international_hours"} if change is not None else set())  # fmt: skip
    compensation = None
    if "compensation" in data:
        compensation = _compensation(c, data["compensation"])
    regulation = Regulation(
        id=c.head_text(head, "id"),
        file=file,
        line=c.line("policy"),
        name=c.head_text(head, "name"),
        source=c.head_text(head, "source"),
        implements=implements,  # type: ignore[arg-type]
        in_force=_date(c, head.get("in_force"), "policy.in_force") or date.min,
        countries=_codes(c, scope, "countries", path="scope"),
        due=_due(c, due_raw, "due"),
        due_card=_card_due(c, due_raw),
        domestic_hours=_hours(c, change.get("domestic_hours"), "significant_change.domestic_hours"),
        international_hours=_hours(c, change.get("international_hours"), "significant_change.international_hours"),
        compensation=compensation,
    )
    return (None if c.issues else regulation), c.issues


def _card_due(c: Checker, due: dict[str, Any]) -> Due | None:
    if "card" not in due:
        return None
    return _due(c, c.table(due["card"], "due.card", {"days", "business_days", "holidays"}, {"days"}), "due.card")


MAX_DUE_DAYS = 3650  # ten years; beyond, due dates would overflow (or business days take forever)


def _due(c: Checker, raw: dict[str, Any], path: str) -> Due:
    days = c.typed(raw.get("days"), int, f"{path}.days", 0)
    if not 0 <= days <= MAX_DUE_DAYS:
        c.issues.append((f"{path}.days", f"expected 0 to {MAX_DUE_DAYS} days, got {days}"))
    country = c.typed(raw.get("holidays"), str, f"{path}.holidays", "") or None
    if country is not None and country not in holidays.list_supported_countries():
        c.issues.append((f"{path}.holidays", f"no public holiday calendar for country {country!r}"))
    business = c.typed(raw.get("business_days"), bool, f"{path}.business_days", False)
    if country is not None and not business:
        c.issues.append((f"{path}.holidays", "holidays only matter with business_days = true"))
    return Due(days, business, country)


def _compensation(c: Checker, raw: Any) -> CompensationRule:
    comp = c.table(raw, "compensation", {"currency", "notice_days", "bands", "intra"},
                   {"currency", "notice_days", "bands"})  # fmt: skip
    currency = c.currency(comp.get("currency"), "compensation.currency", "EUR") or "EUR"
    bands: list[Band] = []
    raw_bands = comp.get("bands", [])
    if not isinstance(raw_bands, list) or not raw_bands:
        c.issues.append(("compensation.bands", "expected at least one [[compensation.bands]] table"))
        raw_bands = []
    for i, item in enumerate(raw_bands):
        path = f"compensation.bands[{i}]"
        b = c.table(item, path, {"up_to_km", "amount"}, {"amount"})
        up_to = c.typed(b.get("up_to_km"), int, f"{path}.up_to_km", 0) if "up_to_km" in b else None
        bands.append(Band(up_to, c.amount(b.get("amount"), currency, f"{path}.amount") or ZERO))
        previous = bands[-2].up_to_km if len(bands) > 1 else 0
        if previous is None or (up_to is not None and up_to <= previous):
            c.issues.append((f"{path}.up_to_km", "bands must go up in distance; only the last may leave it out"))
    if bands and bands[-1].up_to_km is not None:
        c.issues.append((f"compensation.bands[{len(bands) - 1}].up_to_km", "the last band must leave out up_to_km"))
    intra = c.table(comp.get("intra", {}), "compensation.intra", {"over_km", "amount"})
    notice = c.typed(comp.get("notice_days"), int, "compensation.notice_days", 0)
    return CompensationRule(
        currency=currency,
        bands=tuple(bands),
        intra_over_km=c.typed(intra.get("over_km"), int, "compensation.intra.over_km", 0) if intra else None,
        intra_amount=c.amount(intra.get("amount"), currency, "compensation.intra.amount") if intra else None,
        notice_days=notice,
    )


def _codes(
    c: Checker, table: dict[str, Any], key: str, *, allowed: tuple[str, ...] = (), path: str = "conditions"
) -> frozenset[str]:
    if key not in table:
        return frozenset()
    codes = c.codes(table[key], f"{path}.{key}")
    for code in sorted(codes - set(allowed) if allowed else ()):
        c.issues.append((f"{path}.{key}", f"expected any of {', '.join(allowed)}, got {code!r}"))
    return codes


def _choice(c: Checker, value: Any, path: str, allowed: tuple[str, ...], default: str) -> str:
    if value not in allowed:
        c.issues.append((path, f"expected one of {', '.join(allowed)}, got {value!r}"))
        return default
    return str(value)


def _hours(c: Checker, value: Any, path: str) -> int | None:
    hours = c.typed(value, int, path, 0) if value is not None else None
    if hours is not None and hours < 1:
        c.issues.append((path, "expected at least 1 hour"))
    return hours


def _instant(c: Checker, value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        c.issues.append((path, f"expected a TOML date-time with an offset, e.g. 2020-01-24T00:00:00+08:00 "
                               f"(unquoted), got {value!r}"))  # fmt: skip
        return None
    return value


def _date(c: Checker, value: Any, path: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        c.issues.append((path, f"expected a TOML date such as 2020-03-31 (unquoted), got {value!r}"))
        return None
    return value


def overlapping(a: Waiver, b: Waiver) -> bool:
    """Whether some order could meet the conditions of both ``a`` and ``b``."""
    x, y = a.conditions, b.conditions
    sets = ("order_kinds", "suppliers", "traveler_tags", "waiver_codes", "channels")
    if any(getattr(x, s) and getattr(y, s) and not getattr(x, s) & getattr(y, s) for s in sets):
        return False
    return _meet(x.booked_after, x.booked_before, y.booked_after, y.booked_before, inclusive=False) and _meet(
        x.travel_from, x.travel_until, y.travel_from, y.travel_until, inclusive=True
    )


def _meet(lo1: Any, hi1: Any, lo2: Any, hi2: Any, *, inclusive: bool) -> bool:
    """Whether two ranges (None: unbounded) share a point; ``inclusive`` says whether ends belong to them."""
    lo = max((v for v in (lo1, lo2) if v is not None), default=None)
    hi = min((v for v in (hi1, hi2) if v is not None), default=None)
    if lo is None or hi is None:
        return True
    return bool(lo <= hi if inclusive else lo < hi)


def same_effect(a: Waiver, b: Waiver) -> bool:
    return (a.effect, a.funded_by, a.evidence, a.up_to, a.currency) == (
        b.effect,
        b.funded_by,
        b.evidence,
        b.up_to,
        b.currency,
    )
