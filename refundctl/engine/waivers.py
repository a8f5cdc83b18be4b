"""Which waivers an order meets, and why not the others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from itertools import islice
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
    """The conditions of ``waiver`` that ``order`` fails (all, or just the first); empty when it qualifies."""
    reasons = _failed(waiver, order)
    return list(reasons) if every_reason else list(islice(reasons, 1))


def _failed(waiver: Waiver, order: Order) -> Iterator[str]:
    c = waiver.conditions
    common = order.common
    if c.order_kinds and order.kind not in c.order_kinds:
        yield f"covers {_listed(c.order_kinds)} orders, not {order.kind}"
    if c.suppliers and common.supplier not in c.suppliers:
        yield f"covers suppliers {_listed(c.suppliers)}, not {common.supplier}"
    if c.booked_after and common.booked_at < c.booked_after:
        yield f"booked {common.booked_at.isoformat()}, before {c.booked_after.isoformat()}"
    if c.booked_before and common.booked_at >= c.booked_before:
        yield f"booked {common.booked_at.isoformat()}, not before {c.booked_before.isoformat()}"
    if c.travel_from or c.travel_until:
        travel = travel_date(order)
        if (c.travel_from and travel < c.travel_from) or (c.travel_until and travel > c.travel_until):
            span = f"{c.travel_from or 'any date'} to {c.travel_until or 'any date'}"
            yield f"travel starts {travel} (local), outside {span}"
    if c.traveler_tags and c.traveler_tags.isdisjoint(common.traveler_tags):
        yield f"no traveller tagged {_listed(c.traveler_tags)}"
    if c.waiver_codes and c.waiver_codes.isdisjoint(common.waiver_codes):
        yield f"the order carries no waiver code {_listed(c.waiver_codes)}"
    if c.channels and common.channel not in c.channels:
        yield f"covers channels {_listed(c.channels)}, not {common.channel}"
    if waiver.currency is not None and waiver.currency != order.currency:
        yield f"its limit is in {waiver.currency}, the order in {order.currency}"


# Every order checked against a waiver it fails says why in the same few words: each of a
# waiver's sets is written out once (a frozenset keeps its hash: a look-up costs less).
@lru_cache(maxsize=256)
def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(names))


def has_evidence(waiver: Waiver, order: Order) -> bool:
    return not waiver.evidence or any(e.waiver == waiver.id for e in order.common.evidence)


def grant(waiver: Waiver) -> Grant:
    return Grant(waiver.id, waiver.file, waiver.effect, waiver.funded_by, waiver.up_to)
