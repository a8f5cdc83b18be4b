"""Whether a passenger-rights regulation covers an order, journey by journey, and what it owes.

Each rule is parameterised by its policy file (scope, thresholds, bands, currency, due
periods), so another regime with the same mechanics is another file:

- ``eu-261`` (Regulation (EC) No 261/2004): journeys departing from the covered
  countries, or arriving there on a carrier licensed in ``carrier_countries``;
  cancellations, schedule changes (C-146/20), delays (Sturgeon); refund, and
  compensation by the great-circle distance to the final destination, with the notice
  and re-routing exemptions of Art. 5(1)(c) and the reduction of Art. 7(2).
- ``us-dot-260`` (14 CFR part 260): journeys to, from or within the covered countries
  cancelled or significantly changed (measured on the journey's origin and destination);
  full refund if not accepted, unused ancillaries even if accepted (260.4).
- ``us-dot-24-hour`` (14 CFR 259.5(b)(4)): cancellation within 24 hours of a booking made
  a week or more before departure, on carriers that offer cancellation rather than a hold.

The journeys are those of ``refundctl.engine.journeys``. Every verdict keeps the numbers it
used (distance, delay, notice, thresholds) for ``explain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Literal

import holidays

from refundctl.engine.decision import Compensation
from refundctl.engine.geo import Airport, airport, distance_km
from refundctl.engine.journeys import Journey, journeys
from refundctl.money import quantize
from refundctl.orders.model import FlightOrder, Order
from refundctl.policy.model import CompensationRule, Due, PolicySet, Regulation

RefundScope = Literal["none", "unused", "ancillaries"]  # what a verdict refunds of its journey


@dataclass(frozen=True, slots=True)
class Verdict:
    """One regulation on one journey."""

    journey: Journey
    why_not: tuple[str, ...] = ()  # empty: the regulation applies to this journey
    why: tuple[str, ...] = ()
    refund: RefundScope = "none"
    reimburse_flown: bool = False  # the journey was abandoned: its flown parts are reimbursed too
    compensation: Compensation | None = None
    numbers: tuple[str, ...] = ()  # what was measured, and against which threshold
    compensation_note: str = ""  # how the compensation was reached (band, distance, reduction)

    @property
    def applies(self) -> bool:
        return not self.why_not


@dataclass(frozen=True, slots=True)
class Assessment:
    regulation: Regulation
    why_not: tuple[str, ...] = ()  # the whole order is out of scope (not a flight, not in force)
    verdicts: tuple[Verdict, ...] = ()
    due_by: date | None = None
    review: str = ""  # the regulation cannot be decided without a person (e.g. an unknown airport)
    notes: tuple[str, ...] = ()

    @property
    def applies(self) -> bool:
        return not self.why_not and not self.review and any(v.applies for v in self.verdicts)

    @property
    def refunds(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.applies and v.refund != "none")

    @property
    def compensations(self) -> tuple[Compensation, ...]:
        return tuple(v.compensation for v in self.verdicts if v.applies and v.compensation is not None)


def assess(regulation: Regulation, order: Order, policies: PolicySet, as_of: datetime) -> Assessment:
    today = as_of.astimezone(UTC).date()
    if today < regulation.in_force:
        return Assessment(regulation, (f"in force from {regulation.in_force}, the decision is dated {today}",))
    if not isinstance(order, FlightOrder):
        return Assessment(regulation, ("applies to flights only",))
    requested = order.refund_requested_at or as_of
    if regulation.implements == "us-dot-24-hour":
        return _twenty_four_hours(regulation, order, policies, requested)
    if not any(s.status in ("cancelled", "changed") or s.actual_arrives_at for s in order.segments):
        # Most orders have no disruption: say so before building journeys or looking up airports.
        return Assessment(regulation, ("no segment was cancelled, changed or recorded late",))
    trips = journeys(order.segments)
    unknown = _unknown([j for j in trips if j.disrupted])
    if unknown:
        return _unknown_review(regulation, unknown)
    decide = _eu_journey if regulation.implements == "eu-261" else _dot_journey
    verdicts = tuple(decide(regulation, order, policies, j) for j in trips)
    return _with_due(regulation, order, verdicts, requested)


def _unknown(trips: list[Journey]) -> list[str]:
    return sorted({code for j in trips for code in j.airports if airport(code) is None})


def _unknown_review(regulation: Regulation, codes: list[str]) -> Assessment:
    what = f"airport {codes[0]} is" if len(codes) == 1 else f"airports {', '.join(codes)} are"
    reason = f"{what} unknown to airportsdata: {regulation.id} cannot be decided"
    return Assessment(regulation, review=reason)


def _with_due(regulation: Regulation, order: FlightOrder, verdicts: tuple[Verdict, ...],
              requested: datetime) -> Assessment:  # fmt: skip
    if not Assessment(regulation, verdicts=verdicts).refunds:
        return Assessment(regulation, verdicts=verdicts)
    due = _due_for(regulation, order)
    start = requested.astimezone(UTC).date()
    note = _due_note(due, order, "refund_requested_at" if order.refund_requested_at else "the decision instant")
    return Assessment(regulation, verdicts=verdicts, due_by=due_date(due, start), notes=(note,))


def _due_for(regulation: Regulation, order: FlightOrder) -> Due:
    card = regulation.due_card
    return card if card is not None and order.common.payment_method in card.payment_methods else regulation.due


def _where(code: str) -> Airport:
    found = airport(code)
    assert found is not None  # checked by ``assess``
    return found


def _hours(delta: timedelta) -> str:
    """A duration as people write it: 3 h, 2 h 59 min, -1 h 30 min, 1 h 0 min 1 s (never rounded)."""
    sign = "-" if delta < timedelta(0) else ""
    minutes, seconds = divmod(int(abs(delta).total_seconds()), 60)
    h, m = divmod(minutes, 60)
    return f"{sign}{h} h" + (f" {m} min" if m or seconds else "") + (f" {seconds} s" if seconds else "")


# EU 261 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Event:
    """What happened to an EU 261 journey."""

    kind: Literal["cancelled", "brought_forward", "delayed", "none"]
    what: str  # in words, with the numbers
    refund: bool  # the traveller may take a refund (Art. 8(1)(a))
    compensable: bool  # compensation is owed unless an exemption applies
    alternative: tuple[datetime, datetime] | None  # re-routing or changed times, for Art. 5(1)(c) and 7(2)
    delay: timedelta | None  # arrival delay at the final destination, for Art. 7(2)


def _eu_journey(reg: Regulation, order: FlightOrder, policies: PolicySet, j: Journey) -> Verdict:
    if not j.disrupted:
        return Verdict(j, ("not cancelled, changed or recorded late",))
    scope, numbers = _eu_scope(reg, policies, j)
    if scope is None:
        return Verdict(j, numbers)
    event = _eu_event(reg, order, j)
    if event.kind == "none":
        return Verdict(j, (f"{scope}, but {event.what}",), numbers=numbers)
    why = (f"{scope}; {event.what}",)
    refund: RefundScope = "unused" if event.refund else "none"
    if event.refund and order.change_accepted:
        refund = "none"
        numbers = (*numbers, "the traveller accepted the re-routing or change (change_accepted): no refund")
    comp: Compensation | None = None
    comp_numbers: tuple[str, ...] = ()
    if reg.compensation is not None and event.compensable:
        comp, comp_numbers = _eu_compensation(reg, reg.compensation, order, j, event)
        numbers = (*numbers, *comp_numbers)
    abandoned = refund == "unused" and order.journey_abandoned and bool(j.flown)
    if abandoned:
        numbers = (*numbers, "journey_abandoned: the parts already flown are reimbursed too (Art. 8(1)(a))")
    note = "; ".join(comp_numbers) if comp else ""
    return Verdict(j, (), why, refund, abandoned, comp, numbers, note)


def _eu_scope(reg: Regulation, policies: PolicySet, j: Journey) -> tuple[str | None, tuple[str, ...]]:
    """Art. 3(1): (why the journey is covered, or None; the facts used)."""
    origin, destination = _where(j.origin), _where(j.destination)
    if origin.country in reg.countries and j.origin not in reg.excluded_airports:
        return f"{j.label()} departs from {j.origin} ({origin.country}): covered as a whole (Art. 3(1)(a))", ()
    facts = []
    if j.origin in reg.excluded_airports:
        facts.append(f"{j.origin} is listed in excluded_airports: {reg.id} does not apply there")
    if destination.country not in reg.countries or j.destination in reg.excluded_airports:
        facts.append(f"{j.label()} neither departs from nor arrives in the covered countries")
        return None, tuple(facts)
    disrupted = next(s for s in j.segments if s.status in ("cancelled", "changed") or s.actual_arrives_at)
    carrier = disrupted.carrier
    licensed, fact = _licensed(reg, policies, carrier)
    facts.append(fact)
    if not licensed:
        facts.insert(0, f"{j.label()} arrives in {destination.country} from outside, on {carrier}, "
                        "not a Community carrier (Art. 3(1)(b))")  # fmt: skip
        return None, tuple(facts)
    return f"{j.label()} arrives at {j.destination} ({destination.country}) on {carrier} (Art. 3(1)(b))", tuple(facts)


def _licensed(reg: Regulation, policies: PolicySet, carrier: str) -> tuple[bool, str]:
    """Whether ``carrier`` holds a licence of ``reg.carrier_countries``: airline policy first, then carriers file."""
    policy = policies.for_supplier("airline", carrier)
    attribute = reg.carrier_attribute
    own = getattr(policy, attribute) if policy is not None and attribute else None
    if own is not None:
        return bool(own), f"{carrier}: {attribute} = {str(own).lower()} in {policy.file if policy else ''}"
    listed = policies.carriers.get(carrier)
    if listed is not None:
        inside = listed.country in reg.carrier_countries
        return inside, f"{carrier} ({listed.name}) is licensed in {listed.country} ({listed.file})"
    return False, (f"operating carrier {carrier} is in neither the carriers file nor an airline policy: "
                   "taken as not licensed in the covered countries")  # fmt: skip


def _eu_event(reg: Regulation, order: FlightOrder, j: Journey) -> _Event:
    rules = reg.disruption
    assert rules is not None  # the schema requires [disruption] for eu-261
    if j.cancelled:
        alt = (order.rerouting.departs_at, order.rerouting.arrives_at) if order.rerouting else None
        delay = alt[1] - j.arrives_at if alt else None
        return _Event("cancelled", f"{_cancelled(j)} cancelled", True, True, alt, delay)
    if j.changed:
        earlier = j.departs_at - j.changed_departs_at
        later = j.changed_departs_at - j.departs_at
        arrival = j.changed_arrives_at - j.arrives_at
        alt = (j.changed_departs_at, j.changed_arrives_at)
        measured = (f"schedule change: departs {_hours(later)} later than scheduled, arrives {_hours(arrival)} "
                    "later at the final destination")  # fmt: skip
        if earlier > timedelta(hours=rules.earlier_hours):
            what = (f"brought forward by {_hours(earlier)}, more than {rules.earlier_hours} h: a cancellation "
                    "(C-146/20 Azurair)")  # fmt: skip
            return _Event("brought_forward", what, True, True, alt, None)
        refund = later >= timedelta(hours=rules.refund_delay_hours)
        flown = order.change_accepted and arrival >= timedelta(hours=rules.compensation_delay_hours)
        if not refund and not flown:
            limits = (
                f"{measured}: under {rules.refund_delay_hours} h departure delay (Art. 6(1)(c)(iii)), and "
                f"not {rules.compensation_delay_hours} h late on a change the traveller accepted (Sturgeon)"
            )
            return _Event("none", limits, False, False, None, None)
        parts = [measured]
        if refund:
            parts.append(f"{rules.refund_delay_hours} h or more: reimbursement if not accepted (Art. 6(1)(c)(iii))")
        if flown:
            parts.append(f"{rules.compensation_delay_hours} h or more late on the accepted change: compensation "
                         "as for a cancellation (Sturgeon, C-402/07 and C-432/07)")  # fmt: skip
        return _Event("delayed", "; ".join(parts), refund, flown, alt, arrival if flown else None)
    actual = j.actual_arrives_at
    assert actual is not None  # a disrupted journey that is neither cancelled nor changed
    delay = actual - j.arrives_at
    left = j.segments[0].actual_departs_at
    departed = f"departed {_hours(left - j.departs_at)} late (actual_departs_at), " if left else ""
    if delay >= timedelta(hours=rules.compensation_delay_hours):
        what = (
            f"{departed}arrived {_hours(delay)} late at the final destination (actual_arrives_at), "
            f"{rules.compensation_delay_hours} h or more: compensation as for a cancellation (Sturgeon)"
        )
        return _Event("delayed", what, False, True, None, delay)
    what = f"{departed}arrived {_hours(delay)} late, under {rules.compensation_delay_hours} h"
    return _Event("none", what, False, False, None, None)


def _cancelled(j: Journey) -> str:
    which = [str(i + 1) for i, s in zip(j.indexes, j.segments, strict=True) if s.status == "cancelled"]
    return f"segment {', '.join(which)}" if len(which) == 1 else f"segments {', '.join(which)}"


def _eu_compensation(reg: Regulation, rule: CompensationRule, order: FlightOrder, j: Journey,
                     event: _Event) -> tuple[Compensation | None, tuple[str, ...]]:  # fmt: skip
    """Art. 7 bands on the distance to the final destination; Art. 5 exemptions; Art. 7(2) reduction."""
    if any(s.extraordinary_circumstances for s in j.segments if s.status != "scheduled"):
        return None, ("no compensation: the carrier cites extraordinary circumstances (Art. 5(3))",)
    exempt = _notice_exemption(rule, order, j, event)
    numbers = [exempt[1]] if exempt[1] else []
    if exempt[0]:
        return None, tuple(numbers)
    origin, destination = _where(j.origin), _where(j.destination)
    km = distance_km(origin, destination)
    intra = origin.country in reg.countries and destination.country in reg.countries
    if intra and rule.intra_over_km is not None and rule.intra_amount is not None and km > rule.intra_over_km:
        amount, reduce_hours = rule.intra_amount, rule.intra_reduce_within_hours
        band = f"within the covered countries, over {rule.intra_over_km} km"
    else:
        chosen = next(b for b in rule.bands if b.up_to_km is None or km <= b.up_to_km)
        amount, reduce_hours = chosen.amount, chosen.reduce_within_hours
        band = f"up to {chosen.up_to_km} km" if chosen.up_to_km is not None else "the longest band"
    numbers.append(f"{j.origin}-{j.destination} (final destination) great-circle {km:.0f} km: {band}, "
                   f"{amount} {rule.currency}")  # fmt: skip
    if event.kind == "cancelled" and event.alternative is None:
        numbers.append("no rerouting on the order: the traveller was assumed not to have been offered a "
                       "qualifying re-routing")  # fmt: skip
    reducible = event.kind != "brought_forward" and event.delay is not None and rule.reduction_percent is not None
    if reducible and reduce_hours is not None and event.delay is not None and rule.reduction_percent is not None:
        if event.delay <= timedelta(hours=reduce_hours):
            amount = quantize(amount * (100 - rule.reduction_percent) / 100, rule.currency)
            numbers.append(
                f"arrives {_hours(event.delay)} after the scheduled arrival, within {reduce_hours} h: "
                f"reduced by {rule.reduction_percent}% to {amount} {rule.currency} (Art. 7(2))"
            )
        else:
            numbers.append(f"arrives {_hours(event.delay)} after the scheduled arrival, more than {reduce_hours} h: "
                           "no reduction (Art. 7(2))")  # fmt: skip
    elif event.kind == "brought_forward":
        numbers.append("brought forward: no Art. 7(2) reduction (C-146/20)")
    return Compensation(amount, rule.currency, reg.id, j.indexes), tuple(numbers)


def _notice_exemption(rule: CompensationRule, order: FlightOrder, j: Journey, event: _Event) -> tuple[bool, str]:
    """Art. 5(1)(c)(i)-(iii), on the scheduled times and the re-routing (or the changed times)."""
    if event.kind == "delayed" and not j.changed:
        return False, ""  # a delay on the day: no advance notice to measure
    notified = order.cancellation_notified_at
    if notified is None:
        return False, "no cancellation_notified_at: taken as not told in advance (Art. 5(1)(c))"
    notice = j.departs_at - notified
    if notice >= timedelta(days=rule.notice_days):
        return True, (f"no compensation: told {_days(notice)} before departure, at least {rule.notice_days} days "
                      "(Art. 5(1)(c)(i))")  # fmt: skip
    tiers = sorted(rule.rerouting, key=lambda r: -r.notice_days)
    tier = next((t for t in tiers if notice >= timedelta(days=t.notice_days)), None)
    if tier is None or event.alternative is None:
        return False, f"told {_days(notice)} before departure"
    departs, arrives = event.alternative
    early = j.departs_at - departs
    late = arrives - j.arrives_at
    fits = early <= timedelta(hours=tier.departs_within_hours) and late < timedelta(hours=tier.arrives_within_hours)
    article = "(ii)" if tier.notice_days else "(iii)"
    measured = (f"told {_days(notice)} before departure; alternative departs {_hours(early)} earlier and arrives "
                f"{_hours(late)} later (limits {tier.departs_within_hours} h / under {tier.arrives_within_hours} h, "
                f"Art. 5(1)(c){article})")  # fmt: skip
    return fits, (f"no compensation: {measured}" if fits else measured)


def _days(delta: timedelta) -> str:
    days, rest = divmod(delta, timedelta(days=1))
    return f"{days} days" + (f" {_hours(rest)}" if rest else "")


# US DOT -------------------------------------------------------------------------------------


def _dot_journey(reg: Regulation, order: FlightOrder, policies: PolicySet, j: Journey) -> Verdict:
    del policies  # same signature as the EU rule; DOT does not depend on the carrier
    if not (j.cancelled or j.changed):
        return Verdict(j, ("not cancelled or changed",))
    places = [_where(code).country for code in j.airports]
    if not set(places) & reg.countries:
        return Verdict(j, (f"{j.label()} is between foreign points: not a covered flight (260.2)",))
    domestic = set(places) <= reg.countries
    hours = reg.domestic_hours if domestic else reg.international_hours
    assert hours is not None  # the schema requires both for us-dot-260
    scope = "domestic" if domestic else "international"
    if j.cancelled:
        why = [f"{j.label()}: {_cancelled(j)} cancelled by the carrier"]
        numbers: tuple[str, ...] = ()
    else:
        changes, numbers = _significant(j, timedelta(hours=hours), hours, scope)
        why = [f"{j.label()} {change}" for change in changes]
        if not why:
            return Verdict(j, (f"{j.label()} was changed, but not significantly (260.2)",), numbers=numbers)
    if order.change_accepted:
        unused = [a.code for a in order.ancillaries if not a.used]
        if not unused:
            return Verdict(j, ("the traveller accepted the change (change_accepted)",), tuple(why), numbers=numbers)
        note = (f"the traveller accepted the change: only the unused prepaid ancillaries ({', '.join(unused)}) "
                "are refunded (260.4)")  # fmt: skip
        return Verdict(j, (), tuple(why), "ancillaries", numbers=(*numbers, note))
    return Verdict(j, (), tuple(why), "unused", numbers=numbers)


def _significant(j: Journey, threshold: timedelta, hours: int, scope: str) -> tuple[list[str], tuple[str, ...]]:
    """14 CFR 260.2 "significantly delayed or changed flight" (1)-(4), on the journey's ends."""
    earlier = j.departs_at - j.changed_departs_at
    later = j.changed_arrives_at - j.arrives_at
    numbers = [f"{scope} journey: first departure {_hours(earlier)} earlier, final arrival {_hours(later)} later "
               f"(significant from {hours} h)"]  # fmt: skip
    out = []
    if earlier >= threshold:
        out.append(f"departs {_hours(earlier)} earlier ({hours} h or more, {scope})")
    if later >= threshold:
        out.append(f"arrives {_hours(later)} later ({hours} h or more, {scope})")
    first, last = j.segments[0], j.segments[-1]
    if first.changed_from and first.changed_from != first.origin:
        out.append(f"departs from {first.changed_from} instead of {first.origin}")
    if last.changed_to and last.changed_to != last.destination:
        out.append(f"arrives at {last.changed_to} instead of {last.destination}")
    added = sum(s.added_connections for s in j.segments)
    if added:
        out.append(f"has {added} more connection(s)")
    inner = [s for s in j.segments[1:] if s.changed_from and s.changed_from != s.origin]
    inner += [s for s in j.segments[:-1] if s.changed_to and s.changed_to != s.destination]
    if inner:
        numbers.append("another connecting airport alone is not significant (260.2 (6) is for passengers with a "
                       "disability)")  # fmt: skip
    return out, tuple(numbers)


