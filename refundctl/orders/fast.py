"""The fast path for good order records: msgspec checks the shape in C, the validator's converters the values.

``parse.parse_order`` reads a record field by field so that a bad record gets every
problem with its path; that care costs most of the validation time of a good record.
Most records are good, so :func:`fast_order` tries them first: msgspec converts the
decoded record into the structs below (required fields, no unknown field, a type per
field, all in C), then the order is built with ``parse``'s own converters and checks.
Anything it does not accept, for any reason, returns None and the caller reads the
record with ``parse_order``, which reports every problem. So the fast path decides
nothing of its own: it may only accept what ``parse_order`` accepts, with the same
order (``tests/orders/test_fast.py`` checks both on the fuzz corpus and hostile records).

JSON itself is decoded by ``jsonvalue`` before either path, so both see the same value.
Amounts and times stay strings here: the validator's converters read them (an amount
is never a float on the way).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from refundctl.orders import shapes
from refundctl.orders.model import (
    Ancillary,
    Charge,
    Common,
    Evidence,
    Fare,
    FlightOrder,
    HotelOrder,
    Order,
    Rerouting,
    Segment,
    Stay,
)
from refundctl.orders.parse import (
    airport_code,
    checked_flight,
    checked_segment,
    currency_code,
    nightly_mismatch,
    payment_reference,
    zone,
)
from refundctl.validate import amount_in, day
from refundctl.validate import instant as read_instant

Amount = Callable[[Any], Decimal]
# Orders of one flight share its times, and a batch its few booking times: each distinct
# time string is read once (a datetime is immutable); longer strings are no time anyway.
_read_time = lru_cache(maxsize=4096)(read_instant)
# Likewise the few airports, currencies, zones and check-in days of a batch: each distinct
# string is checked once (a converter that raises caches nothing, so a bad one is still refused).
_airport = lru_cache(maxsize=4096)(airport_code)
_currency = lru_cache(maxsize=256)(currency_code)
_zone = lru_cache(maxsize=256)(zone)
_day = lru_cache(maxsize=4096)(day)
_amount_in = lru_cache(maxsize=256)(amount_in)  # the reader of one currency's amounts, built once


def instant(value: str) -> datetime:
    return _read_time(value) if len(value) <= 40 else read_instant(value)


class _Rejected(Exception):
    """A check of ``parse``'s failed: the record goes to ``parse_order``."""


def fast_order(data: Any) -> Order | None:
    """The order ``parse_order(data)`` would build, or None when it would report a problem (or might)."""
    if not isinstance(data, dict):
        return None
    try:
        record = msgspec.convert(data, shapes.RECORD)
        common = _common(record)
        if isinstance(record, shapes.Flight):
            return _flight(record, common, data)
        return _hotel(record, common, data)
    except (msgspec.ValidationError, ValueError, TypeError, _Rejected):
        return None


def _not_blank(*texts: str) -> None:
    """``validate.text`` beyond msgspec's ``Text``: none of ``texts`` is only whitespace."""
    if not all(map(str.strip, texts)):
        raise _Rejected


def _common(r: shapes.Common) -> Common:
    # Positional arguments and list comprehensions: each keyword or generator is work for every order.
    evidence = r.evidence
    _not_blank(r.id, r.supplier, r.channel, r.payment_method)
    if evidence:
        _not_blank(*[e.waiver for e in evidence], *[e.reference for e in evidence])
    return Common(
        r.id,
        r.supplier,
        _currency(r.currency),
        instant(r.booked_at),
        r.channel,
        r.payment_method,
        tuple(r.traveler_tags) if r.traveler_tags else (),
        tuple(r.waiver_codes) if r.waiver_codes else (),
        tuple([Evidence(e.waiver, e.reference) for e in evidence]) if evidence else (),
        None if r.payment_reference is None else payment_reference(r.payment_reference),
    )


