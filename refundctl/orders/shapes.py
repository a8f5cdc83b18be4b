"""The shapes of good order records, as msgspec structs: ``orders.fast`` converts a record into them.

They live apart from ``fast`` because ``fast`` is compiled with mypyc in a release install
(setup.py) and these must not be: a compiled module loses the ``kw_only`` a subclass's
fields need after its parent's optional ones (msgspec reads the class as Python declares it).
"""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType, field

from refundctl.orders.model import DisruptionCause, HotelStatus, SegmentStatus
from refundctl.orders.parse import MAX_STAY_COUNT

# Converters of the validator as constraints msgspec checks in C (tests/orders/test_fast.py
# checks each against its converter): ``validate.string``, ``validate.count`` and
# ``parse.stay_count``. A ``Text`` is not blank either (``validate.text``): ``fast`` checks
# all of a record's at once (a pattern per field would cost more than the whole record).
Text = Annotated[str, Meta(min_length=1)]
Count = Annotated[int, Meta(ge=0)]
StayCount = Annotated[int, Meta(ge=1, le=MAX_STAY_COUNT)]
# A null where a field may be absent reads as absent, as in parse_order.
Strs = list[Text] | None


class Strict(Struct, forbid_unknown_fields=True):
    pass


class Charge(Strict):
    code: Text
    amount: str


class Ancillary(Strict):
    code: Text
    amount: str
    used: bool


class Evidence(Strict):
    waiver: Text
    reference: Text


class Fare(Strict):
    fare_class: Text = field(name="class")
    base: str
    taxes: list[Charge] | None = None
    fees: list[Charge] | None = None


class Segment(Strict):
    origin: str = field(name="from")
    destination: str = field(name="to")
    carrier: Text
    flight: Text
    departs_at: str
    arrives_at: str
    status: SegmentStatus
    base: str | None = None
    changed_departs_at: str | None = None
    changed_arrives_at: str | None = None
    changed_from: str | None = None
    changed_to: str | None = None
    added_connections: Count | None = None
    extraordinary_circumstances: bool | None = None
    disruption_cause: DisruptionCause | None = None
    # Unset (absent) differs from null here: only a flown segment may name them at all.
    actual_departs_at: str | UnsetType | None = UNSET
    actual_arrives_at: str | UnsetType | None = UNSET


class Rerouting(Strict):
    departs_at: str
    arrives_at: str


class Stay(Strict):
    check_in: str
    nights: StayCount
    rooms: StayCount
    timezone: str
    rate_plan: Text
    nightly: list[str]


class Common(Strict):
    id: Text
    supplier: Text
    currency: str
    booked_at: str
    channel: Text
    payment_method: Text
    traveler_tags: Strs = None
    waiver_codes: Strs = None
    evidence: list[Evidence] | None = None
    payment_reference: str | None = None


class Flight(Common, tag_field="kind", tag="flight", kw_only=True):
    fare: Fare
    segments: list[Segment]
    ancillaries: list[Ancillary] | None = None
    change_accepted: bool | None = None
    cancellation_notified_at: str | None = None
    refund_requested_at: str | None = None
    journey_abandoned: bool | None = None
    rerouting: Rerouting | None = None


class Hotel(Common, tag_field="kind", tag="hotel", kw_only=True):
    stay: Stay
    status: HotelStatus
    taxes: list[Charge] | None = None
    fees: list[Charge] | None = None


RECORD = Flight | Hotel  # one type object: msgspec prepares a type once, by identity
