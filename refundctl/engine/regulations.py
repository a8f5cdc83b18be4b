"""Whether each passenger-rights regulation covers an order, journey by journey, and what it owes.

Each rule is parameterised by its policy file (scope, thresholds, bands, currency, due
periods); ``implements`` picks the mechanism:

- ``eu-261`` and ``uk-261``: Regulation (EC) No 261/2004 and its retained UK copy
  (``refundctl.engine.eu261``);
- ``us-dot-260`` and ``us-dot-24-hour``: 14 CFR part 260 and 259.5(b)(4)
  (``refundctl.engine.dot``);
- ``ca-appr``: Canada's Air Passenger Protection Regulations (``refundctl.engine.appr``);
- ``cn-caac-2021``: China's 2021 passenger service rules (``refundctl.engine.caac``).

The journeys are those of ``refundctl.engine.journeys``; deadlines are counted by
``refundctl.engine.workdays``. Where several regulations compensate one journey, one
compensation is paid (``one_compensation``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime

from refundctl.engine.appr import verdicts_appr
from refundctl.engine.caac import assess_caac
from refundctl.engine.dot import journey_dot, twenty_four_hours
from refundctl.engine.eu261 import journey_261
from refundctl.engine.journeys import Journey, journeys
from refundctl.engine.verdicts import (
    Assessment,
    Verdict,
    out_of_scope,
    unknown_airports,
    unknown_review,
    with_due,
)
from refundctl.orders.model import FlightOrder, Order
from refundctl.policy.model import PolicySet, Regulation

Rule = Callable[[Regulation, FlightOrder, PolicySet, tuple[Journey, ...]], tuple[Verdict, ...]]


def _each(decide: Callable[[Regulation, FlightOrder, PolicySet, Journey], Verdict]) -> Rule:
    def rule(
        reg: Regulation, order: FlightOrder, policies: PolicySet, trips: tuple[Journey, ...]
    ) -> tuple[Verdict, ...]:
        return tuple(decide(reg, order, policies, j) for j in trips)

    return rule


JOURNEY_RULES: dict[str, Rule] = {
    "eu-261": _each(journey_261),
    "uk-261": _each(journey_261),
    "us-dot-260": _each(journey_dot),
    "ca-appr": verdicts_appr,
}


def assess_all(order: Order, policies: PolicySet, as_of: datetime) -> tuple[Assessment, ...]:
    """Every regulation on ``order``, by regulation id (what the order's facts say is worked out once)."""
    today = as_of.astimezone(UTC).date()
    flight = order if isinstance(order, FlightOrder) else None
    # Most orders have no disruption: said so before building journeys or looking up airports.
    disrupted = flight is not None and any(
        s.status in ("cancelled", "changed") or s.actual_arrives_at for s in flight.segments
    )
    hotel, flights = _general_answers(policies, today)
    if flight is None:
        return hotel
    return tuple(a if a is not None else _assess(r, flight, policies, as_of)
                 for r, a in zip(policies.regulations_by_id, flights[disrupted], strict=True))  # fmt: skip


General = tuple[tuple[Assessment, ...], dict[bool, tuple[Assessment | None, ...]]]
# What each regulation says of every hotel, and of every flight disrupted or not, whatever else
# the order says (not in force yet, not a flight, no disruption; None: it depends on the order).
# Worked out once per policy set and decision date, by id() (the policy set kept and compared).
_GENERAL: dict[tuple[int, date], tuple[PolicySet, General]] = {}


def _general_answers(policies: PolicySet, today: date) -> General:
    known = _GENERAL.get((id(policies), today))
    if known is not None and known[0] is policies:
        return known[1]
    if len(_GENERAL) > 64:  # policies loaded again and again (tests): keep it bounded
        _GENERAL.clear()
    regulations = policies.regulations_by_id
    hotel = tuple(_not_a_flight(r, today) for r in regulations)
    flights = {disrupted: tuple(_general(r, today, disrupted) for r in regulations) for disrupted in (False, True)}
    _GENERAL[id(policies), today] = (policies, (hotel, flights))
    return hotel, flights


def _not_in_force(regulation: Regulation, today: date) -> Assessment | None:
    if today < regulation.in_force:
        return Assessment(regulation, (f"in force from {regulation.in_force}, the decision is dated {today}",))
    return None


def _not_a_flight(regulation: Regulation, today: date) -> Assessment:
    return _not_in_force(regulation, today) or out_of_scope(regulation, "applies to flights only")


def _general(regulation: Regulation, today: date, disrupted: bool) -> Assessment | None:
    """``regulation``'s assessment of any flight (disrupted or not), or None when it depends on the order."""
    answer = _not_in_force(regulation, today)
    if answer is not None or regulation.implements in ("us-dot-24-hour", "cn-caac-2021") or disrupted:
        return answer
    return out_of_scope(regulation, "no segment was cancelled, changed or recorded late")


def _assess(regulation: Regulation, order: FlightOrder, policies: PolicySet, as_of: datetime) -> Assessment:
    """What ``_general`` leaves to the order: the 24-hour rule, CAAC, and the journey rules of a disrupted flight."""
    requested = order.refund_requested_at or as_of
    if regulation.implements == "us-dot-24-hour":
        return twenty_four_hours(regulation, order, policies, requested)
    if regulation.implements == "cn-caac-2021":
        return assess_caac(regulation, order, policies, requested)
    trips = journeys(order.segments)
    unknown = unknown_airports([j for j in trips if j.disrupted])
    if unknown:
        return unknown_review(regulation, unknown)
    verdicts = JOURNEY_RULES[regulation.implements](regulation, order, policies, trips)
    review = "; ".join(v.review for v in verdicts if v.review)
    if review:
        return Assessment(regulation, verdicts=verdicts, review=review)
    return with_due(regulation, order, verdicts, requested)


# One compensation per journey ------------------------------------------------------------

# Why the regime that does not apply by departure yields, by the one that yields.
YIELDS = {
    "ca-appr": "CTA s. 86.11(3): no APPR compensation for an event compensated under another passenger rights regime",
    "eu-261": "Art. 3(1)(b): the arrival limb yields where compensation is received in the country of departure",
    "uk-261": "Art. 3(1)(b): the arrival limb yields where compensation is received in the country of departure",
}


def one_compensation(assessments: tuple[Assessment, ...]) -> tuple[Assessment, ...]:
    """Several regulations compensating one journey pay once: the one that applies by departure.

    EU and UK 261 Art. 3(1)(b) (the arrival limb yields "unless the passengers received
    benefits or compensation ... in that other country") and CTA s. 86.11(3) (no second
    compensation for one event). At most one regime covers a journey by departure; without
    one, APPR yields to the others, then the first by id pays. The others' verdicts keep
    their numbers and say why they pay nothing.
    """
    claims: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for a_index, a in enumerate(assessments):
        if not a.applies:
            continue
        for v_index, v in enumerate(a.verdicts):
            if v.applies and v.compensation is not None:
                claims.setdefault(v.journey.indexes, []).append((a_index, v_index))
    contested = [c for c in claims.values() if len(c) > 1]
    if not contested:
        return assessments
    verdicts = [list(a.verdicts) for a in assessments]
    for claim in contested:

        def rank(ids: tuple[int, int]) -> tuple[bool, bool, str]:
            a, v = assessments[ids[0]], assessments[ids[0]].verdicts[ids[1]]
            return (not v.by_departure, a.regulation.implements == "ca-appr", a.regulation.id)

        first, *others = sorted(claim, key=rank)
        payer = assessments[first[0]]
        paid = payer.verdicts[first[1]]
        assert paid.compensation is not None
        basis = "applies by departure" if paid.by_departure else "pays when none applies by departure"
        for a_index, v_index in others:
            loser = assessments[a_index]
            v = verdicts[a_index][v_index]
            assert v.compensation is not None
            why = (f"compensation {v.compensation.amount} {v.compensation.currency} not paid: {payer.regulation.id} "
                   f"{basis} and pays {paid.compensation.amount} {paid.compensation.currency} for this journey "
                   f"({YIELDS.get(loser.regulation.implements, 'one compensation per event')})")  # fmt: skip
            # A verdict left with nothing to grant no longer applies (a regulation that grants nothing is not listed).
            verdicts[a_index][v_index] = replace(v, compensation=None, compensation_note="", numbers=(*v.numbers, why),
                                                 why_not=() if v.refund != "none" else (why,))  # fmt: skip
            p = verdicts[first[0]][first[1]]
            note = f"paid instead of {loser.regulation.id}'s {v.compensation.amount} {v.compensation.currency}"
            verdicts[first[0]][first[1]] = replace(p, numbers=(*p.numbers, note))
    return tuple(replace(a, verdicts=tuple(vs)) for a, vs in zip(assessments, verdicts, strict=True))
