"""Typed policies, built only by ``refundctl.policy.schema`` from validated TOML, and the loaded set."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from refundctl.errors import Problem

TaxMode = Literal["all", "none", "proportional", "codes"]
CarrierSize = Literal["large", "small"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """An instant relative to the anchor (first unflown departure, or check-in).

    ``hours_before``: that many hours before the anchor. ``days_before`` with ``at``:
    at that local wall-clock time, that many calendar days before the anchor's local
    date, in the anchor's zone (OpenTravel's Deadline: offset unit, multiplier, drop time).
    """

    hours_before: int | None = None
    days_before: int | None = None
    at: time | None = None

    def describe(self) -> str:
        if self.hours_before is not None:
            return f"{self.hours_before} h before"
        return f"{self.at:%H:%M} local, {self.days_before} day(s) before"


@dataclass(frozen=True, slots=True)
class Penalty:
    """Exactly one of amount (flat, in ``currency``), percent (of base or room charges), nights."""

    amount: Decimal | None = None
    currency: str | None = None
    percent: Decimal | None = None
    nights: int | None = None
    min: Decimal | None = None
    max: Decimal | None = None

    def describe(self) -> str:
        if self.amount is not None:
            what = f"{self.amount} {self.currency}"
        elif self.percent is not None:
            what = f"{self.percent}%"
        else:
            what = f"{self.nights} night(s) per room"
        limits = [f"min {self.min}" if self.min is not None else "", f"max {self.max}" if self.max is not None else ""]
        return " ".join([what, *filter(None, limits)])


@dataclass(frozen=True, slots=True)
class Window:
    """A penalty that applies after the previous window's ``until`` and up to its own (inclusive)."""

    id: str
    until: Deadline | None
    penalty: Penalty
    line: int


@dataclass(frozen=True, slots=True)
class Refundability:
    """Which taxes, fees or ancillaries come back: all, none, proportional, or listed codes."""

    mode: TaxMode
    codes: frozenset[str] = frozenset()
    except_codes: frozenset[str] = frozenset()

    def refunds(self, code: str) -> bool:
        if code in self.except_codes or self.mode == "none":
            return False
        return self.mode != "codes" or code in self.codes


@dataclass(frozen=True, slots=True)
class Rule:
    """A fare rule (booking classes) or a rate-plan rule (rate plans)."""

    id: str
    codes: frozenset[str]  # booking classes or rate plans
    refundable: bool
    windows: tuple[Window, ...]
    no_show: Window | None
    taxes: Refundability
    fees: Refundability
    ancillaries: Literal["none", "unused"]
    line: int


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    kind: Literal["airline", "hotel"]
    file: str  # relative to the policy directory
    name: str
    source: str
    suppliers: frozenset[str]  # carrier codes or hotel codes
    currency: str
    rules: tuple[Rule, ...]
    # Carrier attributes (None: the carriers file decides, by licensing country or listed size).
    eu_carrier: bool | None = None  # a Community carrier (EU 261 Art. 2(c))
    uk_carrier: bool | None = None  # a UK air carrier (UK 261 Art. 2(m), SI 2019/278)
    cn_carrier: bool | None = None  # a carrier established under PRC law (CAAC 2021)
    appr_carrier_size: CarrierSize | None = None  # APPR s. 1(2): 2 million passengers in each of 2 years
    dot_24_hour: Literal["cancel", "hold"] | None = None  # 14 CFR 259.5(b)(4): which the carrier offers
    timezone: str | None = None  # hotels: deadlines are in the hotel's zone
    check_in_time: time = time(14, 0)
    full_refund_statuses: frozenset[str] = frozenset()

    def rule_for(self, code: str) -> Rule | None:
        for rule in self.rules:
            if code in rule.codes:
                return rule
        return None


# Override policies: waivers and regulations (built by ``refundctl.policy.overrides``).

WaiverEffect = Literal["full-refund", "waive-penalties", "waive-flat-fee"]
Funder = Literal["supplier", "platform"]
RegulationRule = Literal["us-dot-260", "eu-261", "uk-261", "ca-appr", "cn-caac-2021", "us-dot-24-hour"]
# Airline policy keys that override the carriers file; a regulation maps each to licensing states.
CarrierAttribute = Literal["eu_carrier", "uk_carrier", "cn_carrier"]


