"""Canada's Air Passenger Protection Regulations (``ca-appr``, SOR/2019-150 as amended by SOR/2022-134).

Per journey to, from or within Canada (CTA s. 86.11(1)), on the operating carrier of the
journey's first disrupted segment (s. 2(1)); a knock-on disruption keeps that segment's
category (10(2), 11(2)). The category (segment field ``disruption_cause``, else derived from
``extraordinary_circumstances``) decides: a refund right on a cancellation or a delay of
``[refund] delay_hours`` the traveller declines (s. 17; outside the carrier's control only
without a re-routing departing within ``rebook_within_hours``, s. 18), the whole ticket when
the journey no longer serves its purpose (17(2)(a), 18(1.2)); compensation only within the
carrier's control, when told ``notice_days`` or less before departure, by arrival delay and
carrier size (s. 19(1)), or a flat amount when the ticket is refunded (19(2)).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from refundctl.engine.decision import Compensation
from refundctl.engine.journeys import Journey
from refundctl.engine.verdicts import Verdict, cancelled_text, days_text, hours_text, where
from refundctl.orders.model import FlightOrder, Segment
from refundctl.policy.model import CarrierSize, DelayCompensation, PolicySet, RefundRight, Regulation

Cause = Literal["within_control", "safety", "outside_control"]
CATEGORY: dict[str, str] = {
    "within_control": "within the carrier's control (s. 12)",
    "safety": "within the carrier's control but required for safety (s. 11)",
    "outside_control": "outside the carrier's control (s. 10)",
}


def verdicts_appr(reg: Regulation, order: FlightOrder, policies: PolicySet,
                  trips: tuple[Journey, ...]) -> tuple[Verdict, ...]:  # fmt: skip
    """Each journey's verdict; a refund of the whole ticket (17(2)(a)) reaches every journey."""
    verdicts = tuple(_journey(reg, order, policies, j) for j in trips)
    whole = next((v for v in verdicts if v.applies and v.reimburse_flown), None)
    if whole is None:
        return verdicts
    why = (f"the whole ticket is refunded, flown parts included, with {whole.journey.label()} "
           "(journey_abandoned: 17(2)(a), 18(1.2))")  # fmt: skip
    return tuple(v if v is whole else Verdict(v.journey, (), (why,), "unused", True) for v in verdicts)


def _journey(reg: Regulation, order: FlightOrder, policies: PolicySet, j: Journey) -> Verdict:
    if not j.disrupted:
        return Verdict(j, ("not cancelled, changed or recorded late",))
    places = sorted({where(code).country for code in j.airports})
    if not set(places) & reg.countries:
        return Verdict(j, (f"{j.label()} neither departs from nor arrives in {', '.join(sorted(reg.countries))} "
                           "(CTA s. 86.11(1))",))  # fmt: skip
    rules, comp = reg.refund_right, reg.delay_compensation
    assert rules is not None and comp is not None  # the schema requires both for ca-appr
    first = next(s for s in j.segments if s.status in ("cancelled", "changed") or s.actual_arrives_at)
    cause, cause_fact = _cause(first)
    by_departure = where(j.origin).country in reg.countries
    ends = (
        "departs from" if by_departure else "arrives in" if where(j.destination).country in reg.countries else "touches"
    )
    scope = f"{j.label()} {ends} {', '.join(sorted(set(places) & reg.countries))}"
    numbers = [f"operating carrier {first.carrier} (s. 2(1)); {cause_fact}"]
    what, refundable = _event(rules, j)
    refund = refundable and not order.change_accepted
    if refundable and order.change_accepted:
        numbers.append("the traveller accepted the alternative (change_accepted): no refund")
    if refund and cause == "outside_control":
        refund, fact = _rebooked(rules, order, first)
        numbers.append(fact)
    whole = refund and order.journey_abandoned and any(s.status == "flown" for s in order.segments)
    if whole:
        numbers.append("journey_abandoned on a partly flown ticket: the whole ticket is refunded, flown parts "
                       "included (17(2)(a), 18(1.2))")  # fmt: skip
    elif refund:
        numbers.append("refund of the unused portion of the ticket (17(2)(b), 18(1.1))")
    compensation, comp_numbers, review = _compensation(reg, comp, order, policies, j, first, cause, refund)
    numbers.extend(comp_numbers)
    if not refund and compensation is None and not review:
        return Verdict(j, (f"{scope}; {what}: no refund right and no compensation",), numbers=tuple(numbers),
                       by_departure=by_departure)  # fmt: skip
    note = "; ".join(comp_numbers) if compensation else ""
    why = (f"{scope} (CTA s. 86.11(1)); {what}",)
    return Verdict(j, (), why, "unused" if refund else "none", whole, compensation, tuple(numbers), note,
                   by_departure, review)  # fmt: skip


def _cause(s: Segment) -> tuple[Cause, str]:
    if s.disruption_cause is not None:
        cause: Cause = s.disruption_cause  # type: ignore[assignment]
        return cause, f"disruption_cause {cause}: {CATEGORY[cause]}"
    derived: Cause = "outside_control" if s.extraordinary_circumstances else "within_control"
    return derived, (f"no disruption_cause: {CATEGORY[derived]}, from extraordinary_circumstances = "
                     f"{str(s.extraordinary_circumstances).lower()}")  # fmt: skip


