"""Which waivers an order meets, and why not the others."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

from refundctl.engine.allocate import Grant
from refundctl.engine.geo import airport
from refundctl.orders.model import FlightOrder, Order
from refundctl.policy.model import Waiver


def travel_date(order: Order) -> date:
    """The local date travel starts: first departure (in the airport's zone) or check-in."""
    if not isinstance(order, FlightOrder):
        return order.stay.check_in
    first = min(order.segments, key=lambda s: s.departs_at)
    place = airport(first.origin)
    # The airport's own zone when known; otherwise the offset the order gives.
    return first.departs_at.astimezone(ZoneInfo(place.timezone)).date() if place else first.departs_at.date()


def mismatches(waiver: Waiver, order: Order, every_reason: bool = True) -> list[str]:
    """The conditions of ``waiver`` that ``order`` fails, in words (for ``explain``); empty when it qualifies.

    Without ``every_reason`` only whether it fails (``[NOT_MET]``): a decision needs no more,
    and putting a condition into words costs more than checking it.
    """
    failed: list[str] = []
    for condition in _CONDITIONS:
        reason = condition(waiver, order, every_reason)
        if reason is not None:
            if not every_reason:
                return [reason]
            failed.append(reason)
    return failed


NOT_MET = "does not meet the waiver's conditions (refundctl explain lists which)"


# Each condition: None when the order meets it; else why not, in words when ``say``.
def _kind(waiver: Waiver, order: Order, say: bool) -> str | None:
    kinds = waiver.conditions.order_kinds
    if not kinds or order.kind in kinds:
        return None
    return f"covers {_listed(kinds)} orders, not {order.kind}" if say else NOT_MET


def _supplier(waiver: Waiver, order: Order, say: bool) -> str | None:
    return _among(waiver.conditions.suppliers, order.common.supplier, "suppliers", say)


def _booked(waiver: Waiver, order: Order, say: bool) -> str | None:
    c, booked = waiver.conditions, order.common.booked_at
    if c.booked_after and booked < c.booked_after:
        return f"booked {booked.isoformat()}, before {c.booked_after.isoformat()}" if say else NOT_MET
    if c.booked_before and booked >= c.booked_before:
        return f"booked {booked.isoformat()}, not before {c.booked_before.isoformat()}" if say else NOT_MET
    return None


def _travel(waiver: Waiver, order: Order, say: bool) -> str | None:
    c = waiver.conditions
    if not (c.travel_from or c.travel_until):
        return None
    travel = travel_date(order)
    if (c.travel_from and travel < c.travel_from) or (c.travel_until and travel > c.travel_until):
        span = f"{c.travel_from or 'any date'} to {c.travel_until or 'any date'}"
        return f"travel starts {travel} (local), outside {span}" if say else NOT_MET
    return None


def _tags(waiver: Waiver, order: Order, say: bool) -> str | None:
    tags = waiver.conditions.traveler_tags
    if not tags or not tags.isdisjoint(order.common.traveler_tags):
        return None
    return f"no traveller tagged {_listed(tags)}" if say else NOT_MET


def _codes(waiver: Waiver, order: Order, say: bool) -> str | None:
    codes = waiver.conditions.waiver_codes
    if not codes or not codes.isdisjoint(order.common.waiver_codes):
        return None
    return f"the order carries no waiver code {_listed(codes)}" if say else NOT_MET


def _channel(waiver: Waiver, order: Order, say: bool) -> str | None:
    return _among(waiver.conditions.channels, order.common.channel, "channels", say)


def _among(covered: frozenset[str], value: str, noun: str, say: bool) -> str | None:
    if not covered or value in covered:
        return None
    return f"covers {noun} {_listed(covered)}, not {value}" if say else NOT_MET


def _currency(waiver: Waiver, order: Order, say: bool) -> str | None:
    if waiver.currency is None or waiver.currency == order.currency:
        return None
    return f"its limit is in {waiver.currency}, the order in {order.currency}" if say else NOT_MET


# In the order a person reads a waiver's conditions (and explain lists what an order fails).
_CONDITIONS: tuple[Callable[[Waiver, Order, bool], str | None], ...] = (
    _kind, _supplier, _booked, _travel, _tags, _codes, _channel, _currency,
)  # fmt: skip


# Every order checked against a waiver it fails says why in the same few words: each of a
# waiver's sets is written out once (a frozenset keeps its hash: a look-up costs less).
@lru_cache(maxsize=256)
def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def has_evidence(waiver: Waiver, order: Order) -> bool:
    return not waiver.evidence or any(e.waiver == waiver.id for e in order.common.evidence)


def grant(waiver: Waiver) -> Grant:
    return Grant(waiver.id, waiver.file, waiver.effect, waiver.funded_by, waiver.up_to)
