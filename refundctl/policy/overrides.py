"""Validate waiver and regulation policy files (``kind = "waiver"`` / ``"regulation"``).

Same approach as ``refundctl.policy.schema``: every problem is collected with its
TOML path, so ``policy validate`` prints them all as ``file:line: message``.
Instants are TOML offset date-times (unquoted); dates are TOML local dates.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args

import holidays

from refundctl import validate
from refundctl.money import ZERO
from refundctl.policy.model import (
    Arrival,
    Band,
    BookingWindow,
    Carrier,
    CarrierAttribute,
    CarrierList,
    CompensationRule,
    DelayBand,
    DelayCompensation,
    Disruption,
    Due,
    Funder,
    RefundRight,
    Regulation,
    RegulationRule,
    ReroutingExemption,
    Waiver,
    WaiverConditions,
    WaiverEffect,
)
from refundctl.policy.schema import Checker, carrier_size
from refundctl.validate import Issue, choice, within

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
        c.problem("conditions.booked_before", "expected a later instant than booked_after")
    if conditions.travel_from and conditions.travel_until and conditions.travel_from > conditions.travel_until:
        c.problem("conditions.travel_until", "expected a date on or after travel_from")
    e = c.table(data.get("effect", {}), "effect", EFFECT, {"type", "funded_by"})
    effect = _choice(c, e.get("type"), "effect.type", get_args(WaiverEffect), "full-refund")
    funded_by = _choice(c, e.get("funded_by"), "effect.funded_by", get_args(Funder), "platform")
    if ("up_to" in e) != ("currency" in e):
        c.problem("effect.up_to", "give up_to and currency together")
    if "up_to" in e and e.get("type") == "full-refund":
        c.problem("effect.up_to", "a full refund has no limit; up_to applies to waive-* effects")
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


REGULATION_TABLES = {"policy", "scope", "due", "significant_change", "compensation", "disruption", "booking_window",
                     "refund"}  # fmt: skip
SCOPE = {"countries", "excluded_airports", "licences", "arrivals", "carriers"}
# What each rule needs beyond [policy], [scope] and [due]: (required tables, optional tables).
NEEDS: dict[str, tuple[set[str], set[str]]] = {
    "us-dot-260": ({"significant_change"}, set()),
    "eu-261": ({"disruption"}, {"compensation"}),
    "uk-261": ({"disruption"}, {"compensation"}),
    "ca-appr": ({"refund", "compensation"}, set()),
    "cn-caac-2021": (set(), set()),
    "us-dot-24-hour": ({"booking_window"}, set()),
}
CARRIER_BASED = {"cn-caac-2021"}  # covered by who operates, anywhere: [scope] carriers instead of countries
# Sane ranges for every number a regulation file holds; beyond them a date or duration would
# overflow (or a loop take forever), and no real regulation comes near.
MAX_HOURS = 8760  # a year
MAX_NOTICE_DAYS = 365
MAX_KM = 20040  # more than half the Earth's circumference: no great-circle distance is longer
MAX_DUE_DAYS = 3650  # ten years
YEARS = (1900, 2999)  # as orders' years


def build_regulation(data: dict[str, Any], file: str, lines: dict[str, int]) -> tuple[Regulation | None, list[Issue]]:
    c = Checker(lines)
    c.table(data, "", REGULATION_TABLES, {"policy", "scope", "due"})
    head = c.table(data.get("policy", {}), "policy", HEAD | {"implements", "in_force"},
                   {"id", "kind", "source", "implements", "in_force"})  # fmt: skip
    implements = _choice(c, head.get("implements"), "policy.implements", get_args(RegulationRule), "eu-261")
    required, optional = NEEDS[implements]
    for table in sorted(REGULATION_TABLES - {"policy", "scope", "due"}):
        if table in required and table not in data:
            c.problem(table, f"required for {implements}")
        elif table in data and table not in required | optional:
            c.problem(table, f"{implements} does not use [{table}]")
    carrier_based = implements in CARRIER_BASED
    scope = c.table(data.get("scope", {}), "scope", SCOPE, {"carriers", "licences"} if carrier_based else {"countries"})
    countries = _codes(c, scope, "countries", path="scope")
    licences = _licences(c, scope.get("licences", {}))
    due_raw = c.table(data.get("due", {}), "due", DUE | {"card"}, {"days"})
    hours = {"domestic_hours", "international_hours"}
    change = c.table(data.get("significant_change", {}), "significant_change", hours,
                     hours if "significant_change" in data else set())  # fmt: skip
    comp = data.get("compensation")
    regulation = Regulation(
        id=c.head_text(head, "id"),
        file=file,
        line=c.line("policy"),
        name=c.head_text(head, "name"),
        source=c.head_text(head, "source"),
        implements=implements,  # type: ignore[arg-type]
        in_force=_date(c, head.get("in_force"), "policy.in_force") or date.min,
        countries=countries,
        due=_due(c, due_raw, "due"),
        due_card=_card_due(c, due_raw),
        domestic_hours=_hours(c, change.get("domestic_hours"), "significant_change.domestic_hours"),
        international_hours=_hours(c, change.get("international_hours"), "significant_change.international_hours"),
        compensation=_compensation(c, comp) if comp is not None and implements != "ca-appr" else None,
        excluded_airports=_codes(c, scope, "excluded_airports", path="scope"),
        licences=licences,
        arrivals=_arrivals(c, scope.get("arrivals", []), countries, licences),
        carriers=_attributes(c, scope["carriers"], "scope.carriers", licences) if "carriers" in scope else (),
        disruption=_disruption(c, data["disruption"]) if "disruption" in data else None,
        booking_window=_booking_window(c, data["booking_window"]) if "booking_window" in data else None,
        refund_right=_refund_right(c, data["refund"]) if "refund" in data else None,
        delay_compensation=_delay_compensation(c, comp) if comp is not None and implements == "ca-appr" else None,
    )
    return (None if c.issues else regulation), c.issues


def _licences(c: Checker, raw: Any) -> dict[CarrierAttribute, frozenset[str]]:
    """``[scope.licences]``: each carrier attribute's licensing states (the carriers file's ``country``)."""
    table = c.table(raw, "scope.licences", set(get_args(CarrierAttribute)))
    names: tuple[CarrierAttribute, ...] = get_args(CarrierAttribute)
    return {key: c.codes(table[key], f"scope.licences.{key}") for key in names if key in table}


def _attributes(c: Checker, raw: Any, path: str,
                licences: dict[CarrierAttribute, frozenset[str]]) -> tuple[CarrierAttribute, ...]:  # fmt: skip
    names = c.codes(raw, path)
    for name in sorted(names - set(licences)):
        known = ", ".join(sorted(licences)) or "none"
        c.problem(path, f"{name!r} has no [scope.licences] entry (listed: {known})")
    return tuple(sorted(n for n in licences if n in names))


def _arrivals(c: Checker, raw: Any, countries: frozenset[str],
              licences: dict[CarrierAttribute, frozenset[str]]) -> tuple[Arrival, ...]:  # fmt: skip
    """``[[scope.arrivals]]``: inbound cover; ``countries`` defaults to the scope's."""
    out = []
    for path, item in c.array(raw, "scope.arrivals"):
        a = c.table(item, path, {"countries", "carriers", "cites"}, {"carriers", "cites"})
        where = _codes(c, a, "countries", path=path) if "countries" in a else countries
        carriers = _attributes(c, a["carriers"], f"{path}.carriers", licences) if "carriers" in a else ()
        out.append(Arrival(where, carriers, c.typed(a.get("cites"), str, f"{path}.cites", "")))
    return tuple(out)