def _event(rules: RefundRight, j: Journey) -> tuple[str, bool]:
    """What happened, and whether it gives a refund right if declined (10(3), 11(3)-(4), 12(2)-(3))."""
    if j.cancelled:
        return f"{cancelled_text(j)} cancelled: a refund right if declined", True
    if j.changed:
        delay = max(s.changed_departs_at - s.departs_at for s in j.segments
                    if s.status == "changed" and s.changed_departs_at)  # fmt: skip
        enough = delay >= timedelta(hours=rules.delay_hours)
        verdict = "or more: a refund right if declined" if enough else "under that: no refund right"
        return f"departure delayed {hours_text(delay)} by a schedule change ({rules.delay_hours} h {verdict})", enough
    return "flown", False


def _rebooked(rules: RefundRight, order: FlightOrder, first: Segment) -> tuple[bool, str]:
    """18(1), 18(1.1): outside control, a refund only without a re-routing departing within the window."""
    limit = timedelta(hours=rules.rebook_within_hours)
    if order.rerouting is not None:
        offered, what = order.rerouting.departs_at, "the re-routing offered (rerouting.departs_at)"
    elif first.status == "changed" and first.changed_departs_at:
        offered, what = first.changed_departs_at, "the retimed flight (changed_departs_at)"
    else:
        return True, ("outside the carrier's control and no re-routing offered: a refund at the passenger's "
                      "choice (18(1.1))")  # fmt: skip
    after = offered - first.departs_at
    if after <= limit:
        return False, (f"outside the carrier's control: {what} departs {hours_text(after)} after the original "
                       f"departure, within {rules.rebook_within_hours} h: no refund right (18(1))")  # fmt: skip
    return True, (f"outside the carrier's control: {what} departs {hours_text(after)} after the original departure, "
                  f"more than {rules.rebook_within_hours} h: a refund at the passenger's choice (18(1.1))")  # fmt: skip


def _compensation(reg: Regulation, rule: DelayCompensation, order: FlightOrder, policies: PolicySet, j: Journey,
                  first: Segment, cause: Cause,
                  refunded: bool) -> tuple[Compensation | None, tuple[str, ...], str]:  # fmt: skip
    """s. 19: (the compensation, the numbers, what a person must settle first)."""
    if cause != "within_control":
        return None, (f"no compensation: {CATEGORY[cause]} (s. 19 is for s. 12 disruptions only)",), ""
    notified = order.cancellation_notified_at
    if notified is None:
        numbers = ["no cancellation_notified_at: taken as told at the last moment (12(2)(d), 12(3)(d))"]
    else:
        notice = j.departs_at - notified
        if notice > timedelta(days=rule.notice_days):
            return None, (f"no compensation: told {days_text(notice)} before departure, more than {rule.notice_days} "
                          "days (12(2)(d), 12(3)(d))",), ""  # fmt: skip
        numbers = [f"told {days_text(notice)} before departure, {rule.notice_days} days or less (12(2)(d), 12(3)(d))"]
    if refunded:
        band, pick = "the ticket is refunded: the flat amount of s. 19(2)", (rule.refunded_large, rule.refunded_small)
    else:
        arrived, source = _arrival(order, j)
        if arrived is None:
            return None, tuple(numbers), (f"{reg.id}: the arrival at {j.destination} is not known ({source}), so the "
                                          "compensation of s. 19(1) cannot be computed")  # fmt: skip
        delay = arrived - j.arrives_at
        chosen = next((b for b in reversed(rule.bands) if delay >= timedelta(hours=b.from_hours)), None)
        if chosen is None:
            numbers.append(f"arrived {hours_text(delay)} late at {j.destination} ({source}), under "
                           f"{rule.bands[0].from_hours} h: no compensation (s. 19(1))")  # fmt: skip
            return None, tuple(numbers), ""
        band = (
            f"arrived {hours_text(delay)} late at {j.destination} ({source}): the {chosen.from_hours} h band (s. 19(1))"
        )
        pick = (chosen.large, chosen.small)
    size, fact = _size(policies, first.carrier)
    if size is None:
        return None, (*numbers, band), (f"{reg.id}: the compensation depends on the size of {first.carrier} "
                                        f"(s. 1(2)), and {fact}")  # fmt: skip
    amount = pick[0] if size == "large" else pick[1]
    numbers.append(f"{band}; {fact}: {amount} {rule.currency}")
    return Compensation(amount, rule.currency, reg.id, j.indexes), tuple(numbers), ""


def _arrival(order: FlightOrder, j: Journey) -> tuple[datetime | None, str]:
    """When the traveller reached the ticket's destination, or would on the alternative, and the field used."""
    if j.actual_arrives_at is not None:
        return j.actual_arrives_at, "actual_arrives_at, the door-open moment of s. 1(2)"
    if j.changed:
        return j.changed_arrives_at, "changed_arrives_at of the retimed flight"
    if order.rerouting is not None:
        return order.rerouting.arrives_at, "rerouting.arrives_at"
    return None, "no actual_arrives_at, changed arrival or rerouting.arrives_at on the order"


def _size(policies: PolicySet, carrier: str) -> tuple[CarrierSize | None, str]:
    policy = policies.for_supplier("airline", carrier)
    if policy is not None and policy.appr_carrier_size is not None:
        return policy.appr_carrier_size, f"{carrier}: appr_carrier_size = {policy.appr_carrier_size} in {policy.file}"
    listed = policies.carriers.get(carrier)
    if listed is not None and listed.appr_carrier_size is not None:
        return listed.appr_carrier_size, (f"{carrier} ({listed.name}): appr_carrier_size = "
                                          f"{listed.appr_carrier_size} in {listed.file}")  # fmt: skip
    return None, "neither its airline policy nor the carriers file gives appr_carrier_size"
