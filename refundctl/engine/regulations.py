"""Whether a passenger-rights regulation covers an order, and what it owes.

Two rules are built in, each parameterised by its policy file:

- ``us-dot-260`` (14 CFR part 260): a segment to, from or within the covered
  countries cancelled, or significantly changed (departure earlier, or arrival
  later, by the policy's hours or more; another airport; more connections),
  and not accepted by the traveller: full refund of what was not used.
- ``eu-261`` (Regulation (EC) No 261/2004): a cancelled flight departing from
  the covered countries, or arriving there on a carrier its airline policy marks
  ``eu_carrier``: full refund (unless the traveller accepted re-routing), and
  compensation by great-circle distance unless notified in time or caused by
  extraordinary circumstances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays

from refundctl.engine.decision import Compensation
from refundctl.engine.geo import Airport, airport, distance_km
from refundctl.orders.model import FlightOrder, Order, Segment
from refundctl.policy.model import CompensationRule, Due, PolicySet, Regulation


@dataclass(frozen=True, slots=True)
class Assessment:
    regulation: Regulation
    why_not: tuple[str, ...] = ()  # empty: the regulation applies
    why: tuple[str, ...] = ()  # what makes it apply
    refund: bool = False  # a full refund is owed
    due_by: date | None = None
    compensation: Compensation | None = None
    compensation_note: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def applies(self) -> bool:
        return not self.why_not


def assess(regulation: Regulation, order: Order, policies: PolicySet, as_of: datetime) -> Assessment:
    today = as_of.astimezone(UTC).date()
    if today < regulation.in_force:
        return Assessment(regulation, (f"in force from {regulation.in_force}, the decision is dated {today}",))
    if not isinstance(order, FlightOrder):
        return Assessment(regulation, ("applies to flights only",))
    if not any(s.status in ("cancelled", "changed") for s in order.segments):
        # Both rules start from a disruption; most orders have none, so say so before any geography.
        return Assessment(regulation, ("no segment was cancelled or changed",))
    unknown = sorted({c for s in order.segments for c in (s.origin, s.destination) if airport(c) is None})
    if unknown:
        return Assessment(regulation, (f"airport(s) {', '.join(unknown)} unknown to airportsdata",))
    if regulation.implements == "us-dot-260":
        return _us_dot(regulation, order, today)
    return _eu_261(regulation, order, policies, today)


def _where(code: str) -> Airport:
    found = airport(code)
    assert found is not None  # checked by ``assess``
    return found


def _label(i: int, s: Segment) -> str:
    return f"segment {i + 1} ({s.flight} {s.origin}-{s.destination})"


def _us_dot(reg: Regulation, order: FlightOrder, today: date) -> Assessment:
    covered = reg.countries
    places = {_where(c).country for s in order.segments for c in (s.origin, s.destination)}
    if not places & covered:
        return Assessment(reg, (f"no segment to, from or within {', '.join(sorted(covered))}",))
    domestic = places <= covered
    hours = reg.domestic_hours if domestic else reg.international_hours
    assert hours is not None  # the schema requires both for us-dot-260
    threshold = timedelta(hours=hours)
    why = []
    for i, s in enumerate(order.segments):
        if s.status == "cancelled":
            why.append(f"{_label(i, s)} cancelled by the carrier")
        elif s.status == "changed":
            why.extend(f"{_label(i, s)} {change}" for change in _significant(s, threshold, hours, domestic))
    if not why:
        return Assessment(reg, ("no segment was cancelled or significantly changed",))
    if order.change_accepted:
        return Assessment(reg, ("the traveller accepted the change (change_accepted)",), tuple(why))
    due = reg.due_card if reg.due_card and order.common.payment_method == "card" else reg.due
    return Assessment(reg, (), tuple(why), refund=True, due_by=due_date(due, today), notes=(_due_note(due, order),))


def _significant(s: Segment, threshold: timedelta, hours: int, domestic: bool) -> list[str]:
    """14 CFR 260.2 "significant change": each part that the change meets."""
    scope = "domestic" if domestic else "international"
    out = []
    if s.changed_departs_at is not None and s.departs_at - s.changed_departs_at >= threshold:
        out.append(f"departs {s.departs_at - s.changed_departs_at} earlier ({hours} h or more, {scope})")
    if s.changed_arrives_at is not None and s.changed_arrives_at - s.arrives_at >= threshold:
        out.append(f"arrives {s.changed_arrives_at - s.arrives_at} later ({hours} h or more, {scope})")
    if s.changed_from and s.changed_from != s.origin:
        out.append(f"departs from {s.changed_from} instead of {s.origin}")
    if s.changed_to and s.changed_to != s.destination:
        out.append(f"arrives at {s.changed_to} instead of {s.destination}")
    if s.added_connections:
        out.append(f"has {s.added_connections} more connection(s)")
    return out


def _eu_261(reg: Regulation, order: FlightOrder, policies: PolicySet, today: date) -> Assessment:
    covered = reg.countries
    why_not = []
    for i, s in enumerate(order.segments):
        origin, destination = _where(s.origin), _where(s.destination)
        airline = policies.for_supplier("airline", s.carrier)
        if origin.country in covered:
            scope = f"departs from {s.origin} ({origin.country})"
        elif destination.country in covered and airline is not None and airline.eu_carrier:
            scope = f"arrives at {s.destination} ({destination.country}) on EU carrier {s.carrier}"
        else:
            why_not.append(f"{_label(i, s)} neither departs from the covered countries nor arrives there "
                           "on an EU carrier")  # fmt: skip
            continue
        if s.status != "cancelled":
            why_not.append(f"{_label(i, s)} {scope} but was not cancelled")
            continue
        why = (f"{_label(i, s)} {scope} and was cancelled",)
        refund = not order.change_accepted
        notes = [_due_note(reg.due, order) if refund else "the traveller accepted re-routing: no refund is owed"]
        comp, comp_note = (None, "")
        if reg.compensation is not None:
            comp, comp_note = _compensation(reg, reg.compensation, order, s, origin, destination)
        due = due_date(reg.due, today) if refund else None
        return Assessment(reg, (), why, refund, due, comp, comp_note, tuple(notes))
    return Assessment(reg, tuple(why_not) or ("no covered segment",))


def _compensation(
    reg: Regulation, rule: CompensationRule, order: FlightOrder, s: Segment, origin: Airport, destination: Airport
) -> tuple[Compensation | None, str]:
    """Article 7 bands by great-circle distance; Article 5 exemptions."""
    if s.extraordinary_circumstances:
        return None, "no compensation: the carrier cites extraordinary circumstances (Art. 5(3))"
    notified = order.cancellation_notified_at
    if notified is not None and notified <= s.departs_at - timedelta(days=rule.notice_days):
        return None, f"no compensation: told at least {rule.notice_days} days before departure (Art. 5(1)(c)(i))"
    km = distance_km(origin, destination)
    intra = origin.country in reg.countries and destination.country in reg.countries
    if intra and rule.intra_over_km is not None and rule.intra_amount is not None and km > rule.intra_over_km:
        amount, band = rule.intra_amount, f"within the covered countries, over {rule.intra_over_km} km"
    else:
        chosen = next(b for b in rule.bands if b.up_to_km is None or km <= b.up_to_km)
        amount = chosen.amount
        band = f"up to {chosen.up_to_km} km" if chosen.up_to_km is not None else "the longest band"
    note = f"{s.origin}-{s.destination} great-circle {km:.0f} km: {band}, {amount} {rule.currency}"
    return Compensation(amount, rule.currency, reg.id), note


@cache
def _calendar(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def due_date(due: Due, start: date) -> date:
    """``due.days`` after ``start``: calendar days, or business days (no weekends, no public holidays)."""
    if not due.business_days:
        return start + timedelta(days=due.days)
    calendar = _calendar(due.holidays) if due.holidays else None
    day, left = start, due.days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and (calendar is None or day not in calendar):
            left -= 1
    return day


def _due_note(due: Due, order: Order) -> str:
    unit = "business days" if due.business_days else "calendar days"
    extra = f" (weekends and {due.holidays} public holidays skipped)" if due.holidays else ""
    return f"due within {due.days} {unit} of the decision date{extra}; payment by {order.common.payment_method}"