def _twenty_four_hours(reg: Regulation, order: FlightOrder, policies: PolicySet, requested: datetime) -> Assessment:
    """14 CFR 259.5(b)(4): free cancellation within 24 hours of a booking made a week or more ahead."""
    window = reg.booking_window
    assert window is not None  # the schema requires [booking_window] for us-dot-24-hour
    booked = order.common.booked_at
    since = requested - booked
    if not timedelta(0) <= since <= timedelta(hours=window.within_hours):
        # Nearly every order: decided without formatting any numbers (booked_at is on the order).
        return Assessment(reg, (f"not cancelled within {window.within_hours} h of booking",))
    ahead = min(s.departs_at for s in order.segments) - booked
    numbers = (
        f"booked {_days(ahead)} before the first departure (needs {window.booked_days_before} days or more); "
        f"cancellation requested {_hours(since)} after booking (needs {window.within_hours} h or less)"
    )
    why_not = []
    if ahead < timedelta(days=window.booked_days_before):
        why_not.append(f"booked less than {window.booked_days_before} days before departure")
    if any(s.status == "flown" for s in order.segments):
        why_not.append("a segment has been flown")
    if why_not:
        return Assessment(reg, tuple(why_not), notes=(numbers,))
    trips = journeys(order.segments)
    unknown = _unknown(list(trips))
    if unknown:
        return _unknown_review(reg, unknown)
    if not {_where(code).country for j in trips for code in j.airports} & reg.countries:
        return Assessment(reg, (f"no journey to, from or within {', '.join(sorted(reg.countries))}",))
    policy = policies.for_supplier("airline", order.common.supplier)
    choice = policy.dot_24_hour if policy is not None else None
    if choice != "cancel":
        hold = 'the carrier offers a 24-hour hold instead of free cancellation (dot_24_hour = "hold")'
        unknown_choice = f"the carrier's choice is unknown (no dot_24_hour for {order.common.supplier}): not applied"
        return Assessment(reg, (hold if choice == "hold" else unknown_choice,), notes=(numbers,))
    why = f'{policy.file if policy else ""}: dot_24_hour = "cancel"; {numbers}'
    verdicts = tuple(Verdict(j, (), (why,), "unused", numbers=(numbers,)) for j in trips)
    return _with_due(reg, order, verdicts, requested)


# Due dates ------------------------------------------------------------------------------


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


def _due_note(due: Due, order: Order, start: str) -> str:
    unit = "business days" if due.business_days else "calendar days"
    extra = f" (weekends and {due.holidays} public holidays skipped)" if due.holidays else ""
    return f"due within {due.days} {unit} of {start}{extra}; payment by {order.common.payment_method}"
