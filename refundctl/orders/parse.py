"""Turn one order record (a JSON-shaped dict) into a typed order, or the problems with it.

Every problem names the field path (``fare.taxes[1].amount``) and what was expected;
the reader adds the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from refundctl import validate
from refundctl.errors import shown
from refundctl.orders.model import (
    DISRUPTION_CAUSES,
    HOTEL_STATUSES,
    SEGMENT_STATUSES,
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
from refundctl.validate import Fields, Issue, boolean, count, day, instant, positive, text

T = TypeVar("T")
# A required time that could not be read: the record is reported and discarded, but it is still built so
# that every other problem is found (a compiled model refuses None for a time); checks across fields skip it.
UNREAD = datetime.min.replace(tzinfo=UTC)
PAYMENT_REFERENCE = re.compile(r"(pi|ch)_[A-Za-z0-9_]{1,250}")
COMMON = {
    "id", "kind", "supplier", "currency", "booked_at", "channel", "payment_method",
    "traveler_tags", "waiver_codes", "evidence", "payment_reference",
}  # fmt: skip
FLIGHT = COMMON | {
    "fare", "ancillaries", "segments", "change_accepted", "cancellation_notified_at", "refund_requested_at",
    "journey_abandoned", "rerouting",
}  # fmt: skip
HOTEL = COMMON | {"stay", "taxes", "fees", "status"}
FARE = {"class", "base", "taxes", "fees"}
SEGMENT = {
    "from", "to", "carrier", "flight", "departs_at", "arrives_at", "status", "base",
    "changed_departs_at", "changed_arrives_at", "changed_from", "changed_to", "added_connections",
    "extraordinary_circumstances", "disruption_cause", "actual_departs_at", "actual_arrives_at",
}  # fmt: skip
STAY = {"check_in", "nights", "rooms", "timezone", "rate_plan", "nightly"}


def payment_reference(value: Any) -> str:
    """The payment the platform refunds its share against: a PaymentIntent ``pi_...`` or a Charge ``ch_...``."""
    if not isinstance(value, str) or not PAYMENT_REFERENCE.fullmatch(value):
        raise ValueError(f"expected a payment id such as pi_3MtwBw or ch_3MmlLr (letters, digits, _), got {value!r}")
    return value


# Rooms and nights multiply the nightly prices: bounded so that a stay's total stays
# exact in Decimal (see ``refundctl.money.MAX_INTEGER_DIGITS``).
MAX_STAY_COUNT = 9999


def stay_count(value: Any) -> int:
    if positive(value) > MAX_STAY_COUNT:
        raise ValueError(f"expected at most {MAX_STAY_COUNT}, got {shown(value)}")
    return int(value)


def airport_code(value: Any) -> str:
    """An IATA airport code as written: three capital letters (whether airportsdata knows it is the engine's say)."""
    code = text(value)
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        raise ValueError(f"expected a 3-letter IATA airport code in capitals such as PVG, got {shown(code)}")
    return code


cause = validate.choice(DISRUPTION_CAUSES)


def zone(value: Any) -> str:
    return validate.zone(text(value))


def currency_code(value: Any) -> str:
    return validate.currency(text(value))


def tags(value: Any, path: str, problems: list[Issue]) -> str:
    return validate.read(value, path, validate.string, "", problems)


def parse_order(data: object) -> tuple[Order | None, list[Issue]]:
    """The typed order, or None and every problem found in the record."""
    problems: list[Issue] = []
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in ("flight", "hotel"):
        if isinstance(data, dict):
            problems.append(Issue("kind", f"expected 'flight' or 'hotel', got {shown(kind)}"))
        else:
            problems.append(Issue("<record>", f"expected an order object, got {_json_type(data)}"))
        return None, problems
    f = Fields(data, "", FLIGHT if kind == "flight" else HOTEL, problems)
    before = len(problems)
    cur = f.get("currency", currency_code, "XXX")
    # Without a valid currency the amounts' decimals cannot be checked; the currency is reported.
    amount = _amount_parser(cur if len(problems) == before else None)

    def evidence(item: Any, path: str) -> Evidence:
        e = Fields(item, path, {"waiver", "reference"}, problems)
        return Evidence(e.get("waiver", text, ""), e.get("reference", text, ""))

    common = Common(
        id=f.get("id", text, ""),
        supplier=f.get("supplier", text, ""),
        currency=cur,
        booked_at=f.get("booked_at", instant, UNREAD),
        channel=f.get("channel", text, ""),
        payment_method=f.get("payment_method", text, ""),
        traveler_tags=f.items("traveler_tags", lambda v, p: tags(v, p, problems)),
        waiver_codes=f.items("waiver_codes", lambda v, p: tags(v, p, problems)),
        evidence=f.items("evidence", evidence),
        payment_reference=f.get("payment_reference", payment_reference, required=False),
    )

    def charge(item: Any, path: str) -> Charge:
        c = Fields(item, path, {"code", "amount"}, problems)
        return Charge(c.get("code", text, ""), c.get("amount", amount, Decimal(0)))

    order: Order
    if kind == "flight":
        order = _flight(f, common, charge, amount, problems)
    else:
        order = _hotel(f, common, charge, amount, problems)
    return (None if problems else order), problems


def _json_type(value: object) -> str:
    """What a decoded JSON value is, in JSON's words (a file holding just ``42`` is "a number")."""
    if value is None or isinstance(value, bool):
        return shown(value)
    names = {int: "a number", float: "a number", str: "a string", list: "an array"}
    return names.get(type(value), type(value).__name__)


def _amount_parser(currency: str | None) -> Callable[[Any], Decimal]:
    return _unchecked if currency is None else validate.amount_in(currency)


def _unchecked(value: Any) -> Decimal:
    return Decimal(0)


def _flight(
    f: Fields,
    common: Common,
    charge: Callable[[Any, str], Charge],
    amount: Callable[[Any], Decimal],
    problems: list[Issue],
) -> FlightOrder:
    fare_fields = Fields(f.data.get("fare", {}), "fare", FARE, problems)
    if "fare" not in f.data:
        problems.append(Issue("fare", "required field is missing"))
    fare = Fare(
        fare_class=fare_fields.get("class", text, ""),
        base=fare_fields.get("base", amount, Decimal(0)),
        taxes=fare_fields.items("taxes", charge),
        fees=fare_fields.items("fees", charge),
    )

    def ancillary(item: Any, path: str) -> Ancillary:
        a = Fields(item, path, {"code", "amount", "used"}, problems)
        return Ancillary(a.get("code", text, ""), a.get("amount", amount, Decimal(0)), a.get("used", boolean, False))

    def segment(item: Any, path: str) -> Segment:
        s = Fields(item, path, SEGMENT, problems)
        status = s.get("status", text, "scheduled")
        if status not in SEGMENT_STATUSES:
            problems.append(
                Issue(s.at("status"), f"expected one of {', '.join(SEGMENT_STATUSES)}, got {shown(status)}")
            )
        changed = status == "changed"
        seg = Segment(
            origin=s.get("from", airport_code, ""),
            destination=s.get("to", airport_code, ""),
            carrier=s.get("carrier", text, ""),
            flight=s.get("flight", text, ""),
            departs_at=s.get("departs_at", instant, UNREAD),
            arrives_at=s.get("arrives_at", instant, UNREAD),
            status=status,
            base=s.get("base", amount, required=False),
            changed_departs_at=s.get("changed_departs_at", instant, required=changed),
            changed_arrives_at=s.get("changed_arrives_at", instant, required=changed),
            changed_from=s.get("changed_from", airport_code, required=False),
            changed_to=s.get("changed_to", airport_code, required=False),
            added_connections=s.get("added_connections", count, 0, required=False),
            extraordinary_circumstances=s.get("extraordinary_circumstances", boolean, False, required=False),
            disruption_cause=s.get("disruption_cause", cause, required=False),
            actual_departs_at=s.get("actual_departs_at", instant, required=False),
            actual_arrives_at=s.get("actual_arrives_at", instant, required=False),
        )
        problems.extend(Issue(s.at(key), message) for key, message in checked_segment(seg, s.data))
        return seg

    def rerouting(value: Any) -> Rerouting:
        r = Fields(value, "rerouting", {"departs_at", "arrives_at"}, problems)
        return Rerouting(r.get("departs_at", instant, UNREAD), r.get("arrives_at", instant, UNREAD))

    segments = f.items("segments", segment, required=True)
    if not segments and "segments" in f.data and not problems:
        problems.append(Issue("segments", "expected at least one segment"))
    order = FlightOrder(
        common=common,
        fare=fare,
        ancillaries=f.items("ancillaries", ancillary),
        segments=segments,
        change_accepted=f.get("change_accepted", boolean, False, required=False),
        cancellation_notified_at=f.get("cancellation_notified_at", instant, required=False),
        raw=f.data,
        refund_requested_at=f.get("refund_requested_at", instant, required=False),
        journey_abandoned=f.get("journey_abandoned", boolean, False, required=False),
        rerouting=f.get("rerouting", rerouting, required=False),
    )
    problems.extend(checked_flight(order))
    return order


# Checks across fields, once each field has been read (as far as it could be): shared with
# the fast path (``orders.fast``), which accepts a record only when they find nothing.


def _before(later: datetime | None, earlier: datetime | None) -> bool:
    """``later`` is before ``earlier``, both given and read (a time that is not has its own problem)."""
    return (
        later is not None and earlier is not None and later is not UNREAD and earlier is not UNREAD and later < earlier
    )


def checked_segment(seg: Segment, given: Container[str]) -> Iterator[Issue]:
    """A segment's problems across its fields (paths within the segment); ``given``: the keys it has."""
    if _before(seg.arrives_at, seg.departs_at):
        yield Issue("arrives_at", "expected arrival at or after departure")
    for key in ("actual_departs_at", "actual_arrives_at"):
        if key in given and seg.status != "flown":
            yield Issue(key, f"only a flown segment has {key}, this one is {seg.status!r}")
    if _before(seg.actual_arrives_at, seg.actual_departs_at):
        yield Issue("actual_arrives_at", "expected arrival at or after departure")


def checked_flight(order: FlightOrder) -> Iterator[Issue]:
    """A flight's problems across its fields, beyond those of each segment."""
    offered = order.rerouting
    if offered is not None and _before(offered.arrives_at, offered.departs_at):
        yield Issue("rerouting.arrives_at", "expected arrival at or after departure")
    booked, requested = order.common.booked_at, order.refund_requested_at
    if _before(requested, booked):
        # Deadlines run from the request: one before the booking is a typo, never a deadline.
        yield Issue("refund_requested_at", "expected a time at or after booked_at")


def nightly_mismatch(nightly: tuple[Decimal, ...], nights: int) -> str | None:
    """What is wrong when a stay lists another number of nightly prices than it has nights."""
    if nightly and nights and len(nightly) != nights:
        return f"expected one price per night ({nights}), got {len(nightly)}"
    return None


def _hotel(
    f: Fields,
    common: Common,
    charge: Callable[[Any, str], Charge],
    amount: Callable[[Any], Decimal],
    problems: list[Issue],
) -> HotelOrder:
    if "stay" not in f.data:
        problems.append(Issue("stay", "required field is missing"))
    s = Fields(f.data.get("stay", {}), "stay", STAY, problems)
    nights = s.get("nights", stay_count, 0)  # 0: missing or invalid, and already reported
    nightly = s.items("nightly", lambda v, p: _nightly(v, p, amount, problems), required=True)
    mismatch = nightly_mismatch(nightly, nights)
    if mismatch:
        problems.append(Issue(s.at("nightly"), mismatch))
    stay = Stay(
        check_in=s.get("check_in", day, date.min),  # date.min: not read, and reported
        nights=nights,
        rooms=s.get("rooms", stay_count, 1),
        timezone=s.get("timezone", zone, "UTC"),
        rate_plan=s.get("rate_plan", text, ""),
        nightly=nightly,
    )
    status = f.get("status", text, "confirmed")
    if status not in HOTEL_STATUSES:
        problems.append(Issue("status", f"expected one of {', '.join(HOTEL_STATUSES)}, got {shown(status)}"))
    return HotelOrder(
        common=common,
        stay=stay,
        taxes=f.items("taxes", charge),
        fees=f.items("fees", charge),
        status=status,
        raw=f.data,
    )


def _nightly(value: Any, path: str, amount: Callable[[Any], Decimal], problems: list[Issue]) -> Decimal:
    try:
        return amount(value)
    except ValueError as exc:
        problems.append(Issue(path, str(exc)))
        return Decimal(0)