def _charges(lines: list[shapes.Charge] | None, amount: Amount) -> tuple[Charge, ...]:
    if not lines:
        return ()
    _not_blank(*[c.code for c in lines])
    return tuple([Charge(c.code, amount(c.amount)) for c in lines])


def _when(value: str | UnsetType | None) -> datetime | None:
    """An optional time: absent, null (as absent) or a time (an empty string is not a time)."""
    return instant(value) if isinstance(value, str) else None


def _flight(r: shapes.Flight, common: Common, raw: dict[str, Any]) -> FlightOrder:
    amount = _amount_in(common.currency)
    ancillaries = r.ancillaries or ()
    _not_blank(r.fare.fare_class, *[a.code for a in ancillaries])
    fare = Fare(r.fare.fare_class, amount(r.fare.base), _charges(r.fare.taxes, amount),
                _charges(r.fare.fees, amount))  # fmt: skip
    if not r.segments:
        raise _Rejected
    order = FlightOrder(
        common=common,
        fare=fare,
        ancillaries=tuple([Ancillary(a.code, amount(a.amount), a.used) for a in ancillaries]),
        segments=tuple([_segment(s, amount) for s in r.segments]),
        change_accepted=bool(r.change_accepted),
        cancellation_notified_at=_when(r.cancellation_notified_at),
        raw=raw,
        refund_requested_at=_when(r.refund_requested_at),
        journey_abandoned=bool(r.journey_abandoned),
        rerouting=None if r.rerouting is None else Rerouting(instant(r.rerouting.departs_at),
                                                             instant(r.rerouting.arrives_at)),
    )  # fmt: skip
    if any(checked_flight(order)):
        raise _Rejected
    return order


def _segment(s: shapes.Segment, amount: Amount) -> Segment:
    _not_blank(s.carrier, s.flight)
    status = s.status
    changed = status == "changed"
    # The keys only a flown segment may have, as given (null too): usually none.
    given = () if s.actual_departs_at is UNSET and s.actual_arrives_at is UNSET else _given(s)
    seg = Segment(
        origin=_airport(s.origin),
        destination=_airport(s.destination),
        carrier=s.carrier,
        flight=s.flight,
        departs_at=instant(s.departs_at),
        arrives_at=instant(s.arrives_at),
        status=status,
        base=None if s.base is None else amount(s.base),
        changed_departs_at=_required_if(changed, s.changed_departs_at),
        changed_arrives_at=_required_if(changed, s.changed_arrives_at),
        changed_from=None if s.changed_from is None else _airport(s.changed_from),
        changed_to=None if s.changed_to is None else _airport(s.changed_to),
        added_connections=s.added_connections or 0,
        extraordinary_circumstances=bool(s.extraordinary_circumstances),
        disruption_cause=s.disruption_cause,
        actual_departs_at=_when(s.actual_departs_at),
        actual_arrives_at=_when(s.actual_arrives_at),
    )
    if any(checked_segment(seg, given)):
        raise _Rejected
    return seg


def _given(s: shapes.Segment) -> set[str]:
    return {key for key in ("actual_departs_at", "actual_arrives_at") if getattr(s, key) is not UNSET}


def _required_if(required: bool, value: str | None) -> datetime | None:
    if value is None and required:
        raise _Rejected
    return _when(value)


def _hotel(r: shapes.Hotel, common: Common, raw: dict[str, Any]) -> HotelOrder:
    amount = _amount_in(common.currency)
    s = r.stay
    _not_blank(s.rate_plan)
    stay = Stay(
        check_in=_day(s.check_in),
        nights=s.nights,
        rooms=s.rooms,
        timezone=_zone(s.timezone),
        rate_plan=s.rate_plan,
        nightly=tuple([amount(v) for v in s.nightly]),
    )
    if nightly_mismatch(stay.nightly, stay.nights):
        raise _Rejected
    return HotelOrder(common=common, stay=stay, taxes=_charges(r.taxes, amount), fees=_charges(r.fees, amount),
                      status=r.status, raw=raw)  # fmt: skip