def _number(c: Checker, value: Any, path: str, low: int, high: int, unit: str) -> int:
    """A whole number from ``low`` to ``high`` (``low`` when absent or wrong); the bounds are in the message."""
    return low if value is None else c.read(value, path, within(low, high, unit), low)


def _disruption(c: Checker, raw: Any) -> Disruption:
    keys = {"earlier_hours", "refund_delay_hours", "compensation_delay_hours"}
    d = c.table(raw, "disruption", keys, keys)
    hours = {k: _hours(c, d.get(k), f"disruption.{k}") or 1 for k in sorted(keys)}
    return Disruption(**hours)


def _booking_window(c: Checker, raw: Any) -> BookingWindow:
    keys = {"within_hours", "booked_days_before"}
    b = c.table(raw, "booking_window", keys, keys)
    return BookingWindow(
        within_hours=_hours(c, b.get("within_hours"), "booking_window.within_hours") or 1,
        booked_days_before=_number(
            c, b.get("booked_days_before"), "booking_window.booked_days_before", 0, MAX_NOTICE_DAYS, "days"
        ),
    )


def _refund_right(c: Checker, raw: Any) -> RefundRight:
    keys = {"delay_hours", "rebook_within_hours"}
    r = c.table(raw, "refund", keys, keys)
    return RefundRight(
        delay_hours=_hours(c, r.get("delay_hours"), "refund.delay_hours") or 1,
        rebook_within_hours=_hours(c, r.get("rebook_within_hours"), "refund.rebook_within_hours") or 1,
    )


