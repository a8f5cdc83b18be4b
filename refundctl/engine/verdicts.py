"""What a passenger-rights regulation decided, journey by journey, and what every regime's rules share.

A ``Verdict`` is one regulation on one journey, an ``Assessment`` one regulation on the
order. Both keep the numbers they used (distance, delay, notice, thresholds) for ``explain``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from refundctl.engine.decision import Compensation
from refundctl.engine.geo import Airport, airport
from refundctl.engine.journeys import Journey
from refundctl.engine.workdays import due_date, provisional, request_date
from refundctl.orders.model import FlightOrder
from refundctl.policy.model import CarrierAttribute, PolicySet, Regulation

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
    by_departure: bool = False  # covered because the journey departs from the regulation's territory
    review: str = ""  # what a person must settle first (e.g. a carrier's size): the order goes to review

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
    due_provisional: bool = False  # ``due_by`` rests on a calendar not yet officially published
    # Sets the due date of whatever refund the order gets, without granting one (CAAC, voluntary).
    deadline_only: bool = False

    @property
    def applies(self) -> bool:
        return not self.why_not and not self.review and any(v.applies for v in self.verdicts)

    @property
    def refunds(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.applies and v.refund != "none")

    @property
    def compensations(self) -> tuple[Compensation, ...]:
        return tuple(v.compensation for v in self.verdicts if v.applies and v.compensation is not None)


# Most orders are out of a regulation's scope for one of a few reasons, the same every time:
# one Assessment each (it is immutable), not one per order. By id(), the regulation kept and compared.
_OUT_OF_SCOPE: dict[tuple[int, str], Assessment] = {}


def out_of_scope(regulation: Regulation, why: str) -> Assessment:
    """The regulation does not cover the order, for the reason ``why`` (one Assessment for every such order)."""
    known = _OUT_OF_SCOPE.get((id(regulation), why))
    if known is not None and known.regulation is regulation:
        return known
    if len(_OUT_OF_SCOPE) > 1024:  # policies loaded again and again (tests): keep it bounded
        _OUT_OF_SCOPE.clear()
    _OUT_OF_SCOPE[id(regulation), why] = made = Assessment(regulation, (why,))
    return made


def unknown_airports(trips: list[Journey]) -> list[str]:
    return sorted({code for j in trips for code in j.airports if airport(code) is None})


def unknown_review(regulation: Regulation, codes: list[str]) -> Assessment:
    what = f"airport {codes[0]} is" if len(codes) == 1 else f"airports {', '.join(codes)} are"
    reason = f"{what} unknown to airportsdata: {regulation.id} cannot be decided"
    return Assessment(regulation, review=reason)


def where(code: str) -> Airport:
    found = airport(code)
    assert found is not None  # checked by ``assess``
    return found


def hours_text(delta: timedelta) -> str:
    """A duration as people write it: 3 h, 2 h 59 min, -1 h 30 min, 1 h 0 min 1 s (never rounded)."""
    sign = "-" if delta < timedelta(0) else ""
    minutes, seconds = divmod(int(abs(delta).total_seconds()), 60)
    h, m = divmod(minutes, 60)
    return f"{sign}{h} h" + (f" {m} min" if m or seconds else "") + (f" {seconds} s" if seconds else "")


def days_text(delta: timedelta) -> str:
    days, rest = divmod(delta, timedelta(days=1))
    return f"{days} days" + (f" {hours_text(rest)}" if rest else "")


def cancelled_text(j: Journey) -> str:
    which = [str(i + 1) for i, s in zip(j.indexes, j.segments, strict=True) if s.status == "cancelled"]
    return f"segment {', '.join(which)}" if len(which) == 1 else f"segments {', '.join(which)}"


def licensed(reg: Regulation, policies: PolicySet, carrier: str,
             attributes: tuple[CarrierAttribute, ...]) -> tuple[bool, str]:  # fmt: skip
    """Whether ``carrier`` has one of ``attributes`` (e.g. a UK or a Community carrier), and the fact used.

    Per attribute: the carrier's airline policy says so (``uk_carrier = true``), or, when the
    policy is silent, its licensing country in the carriers file is one of the regulation's
    ``[scope.licences]`` for it.
    """
    policy = policies.for_supplier("airline", carrier)
    listed = policies.carriers.get(carrier)
    facts: list[str] = []
    for attribute in attributes:
        own = getattr(policy, attribute) if policy is not None else None
        if own is not None:
            assert policy is not None
            fact = f"{carrier}: {attribute} = {str(own).lower()} in {policy.file}"
            if own:
                return True, fact
        elif listed is not None:
            fact = f"{carrier} ({listed.name}) is licensed in {listed.country} ({listed.file})"
            if listed.country in reg.licences.get(attribute, frozenset()):
                return True, f"{fact}: {attribute}"
        else:
            fact = (f"operating carrier {carrier} is in neither the carriers file nor an airline policy: "
                    f"taken as not a {' or '.join(attributes)}")  # fmt: skip
        if fact not in facts:
            facts.append(fact)
    return False, "; ".join(facts)


def with_due(regulation: Regulation, order: FlightOrder, verdicts: tuple[Verdict, ...],
             requested: datetime) -> Assessment:  # fmt: skip
    """The assessment of ``verdicts``, with its due date when one of them refunds something."""
    if not Assessment(regulation, verdicts=verdicts).refunds:
        return Assessment(regulation, verdicts=verdicts)
    return dated(Assessment(regulation, verdicts=verdicts), order, requested)


def dated(a: Assessment, order: FlightOrder, requested: datetime) -> Assessment:
    """``a`` with its due date, whether it is provisional, and notes saying how it was counted."""
    regulation = a.regulation
    card = regulation.due_card
    due = card if card is not None and order.common.payment_method in card.payment_methods else regulation.due
    start = request_date(due, requested)
    day = due_date(due, start)
    since = "refund_requested_at" if order.refund_requested_at else "the decision instant"
    unit = "working days" if due.business_days else "calendar days"
    counted = f"due within {due.days} {unit} of {since} ({start}, a {due.timezone} date; counted from the next day)"
    if due.holidays:
        counted += (f" in {due.holidays} working days (weekdays without public holidays or days off, plus the weekend "
                    "days scheduled as working days)")  # fmt: skip
    notes = [f"{counted}; payment by {order.common.payment_method}"]
    late = provisional(due, day)
    if late:
        notes.append(f"provisional: the count reaches {day.year}, whose official {due.holidays} holiday schedule is "
                     f"not published in the calendar used (published through {due.published_through}); the date "
                     "uses the library's estimate")  # fmt: skip
    return replace(a, due_by=day, due_provisional=late, notes=(*a.notes, *notes))
