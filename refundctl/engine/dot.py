"""US DOT: automatic refunds (14 CFR part 260) per journey, and the 24-hour rule (14 CFR 259.5(b)(4)).

- ``us-dot-260``: journeys to, from or within the covered countries cancelled or
  significantly changed (measured on the journey's origin and destination); full refund if
  not accepted, unused ancillaries even if accepted (260.4).
- ``us-dot-24-hour``: cancellation within 24 hours of a booking made a week or more before
  departure, on carriers that offer cancellation rather than a hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from refundctl.engine.journeys import Journey, journeys
from refundctl.engine.verdicts import (
    Assessment,
    Verdict,
    cancelled_text,
    days_text,
    hours_text,
    out_of_scope,
    unknown_airports,
    unknown_review,
    where,
    with_due,
)
from refundctl.orders.model import FlightOrder
from refundctl.policy.model import PolicySet, Regulation


def journey_dot(reg: Regulation, order: FlightOrder, policies: PolicySet, j: Journey) -> Verdict:
    del policies  # same signature as the EU rule; DOT does not depend on the carrier
    if not (j.cancelled or j.changed):
        return Verdict(j, ("not cancelled or changed",))
    places = [where(code).country for code in j.airports]
    if not set(places) & reg.countries:
        return Verdict(j, (f"{j.label()} is between foreign points: not a covered flight (260.2)",))
    domestic = set(places) <= reg.countries
    hours = reg.domestic_hours if domestic else reg.international_hours
    assert hours is not None  # the schema requires both for us-dot-260
    scope = "domestic" if domestic else "international"
    if j.cancelled:
        why = [f"{j.label()}: {cancelled_text(j)} cancelled by the carrier"]
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
    numbers = [f"{scope} journey: first departure {hours_text(earlier)} earlier, final arrival "
               f"{hours_text(later)} later (significant from {hours} h)"]  # fmt: skip
    out = []
    if earlier >= threshold:
        out.append(f"departs {hours_text(earlier)} earlier ({hours} h or more, {scope})")
    if later >= threshold:
        out.append(f"arrives {hours_text(later)} later ({hours} h or more, {scope})")
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


def twenty_four_hours(reg: Regulation, order: FlightOrder, policies: PolicySet, requested: datetime) -> Assessment:
    """14 CFR 259.5(b)(4): free cancellation within 24 hours of a booking made a week or more ahead."""
    window = reg.booking_window
    assert window is not None  # the schema requires [booking_window] for us-dot-24-hour
    booked = order.common.booked_at
    since = requested - booked
    if not timedelta(0) <= since <= timedelta(hours=window.within_hours):
        # Nearly every order: decided without formatting any numbers (booked_at is on the order).
        return out_of_scope(reg, f"not cancelled within {window.within_hours} h of booking")
    ahead = min(s.departs_at for s in order.segments) - booked
    numbers = (
        f"booked {days_text(ahead)} before the first departure (needs {window.booked_days_before} days or more); "
        f"cancellation requested {hours_text(since)} after booking (needs {window.within_hours} h or less)"
    )
    why_not = []
    if ahead < timedelta(days=window.booked_days_before):
        why_not.append(f"booked less than {window.booked_days_before} days before departure")
    if any(s.status == "flown" for s in order.segments):
        why_not.append("a segment has been flown")
    if why_not:
        return Assessment(reg, tuple(why_not), notes=(numbers,))
    trips = journeys(order.segments)
    unknown = unknown_airports(list(trips))
    if unknown:
        return unknown_review(reg, unknown)
    if not {where(code).country for j in trips for code in j.airports} & reg.countries:
        return Assessment(reg, (f"no journey to, from or within {', '.join(sorted(reg.countries))}",))
    policy = policies.for_supplier("airline", order.common.supplier)
    choice = policy.dot_24_hour if policy is not None else None
    if choice != "cancel":
        hold = 'the carrier offers a 24-hour hold instead of free cancellation (dot_24_hour = "hold")'
        unknown_choice = f"the carrier's choice is unknown (no dot_24_hour for {order.common.supplier}): not applied"
        return Assessment(reg, (hold if choice == "hold" else unknown_choice,), notes=(numbers,))
    why = f'{policy.file if policy else ""}: dot_24_hour = "cancel"; {numbers}'
    verdicts = tuple(Verdict(j, (), (why,), "unused", numbers=(numbers,)) for j in trips)
    return with_due(reg, order, verdicts, requested)