def _card_due(c: Checker, due: dict[str, Any]) -> Due | None:
    if "card" not in due:
        return None
    raw = c.table(due["card"], "due.card", DUE | {"payment_methods"}, {"days", "payment_methods"})
    methods = c.codes(raw["payment_methods"], "due.card.payment_methods") if "payment_methods" in raw else frozenset()
    return replace(_due(c, raw, "due.card"), payment_methods=methods)


DUE = {"days", "business_days", "holidays", "timezone", "published_through"}


def _has_calendar(country: str) -> bool:
    """Whether ``holidays`` has a calendar for ``country``: asked for that one country, since
    ``list_supported_countries`` imports all 250 (a tenth of a second at every start-up)."""
    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        return False
    return True


def _due(c: Checker, raw: dict[str, Any], path: str) -> Due:
    days = _number(c, raw.get("days"), f"{path}.days", 0, MAX_DUE_DAYS, "days")
    country = c.typed(raw.get("holidays"), str, f"{path}.holidays", "") or None
    if country is not None and not _has_calendar(country):
        c.problem(f"{path}.holidays", f"no public holiday calendar for country {country!r}")
    business = c.typed(raw.get("business_days"), bool, f"{path}.business_days", False)
    if country is not None and not business:
        c.problem(f"{path}.holidays", "holidays only matter with business_days = true")
    zone = c.read(
        c.typed(raw.get("timezone"), str, f"{path}.timezone", "UTC"), f"{path}.timezone", validate.zone, "UTC"
    )
    published = None
    if "published_through" in raw:
        published = _number(c, raw["published_through"], f"{path}.published_through", *YEARS, "(a year)")
        if country is None:
            c.problem(f"{path}.published_through", "only matters with a holidays calendar")
    return Due(days, business, country, timezone=zone, published_through=published)