@dataclass(frozen=True, slots=True)
class WaiverConditions:
    """Who and what a waiver covers; an empty set or None means "any"."""

    order_kinds: frozenset[str] = frozenset()
    suppliers: frozenset[str] = frozenset()
    booked_after: datetime | None = None  # inclusive: booked at or after
    booked_before: datetime | None = None  # exclusive: booked strictly before
    travel_from: date | None = None  # local date of first departure or check-in, inclusive
    travel_until: date | None = None  # inclusive
    traveler_tags: frozenset[str] = frozenset()  # any of
    waiver_codes: frozenset[str] = frozenset()  # any of
    channels: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Waiver:
    id: str
    file: str
    line: int  # of the [conditions] table, for overlap warnings
    name: str
    source: str
    conditions: WaiverConditions
    effect: WaiverEffect
    funded_by: Funder  # who pays the part the supplier's own rules would keep
    evidence: bool
    up_to: Decimal | None = None  # waive-* effects: at most this much, in ``currency``
    currency: str | None = None
    overlaps: frozenset[str] = frozenset()  # waivers the author knows this one overlaps (no warning)


@dataclass(frozen=True, slots=True)
class Due:
    """A refund is due ``days`` after the request's date: calendar days, or working days.

    Working days are those of ``holidays``' calendar (weekdays without public holidays, plus
    the working weekends a country schedules, e.g. China's adjusted days); the request's date
    is taken in ``timezone``. Past ``published_through`` the calendar is the library's
    estimate, not an official schedule: a due date there is provisional.
    """

    days: int
    business_days: bool = False
    holidays: str | None = None  # ISO country whose working-day calendar counts
    payment_methods: frozenset[str] = frozenset()  # ``due.card``: the payment methods it is for
    timezone: str = "UTC"
    published_through: int | None = None  # the last year whose official schedule the calendar holds


@dataclass(frozen=True, slots=True)
class Band:
    up_to_km: int | None  # inclusive; None: no upper limit
    amount: Decimal
    reduce_within_hours: int | None = None  # arriving at most this late: reduced (EU 261 Art. 7(2))


@dataclass(frozen=True, slots=True)
class ReroutingExemption:
    """No compensation when told at least ``notice_days`` ahead and re-routed within these hours (Art. 5(1)(c))."""

    notice_days: int
    departs_within_hours: int  # departing no more than this before the scheduled departure
    arrives_within_hours: int  # arriving less than this after the scheduled arrival


@dataclass(frozen=True, slots=True)
class Disruption:
    """When a schedule change or delay counts (EU 261 as read by C-146/20 and Sturgeon)."""

    earlier_hours: int  # brought forward by more than this: a cancellation
    refund_delay_hours: int  # departure delayed by this or more: the traveller may take a refund
    compensation_delay_hours: int  # arrival at the final destination this late or more: compensation


@dataclass(frozen=True, slots=True)
class BookingWindow:
    """14 CFR 259.5(b)(4): cancel without penalty within ``within_hours`` of booking, if booked early enough."""

    within_hours: int
    booked_days_before: int


@dataclass(frozen=True, slots=True)
class CompensationRule:
    currency: str
    bands: tuple[Band, ...]
    intra_over_km: int | None  # flights within ``countries`` longer than this get ``intra_amount``
    intra_amount: Decimal | None
    notice_days: int  # no compensation when told at least this many days before departure
    intra_reduce_within_hours: int | None = None
    reduction_percent: Decimal | None = None  # Art. 7(2): the reduction when arriving within a band's hours
    rerouting: tuple[ReroutingExemption, ...] = ()


@dataclass(frozen=True, slots=True)
class DelayBand:
    """APPR s. 19(1): an arrival this many hours late or more (closed at the bottom) gets these amounts."""

    from_hours: int
    large: Decimal
    small: Decimal


@dataclass(frozen=True, slots=True)
class DelayCompensation:
    """Compensation by arrival delay and carrier size (APPR s. 19), owed when told ``notice_days`` or less ahead."""

    currency: str
    notice_days: int
    bands: tuple[DelayBand, ...]  # ascending ``from_hours``
    refunded_large: Decimal  # s. 19(2): a flat amount when the ticket is refunded
    refunded_small: Decimal


