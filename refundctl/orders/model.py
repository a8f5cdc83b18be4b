"""Typed, validated orders. Built only by ``refundctl.orders.parse``.

Not frozen: one order is built per input record on the hot path, and frozen
dataclasses cost about twice as much to construct; nothing mutates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

# Literal types, so that the fast decoder (``orders.fast``) checks the same words as ``parse``.
SegmentStatus = Literal["scheduled", "flown", "cancelled", "changed"]
DisruptionCause = Literal["within_control", "safety", "outside_control"]  # APPR ss. 12, 11, 10
HotelStatus = Literal["confirmed", "stayed", "not_honored", "cancelled_by_hotel"]
SEGMENT_STATUSES: tuple[str, ...] = get_args(SegmentStatus)
DISRUPTION_CAUSES: tuple[str, ...] = get_args(DisruptionCause)
HOTEL_STATUSES: tuple[str, ...] = get_args(HotelStatus)


@dataclass(slots=True)
class Charge:
    code: str
    amount: Decimal


@dataclass(slots=True)
class Ancillary:
    code: str
    amount: Decimal
    used: bool


@dataclass(slots=True)
class Evidence:
    waiver: str
    reference: str


@dataclass(slots=True)
class Segment:
    origin: str
    destination: str
    carrier: str
    flight: str
    departs_at: datetime
    arrives_at: datetime
    status: str
    base: Decimal | None = None
    changed_departs_at: datetime | None = None
    changed_arrives_at: datetime | None = None
    changed_from: str | None = None  # another departure airport after a schedule change
    changed_to: str | None = None  # another arrival airport after a schedule change
    added_connections: int = 0  # connections a schedule change added
    extraordinary_circumstances: bool = False  # the carrier says the disruption was beyond its control
    disruption_cause: str | None = None  # one of DISRUPTION_CAUSES; None: from extraordinary_circumstances
    # Flown segments: what happened on the day (arrival is the moment a door opens).
    actual_departs_at: datetime | None = None
    actual_arrives_at: datetime | None = None


@dataclass(slots=True)
class Rerouting:
    """The alternative the carrier offered to the final destination after a cancellation."""

    departs_at: datetime
    arrives_at: datetime


@dataclass(slots=True)
class Fare:
    fare_class: str
    base: Decimal
    taxes: tuple[Charge, ...]
    fees: tuple[Charge, ...]


@dataclass(slots=True)
class Stay:
    check_in: date
    nights: int
    rooms: int
    timezone: str
    rate_plan: str
    nightly: tuple[Decimal, ...]  # per room, one per night

    @property
    def room_charges(self) -> Decimal:
        return sum(self.nightly, Decimal(0)) * self.rooms


@dataclass(slots=True)
class Common:
    """Fields every order kind has."""

    id: str
    supplier: str
    currency: str
    booked_at: datetime
    channel: str
    payment_method: str
    traveler_tags: tuple[str, ...]
    waiver_codes: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    payment_reference: str | None = None  # the payment a platform-funded share is refunded against


def _total(*groups: tuple[Charge, ...] | tuple[Ancillary, ...]) -> Decimal:
    return sum((line.amount for group in groups for line in group), Decimal(0))


@dataclass(slots=True)
class _OrderBase:
    """What every order kind has: the common fields, reached directly as ``order.id``."""

    common: Common

    @property
    def id(self) -> str:
        return self.common.id

    @property
    def currency(self) -> str:
        return self.common.currency


@dataclass(slots=True)
class FlightOrder(_OrderBase):
    fare: Fare
    ancillaries: tuple[Ancillary, ...]
    segments: tuple[Segment, ...]
    change_accepted: bool
    cancellation_notified_at: datetime | None
    raw: dict[str, Any]
    kind: Literal["flight"] = "flight"
    refund_requested_at: datetime | None = None  # when the traveller asked; regulation deadlines run from it
    journey_abandoned: bool = False  # a disrupted journey no longer serves the traveller's plan
    rerouting: Rerouting | None = None

    @property
    def paid(self) -> Decimal:
        return self.fare.base + _total(self.fare.taxes, self.fare.fees, self.ancillaries)


@dataclass(slots=True)
class HotelOrder(_OrderBase):
    stay: Stay
    taxes: tuple[Charge, ...]
    fees: tuple[Charge, ...]
    status: str
    raw: dict[str, Any]
    kind: Literal["hotel"] = "hotel"

    @property
    def paid(self) -> Decimal:
        return self.stay.room_charges + _total(self.taxes, self.fees)


Order = FlightOrder | HotelOrder