def _delay_compensation(c: Checker, raw: Any) -> DelayCompensation:
    """APPR s. 19: bands by arrival delay, amounts by carrier size, a flat amount when refunded."""
    comp = c.table(raw, "compensation", {"currency", "notice_days", "refunded", "bands"},
                   {"currency", "notice_days", "refunded", "bands"})  # fmt: skip
    currency = c.currency(comp.get("currency"), "compensation.currency", "CAD") or "CAD"
    sizes = {"large", "small"}

    def amounts(item: Any, path: str) -> tuple[Decimal, Decimal]:
        t = c.table(item, path, sizes | {"from_hours"} if path != "compensation.refunded" else sizes, sizes)
        return (c.amount(t.get("large"), currency, f"{path}.large") or ZERO,
                c.amount(t.get("small"), currency, f"{path}.small") or ZERO)  # fmt: skip

    refunded = amounts(comp.get("refunded", {}), "compensation.refunded")
    bands: list[DelayBand] = []
    for path, item in c.array(comp.get("bands", []), "compensation.bands", required=True):
        large, small = amounts(item, path)
        hours = _hours(c, item.get("from_hours") if isinstance(item, dict) else None, f"{path}.from_hours") or 1
        if bands and hours <= bands[-1].from_hours:
            c.problem(f"{path}.from_hours", f"bands must go up in hours (previous: {bands[-1].from_hours})")
        bands.append(DelayBand(hours, large, small))
    notice = _number(c, comp.get("notice_days"), "compensation.notice_days", 0, MAX_NOTICE_DAYS, "days")
    return DelayCompensation(currency, notice, tuple(bands), *refunded)


def _compensation(c: Checker, raw: Any) -> CompensationRule:
    comp = c.table(raw, "compensation", {"currency", "notice_days", "bands", "intra", "reduction_percent",
                                         "rerouting"}, {"currency", "notice_days", "bands"})  # fmt: skip
    currency = c.currency(comp.get("currency"), "compensation.currency", "EUR") or "EUR"
    bands: list[Band] = []
    for path, item in c.array(comp.get("bands", []), "compensation.bands", required=True):
        b = c.table(item, path, {"up_to_km", "amount", "reduce_within_hours"}, {"amount"})
        up_to = _number(c, b["up_to_km"], f"{path}.up_to_km", 1, MAX_KM, "km") if "up_to_km" in b else None
        amount = c.amount(b.get("amount"), currency, f"{path}.amount") or ZERO
        bands.append(Band(up_to, amount, _hours(c, b.get("reduce_within_hours"), f"{path}.reduce_within_hours")))
        previous = bands[-2].up_to_km if len(bands) > 1 else 0
        if previous is None or (up_to is not None and up_to <= previous):
            c.problem(f"{path}.up_to_km", "bands must go up in distance; only the last may leave it out")
    if bands and bands[-1].up_to_km is not None:
        c.problem(f"compensation.bands[{len(bands) - 1}].up_to_km", "the last band must leave out up_to_km")
    intra = c.table(comp.get("intra", {}), "compensation.intra", {"over_km", "amount", "reduce_within_hours"})
    notice = _number(c, comp.get("notice_days"), "compensation.notice_days", 0, MAX_NOTICE_DAYS, "days")
    reduction = c.percent(comp["reduction_percent"], "compensation.reduction_percent") \
        if "reduction_percent" in comp else None  # fmt: skip
    return CompensationRule(
        currency=currency,
        bands=tuple(bands),
        intra_over_km=_number(c, intra.get("over_km"), "compensation.intra.over_km", 1, MAX_KM, "km")
        if intra
        else None,
        intra_amount=c.amount(intra.get("amount"), currency, "compensation.intra.amount") if intra else None,
        notice_days=notice,
        intra_reduce_within_hours=_hours(c, intra.get("reduce_within_hours"), "compensation.intra.reduce_within_hours"),
        reduction_percent=reduction,
        rerouting=_rerouting(c, comp.get("rerouting", []), notice),
    )


def _rerouting(c: Checker, raw: Any, notice_days: int) -> tuple[ReroutingExemption, ...]:
    """Art. 5(1)(c)(ii)-(iii): shorter notice, with a re-routing close enough to the schedule."""
    keys = {"notice_days", "departs_within_hours", "arrives_within_hours"}
    out = []
    for path, item in c.array(raw, "compensation.rerouting"):
        r = c.table(item, path, keys, keys)
        days = c.typed(r.get("notice_days"), int, f"{path}.notice_days", 0)
        if not 0 <= days < max(notice_days, 1):
            c.problem(f"{path}.notice_days", f"expected 0 to {notice_days - 1} (less than compensation."
                                             "notice_days)")  # fmt: skip
        out.append(ReroutingExemption(
            days,
            _hours(c, r.get("departs_within_hours"), f"{path}.departs_within_hours") or 1,
            _hours(c, r.get("arrives_within_hours"), f"{path}.arrives_within_hours") or 1,
        ))  # fmt: skip
    return tuple(out)