@dataclass(frozen=True, slots=True)
class RefundRight:
    """APPR ss. 17-18: when a delay gives a refund right, and the re-routing window that removes it."""

    delay_hours: int  # a delay of this many hours or more
    rebook_within_hours: int  # outside the carrier's control: a re-routing departing within this: no refund


@dataclass(frozen=True, slots=True)
class Arrival:
    """Inbound cover (Art. 3(1)(b)): journeys arriving in ``countries`` on one of ``carriers``."""

    countries: frozenset[str]
    carriers: tuple[CarrierAttribute, ...]
    cites: str  # the provision, for explain


@dataclass(frozen=True, slots=True)
class Carrier:
    code: str  # IATA airline designator
    name: str
    country: str  # ISO 3166-1 alpha-2 of the licensing state
    file: str
    line: int
    appr_carrier_size: CarrierSize | None = None  # APPR s. 1(2), for carriers flying to or from Canada


@dataclass(frozen=True, slots=True)
class CarrierList:
    """A carriers file: who holds an operating licence where (``kind = "carriers"``)."""

    id: str
    file: str
    carriers: tuple[Carrier, ...]


@dataclass(frozen=True, slots=True)
class Regulation:
    id: str
    file: str
    line: int
    name: str
    source: str
    implements: RegulationRule
    in_force: date  # applies to decisions made on or after this date
    countries: frozenset[str]  # ISO codes of the territory the regulation covers
    due: Due
    due_card: Due | None = None  # card payments, when their deadline differs
    domestic_hours: int | None = None  # us-dot-260: a significant schedule change, domestic itinerary
    international_hours: int | None = None
    compensation: CompensationRule | None = None
    excluded_airports: frozenset[str] = frozenset()  # in a covered country, where the regulation does not apply
    # Each carrier attribute's licensing states (e.g. eu_carrier: the Member States).
    licences: dict[CarrierAttribute, frozenset[str]] = field(default_factory=dict)
    arrivals: tuple[Arrival, ...] = ()  # inbound cover (EU/UK 261 Art. 3(1)(b))
    carriers: tuple[CarrierAttribute, ...] = ()  # carrier-based cover (cn-caac-2021: carriers under PRC law)
    disruption: Disruption | None = None
    booking_window: BookingWindow | None = None  # us-dot-24-hour
    refund_right: RefundRight | None = None  # ca-appr
    delay_compensation: DelayCompensation | None = None  # ca-appr


@dataclass(frozen=True)
class PolicySet:
    """Every policy, waiver and regulation of one directory, indexed by supplier, with their digest."""

    directory: Path
    policies: tuple[Policy, ...]
    digest: str  # identifies exactly these policy files; part of every idempotency key
    by_supplier: dict[tuple[str, str], Policy] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    regulations: tuple[Regulation, ...] = ()
    warnings: tuple[Problem, ...] = ()  # e.g. overlapping waivers with different effects
    carriers: dict[str, Carrier] = field(default_factory=dict)  # by IATA code, from carriers files

    def for_supplier(self, kind: str, code: str) -> Policy | None:
        return self.by_supplier.get((kind, code))

    # Sorted once per policy set rather than once per order (the engine applies them in id order).
    @cached_property
    def regulations_by_id(self) -> tuple[Regulation, ...]:
        return tuple(sorted(self.regulations, key=lambda r: r.id))

    @cached_property
    def waivers_by_id(self) -> tuple[Waiver, ...]:
        return tuple(sorted(self.waivers, key=lambda w: w.id))

    def with_fallback(self, policy: Policy) -> PolicySet:
        """These policies plus ``policy`` for the suppliers no policy file covers (files always win).

        A supplier's own rule (e.g. Duffel's order conditions) changes decisions, so it
        changes the digest too, and with it every idempotency key.
        """
        by_supplier = dict(self.by_supplier)
        for code in sorted(policy.suppliers):
            by_supplier.setdefault((policy.kind, code), policy)
        if len(by_supplier) == len(self.by_supplier):
            return self
        digest = hashlib.sha256(f"{self.digest}\0{policy.file}\0{policy!r}".encode()).hexdigest()[:16]
        return replace(self, policies=(*self.policies, policy), by_supplier=by_supplier, digest=digest)
