"""Regulation (EC) No 261/2004 and its UK copy: one mechanism, parameterised by the policy file.

``eu-261`` and ``uk-261`` differ only in their files (territory, licences, inbound cover,
amounts and currency): a journey is covered when it departs from the territory (Art. 3(1)(a))
or arrives there from outside on a carrier an ``[[scope.arrivals]]`` table names
(Art. 3(1)(b)); cancellations, schedule changes (C-146/20) and delays (Sturgeon) give a
refund and compensation by the great-circle distance to the final destination, with the
notice and re-routing exemptions of Art. 5(1)(c) and the reduction of Art. 7(2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from refundctl.engine.decision import Compensation
from refundctl.engine.geo import distance_km
from refundctl.engine.journeys import Journey
from refundctl.engine.verdicts import RefundScope, Verdict, cancelled_text, days_text, hours_text, licensed, where
from refundctl.money import quantize
from refundctl.orders.model import FlightOrder
from refundctl.policy.model import CompensationRule, PolicySet, Regulation


@dataclass(frozen=True, slots=True)
class _Event:
    """What happened to an EU 261 journey."""

    kind: Literal["cancelled", "brought_forward", "delayed", "none"]
    what: str  # in words, with the numbers
    refund: bool  # the traveller may take a refund (Art. 8(1)(a))
    compensable: bool  # compensation is owed unless an exemption applies
    alternative: tuple[datetime, datetime] | None  # re-routing or changed times, for Art. 5(1)(c) and 7(2)
    delay: timedelta | None  # arrival delay at the final destination, for Art. 7(2)


def journey_261(reg: Regulation, order: FlightOrder, policies: PolicySet, j: Journey) -> Verdict:
    """``reg`` (eu-261 or uk-261) on journey ``j``."""
    if not j.disrupted:
        return Verdict(j, ("not cancelled, changed or recorded late",))
    scope, by_departure, numbers = _scope(reg, policies, j)
    if scope is None:
        return Verdict(j, numbers)
    event = _eu_event(reg, order, j)
    if event.kind == "none":
        return Verdict(j, (f"{scope}, but {event.what}",), numbers=numbers, by_departure=by_departure)
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
    return Verdict(j, (), why, refund, abandoned, comp, numbers, note, by_departure)


def _scope(reg: Regulation, policies: PolicySet, j: Journey) -> tuple[str | None, bool, tuple[str, ...]]:
    """Art. 3(1): (why the journey is covered, or None; whether by departure; the facts used)."""
    origin, destination = where(j.origin), where(j.destination)
    if origin.country in reg.countries and j.origin not in reg.excluded_airports:
        why = f"{j.label()} departs from {j.origin} ({origin.country}): covered as a whole (Art. 3(1)(a))"
        return why, True, ()
    facts = []
    if j.origin in reg.excluded_airports:
        facts.append(f"{j.origin} is listed in excluded_airports: {reg.id} does not apply there")
    inbound = [a for a in reg.arrivals if destination.country in a.countries]
    if not inbound or j.destination in reg.excluded_airports:
        facts.append(f"{j.label()} neither departs from nor arrives in the covered countries")
        return None, False, tuple(facts)
    disrupted = next(s for s in j.segments if s.status in ("cancelled", "changed") or s.actual_arrives_at)
    carrier = disrupted.carrier
    for arrival in inbound:
        ok, fact = licensed(reg, policies, carrier, arrival.carriers)
        if ok:
            why = f"{j.label()} arrives at {j.destination} ({destination.country}) on {carrier} ({arrival.cites})"
            return why, False, (*facts, fact)
        facts.append(f"{j.label()} arrives in {destination.country} on {carrier}, not a "
                     f"{' or '.join(arrival.carriers)} ({arrival.cites}): {fact}")  # fmt: skip
    return None, False, tuple(facts)


def _eu_event(reg: Regulation, order: FlightOrder, j: Journey) -> _Event:
    rules = reg.disruption
    assert rules is not None  # the schema requires [disruption] for eu-261
    if j.cancelled:
        alt = (order.rerouting.departs_at, order.rerouting.arrives_at) if order.rerouting else None
        delay = alt[1] - j.arrives_at if alt else None
        return _Event("cancelled", f"{cancelled_text(j)} cancelled", True, True, alt, delay)
    if j.changed:
        earlier = j.departs_at - j.changed_departs_at
        later = j.changed_departs_at - j.departs_at
        arrival = j.changed_arrives_at - j.arrives_at
        alt = (j.changed_departs_at, j.changed_arrives_at)
        measured = (f"schedule change: departs {hours_text(later)} later than scheduled, arrives {hours_text(arrival)} "
                    "later at the final destination")  # fmt: skip
        if earlier > timedelta(hours=rules.earlier_hours):
            what = (f"brought forward by {hours_text(earlier)}, more than {rules.earlier_hours} h: a cancellation "
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
    departed = f"departed {hours_text(left - j.departs_at)} late (actual_departs_at), " if left else ""
    if delay >= timedelta(hours=rules.compensation_delay_hours):
        what = (
            f"{departed}arrived {hours_text(delay)} late at the final destination (actual_arrives_at), "
            f"{rules.compensation_delay_hours} h or more: compensation as for a cancellation (Sturgeon)"
        )
        return _Event("delayed", what, False, True, None, delay)
    what = f"{departed}arrived {hours_text(delay)} late, under {rules.compensation_delay_hours} h"
    return _Event("none", what, False, False, None, None)


def _eu_compensation(reg: Regulation, rule: CompensationRule, order: FlightOrder, j: Journey,
                     event: _Event) -> tuple[Compensation | None, tuple[str, ...]]:  # fmt: skip
    """Art. 7 bands on the distance to the final destination; Art. 5 exemptions; Art. 7(2) reduction."""
    if any(s.extraordinary_circumstances for s in j.segments if s.status != "scheduled"):
        return None, ("no compensation: the carrier cites extraordinary circumstances (Art. 5(3))",)
    exempt = _notice_exemption(rule, order, j, event)
    numbers = [exempt[1]] if exempt[1] else []
    if exempt[0]:
        return None, tuple(numbers)
    origin, destination = where(j.origin), where(j.destination)
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
                f"arrives {hours_text(event.delay)} after the scheduled arrival, within {reduce_hours} h: "
                f"reduced by {rule.reduction_percent}% to {amount} {rule.currency} (Art. 7(2))"
            )
        else:
            numbers.append(f"arrives {hours_text(event.delay)} after the scheduled arrival, more than "
                           f"{reduce_hours} h: no reduction (Art. 7(2))")  # fmt: skip
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
        return True, (f"no compensation: told {days_text(notice)} before departure, at least {rule.notice_days} days "
                      "(Art. 5(1)(c)(i))")  # fmt: skip
    tiers = sorted(rule.rerouting, key=lambda r: -r.notice_days)
    tier = next((t for t in tiers if notice >= timedelta(days=t.notice_days)), None)
    if tier is None or event.alternative is None:
        return False, f"told {days_text(notice)} before departure"
    departs, arrives = event.alternative
    early = j.departs_at - departs
    late = arrives - j.arrives_at
    fits = early <= timedelta(hours=tier.departs_within_hours) and late < timedelta(hours=tier.arrives_within_hours)
    article = "(ii)" if tier.notice_days else "(iii)"
    measured = (f"told {days_text(notice)} before departure; alternative departs {hours_text(early)} earlier and "
                f"arrives {hours_text(late)} later (limits {tier.departs_within_hours} h / under "
                f"{tier.arrives_within_hours} h, Art. 5(1)(c){article})")  # fmt: skip
    return fits, (f"no compensation: {measured}" if fits else measured)