CARRIER = {"code", "name", "country", "appr_carrier_size"}


def build_carriers(data: dict[str, Any], file: str, lines: dict[str, int]) -> tuple[CarrierList | None, list[Issue]]:
    """A carriers file: ``[[carriers]]`` with an IATA code, a name and the licensing country."""
    c = Checker(lines)
    c.table(data, "", {"policy", "carriers"}, {"policy", "carriers"})
    head = c.table(data.get("policy", {}), "policy", HEAD, {"id", "kind", "source"})
    carriers: list[Carrier] = []
    first: dict[str, int] = {}
    for path, item in c.array(data.get("carriers", []), "carriers", required=True):
        entry = c.table(item, path, CARRIER, CARRIER - {"appr_carrier_size"})
        code = c.typed(entry.get("code"), str, f"{path}.code", "")
        country = c.typed(entry.get("country"), str, f"{path}.country", "")
        if code and (len(code) != 2 or not code.isascii() or not code.isalnum() or not code.isupper()):
            c.problem(f"{path}.code", f"expected a 2-character IATA airline designator, got {code!r}")
        if country and (len(country) != 2 or not country.isascii() or not country.isalpha() or not country.isupper()):
            c.problem(f"{path}.country", f"expected an ISO 3166-1 alpha-2 country code, got {country!r}")
        line = c.line(path)
        if code in first:
            c.problem(f"{path}.code", f"carrier {code!r} is already listed at line {first[code]}")
        first.setdefault(code, line)
        size = carrier_size(c, entry.get("appr_carrier_size"), f"{path}.appr_carrier_size")
        carriers.append(Carrier(code, c.typed(entry.get("name"), str, f"{path}.name", ""), country, file, line, size))
    carrier_list = CarrierList(c.head_text(head, "id"), file, tuple(carriers))
    return (None if c.issues else carrier_list), c.issues


def _codes(
    c: Checker, table: dict[str, Any], key: str, *, allowed: tuple[str, ...] = (), path: str = "conditions"
) -> frozenset[str]:
    if key not in table:
        return frozenset()
    codes = c.codes(table[key], f"{path}.{key}")
    for code in sorted(codes - set(allowed) if allowed else ()):
        c.problem(f"{path}.{key}", f"expected any of {', '.join(allowed)}, got {code!r}")
    return codes


def _choice(c: Checker, value: Any, path: str, allowed: tuple[str, ...], default: str) -> str:
    # An absent key reads None here (TOML has no null): shown as Python writes it, as policies always have.
    return c.read(value, path, choice(allowed, show=repr), default)


def _hours(c: Checker, value: Any, path: str) -> int | None:
    return None if value is None else _number(c, value, path, 1, MAX_HOURS, "hours")


def _instant(c: Checker, value: Any, path: str) -> datetime | None:
    return None if value is None else c.read(value, path, toml_instant, None)


def _date(c: Checker, value: Any, path: str) -> date | None:
    return None if value is None else c.read(value, path, toml_date, None)


def toml_instant(value: Any) -> datetime:
    """A TOML offset date-time (unquoted: tomllib has already made it a datetime)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"expected a TOML date-time with an offset, e.g. 2020-01-24T00:00:00+08:00 "
                         f"(unquoted), got {value!r}")  # fmt: skip
    return value


def toml_date(value: Any) -> date:
    """A TOML local date (unquoted)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"expected a TOML date such as 2020-03-31 (unquoted), got {value!r}")
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
