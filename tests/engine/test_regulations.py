"""The shipped regulations against the published rules.

US DOT, 14 CFR 260.2 "significant change of flight itinerary": departure "three hours or
more (for domestic itineraries) and six hours or more (for international itineraries)
earlier", arrival that much later, another origin or destination airport, more
connection points. 260.6: refunds within 7 business days (credit card) or 20 calendar
days (other payments).

EU 261/2004, Art. 7(1): 250 EUR for flights of 1,500 km or less; 400 EUR for intra-
Community flights of more than 1,500 km and all other flights between 1,500 and 3,500 km;
600 EUR otherwise. Art. 5(1)(c)(i): none when informed at least two weeks before the
scheduled departure. Art. 5(3): none for extraordinary circumstances. Art. 8: refund
within seven days. Art. 3(1)(b): inbound flights only on a Community carrier.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.engine.geo import airport, distance_km
from refundctl.engine.workdays import due_date
from refundctl.errors import PolicyError
from refundctl.policy.loader import load_policies
from refundctl.policy.model import Due
from tests.support.builders import decide_dict
from tests.support.policies import extra_policies, policy_copy, segment, trip

AS_OF = "2026-11-25T12:00:00Z"  # a Wednesday; Thursday 2026-11-26 is Thanksgiving


def changed(origin: str, destination: str, dep: str, arr: str, new_dep: str, new_arr: str, **f: Any) -> dict[str, Any]:
    return segment(origin, destination, dep, arr, status="changed", changed_departs_at=new_dep,
                   changed_arrives_at=new_arr, **f)  # fmt: skip


DOMESTIC = ("JFK", "LAX", "2026-12-01T08:00:00-05:00", "2026-12-01T11:30:00-08:00")
INTERNATIONAL = ("JFK", "LHR", "2026-12-01T18:00:00-05:00", "2026-12-02T06:00:00+00:00")


@pytest.mark.parametrize(
    ("route", "new_dep", "new_arr", "applies"),
    [
        (DOMESTIC, "2026-12-01T08:00:00-05:00", "2026-12-01T14:30:00-08:00", True),  # arrives 3 h later
        (DOMESTIC, "2026-12-01T08:00:00-05:00", "2026-12-01T14:29:00-08:00", False),  # 2 h 59 later
        (DOMESTIC, "2026-12-01T05:00:00-05:00", "2026-12-01T08:30:00-08:00", True),  # departs 3 h earlier
        (DOMESTIC, "2026-12-01T10:59:00-05:00", "2026-12-01T14:29:00-08:00", False),  # later departure, 2 h 59
        (INTERNATIONAL, "2026-12-01T18:00:00-05:00", "2026-12-02T11:59:00+00:00", False),  # 5 h 59 later
        (INTERNATIONAL, "2026-12-01T18:00:00-05:00", "2026-12-02T12:00:00+00:00", True),  # 6 h later
        (INTERNATIONAL, "2026-12-01T12:00:00-05:00", "2026-12-02T00:00:00+00:00", True),  # departs 6 h earlier
        (INTERNATIONAL, "2026-12-01T14:00:00-05:00", "2026-12-02T02:00:00+00:00", False),  # 4 h: domestic only
    ],
)
def test_dot_significant_change_thresholds(route: tuple[str, ...], new_dep: str, new_arr: str, applies: bool) -> None:
    d = decide_dict(trip(changed(*route, new_dep, new_arr)), AS_OF)
    assert d.regulations == (("us-dot-2024",) if applies else ())
    assert d.refund == (Decimal("1200.00") if applies else Decimal("50.00"))


@pytest.mark.parametrize(
    "fields",
    [{"changed_to": "BUR"}, {"changed_from": "EWR"}, {"added_connections": 1}],
)
def test_dot_other_airports_or_more_connections_are_significant(fields: dict[str, Any]) -> None:
    seg = changed(*DOMESTIC, DOMESTIC[2], DOMESTIC[3], **fields)
    assert decide_dict(trip(seg), AS_OF).regulations == ("us-dot-2024",)


def test_dot_cancelled_segment_is_refunded_in_full_by_the_supplier() -> None:
    d = decide_dict(trip(segment(*DOMESTIC, status="cancelled")), AS_OF)
    assert (d.outcome, d.refund, d.penalty, d.non_refundable) == ("full", Decimal("1200.00"), 0, 0)
    assert d.funded_by == {"supplier": Decimal("1200.00")}
    assert d.compensation == ()
    # 7 business days from Wed 2026-11-25: Thanksgiving (26th) and the weekends are skipped.
    assert d.due_by == date(2026, 12, 7)


def test_dot_refund_excludes_used_ancillaries() -> None:
    order = trip(segment(*DOMESTIC, status="cancelled"))
    order["ancillaries"] = [{"code": "lounge", "amount": "100.00", "used": True}]
    d = decide_dict(order, AS_OF)
    assert (d.refund, d.non_refundable) == (Decimal("1100.00"), Decimal("100.00"))


def test_dot_due_date_for_other_payments_is_20_calendar_days() -> None:
    d = decide_dict(trip(segment(*DOMESTIC, status="cancelled"), payment_method="alipay"), AS_OF)
    assert d.due_by == date(2026, 12, 15)


def test_dot_does_not_apply_when_the_change_was_accepted_outside_the_us_or_before_it_was_in_force() -> None:
    accepted = trip(segment(*DOMESTIC, status="cancelled"), change_accepted=True, ancillaries=[])
    assert decide_dict(accepted, AS_OF).regulations == ()
    cancelled_in_china = segment("PVG", "PEK", "2026-12-01T08:00:00+08:00", "2026-12-01T10:15:00+08:00",
                                 status="cancelled")  # fmt: skip
    assert decide_dict(trip(cancelled_in_china), AS_OF).regulations == ()
    assert decide_dict(trip(segment(*DOMESTIC, status="cancelled")), "2024-10-27T12:00:00Z").regulations == ()


def test_dot_covers_carriers_without_a_fare_policy() -> None:
    order = trip(segment(*DOMESTIC, status="cancelled", carrier="XX"), supplier="XX")
    d = decide_dict(order, AS_OF)
    assert (d.outcome, d.refund) == ("full", Decimal("1200.00"))


@pytest.mark.parametrize(
    ("start", "due", "expected"),
    [
        (date(2026, 11, 25), Due(7, True, "US"), date(2026, 12, 7)),
        (date(2026, 7, 1), Due(7, True, "US"), date(2026, 7, 13)),  # Independence Day observed Fri 3 July
        (date(2026, 12, 31), Due(1, True, "US"), date(2027, 1, 4)),  # New Year's Day, then a weekend
        (date(2026, 11, 25), Due(7), date(2026, 12, 2)),
    ],
)
def test_due_dates(start: date, due: Due, expected: date) -> None:
    assert due_date(due, start) == expected


def eu(origin: str, destination: str, **fields: Any) -> dict[str, Any]:
    seg = segment(origin, destination, "2026-12-10T09:00:00+01:00", "2026-12-10T18:00:00+01:00", status="cancelled")
    return trip(seg, **fields)


@pytest.mark.parametrize(
    ("origin", "destination", "km", "amount"),
    [
        ("CDG", "MAD", 1062, "250.00"),  # up to 1,500 km
        ("CDG", "ATH", 2109, "400.00"),  # intra-Community over 1,500 km
        ("FRA", "TLV", 2954, "400.00"),  # other, 1,500 to 3,500 km
        ("FRA", "JFK", 6188, "600.00"),  # other, over 3,500 km
        ("CDG", "RUN", 9369, "400.00"),  # Reunion is in the EU: intra-Community, whatever the distance
    ],
)
def test_eu261_compensation_bands(origin: str, destination: str, km: int, amount: str) -> None:
    a, b = airport(origin), airport(destination)
    assert a is not None and b is not None
    assert round(distance_km(a, b)) == km
    d = decide_dict(eu(origin, destination), AS_OF)
    assert "eu-261" in d.regulations
    [compensation] = d.compensation
    assert (compensation.amount, compensation.currency) == (Decimal(amount), "EUR")
    assert d.refund == Decimal("1200.00")  # compensation is never part of the refund
    assert d.to_dict()["compensation"] == [
        {"amount": amount, "currency": "EUR", "regulation": "eu-261", "journey": [0]}
    ]


def test_eu261_refund_is_due_within_seven_days() -> None:
    assert decide_dict(eu("CDG", "MAD"), AS_OF).due_by == date(2026, 12, 2)


@pytest.mark.parametrize(
    ("notified", "compensated"),
    [
        ("2026-11-26T09:00:00+01:00", False),  # exactly 14 days before departure
        ("2026-11-26T09:00:01+01:00", True),
        (None, True),
    ],
)
def test_eu261_no_compensation_when_told_two_weeks_ahead(notified: str | None, compensated: bool) -> None:
    d = decide_dict(eu("CDG", "MAD", cancellation_notified_at=notified), AS_OF)
    assert d.regulations == ("eu-261",)
    assert bool(d.compensation) == compensated
    assert d.refund == Decimal("1200.00")


def test_eu261_extraordinary_circumstances_keep_the_refund_but_not_the_compensation() -> None:
    order = eu("CDG", "MAD")
    order["segments"][0]["extraordinary_circumstances"] = True
    d = decide_dict(order, AS_OF)
    assert (d.refund, d.compensation) == (Decimal("1200.00"), ())


def test_eu261_re_routing_accepted_gets_compensation_but_no_refund() -> None:
    d = decide_dict(eu("CDG", "MAD", change_accepted=True), AS_OF)
    assert d.regulations == ("eu-261",)
    assert d.refund == Decimal("50.00")  # the fare rule's own refund
    assert d.compensation
    assert d.due_by is None


def test_eu261_inbound_only_on_an_eu_carrier() -> None:
    inbound = segment("JFK", "FRA", "2026-12-10T18:00:00-05:00", "2026-12-11T08:00:00+01:00", status="cancelled")
    assert decide_dict(trip(inbound), AS_OF).regulations == ("us-dot-2024",)  # ZA is not an EU carrier
    order = trip({**inbound, "carrier": "AE"}, supplier="AE", currency="EUR")
    order["fare"]["class"] = "Q"
    d = decide_dict(order, AS_OF, extra_policies())
    assert d.regulations == ("eu-261", "us-dot-2024")
    assert [c.amount for c in d.compensation] == [Decimal("600.00")]


def test_eu261_does_not_cover_departures_from_the_uk_or_flights_not_cancelled() -> None:
    assert "eu-261" not in decide_dict(eu("LHR", "JFK"), AS_OF).regulations
    order = eu("CDG", "MAD")
    order["segments"][0]["status"] = "scheduled"
    assert decide_dict(order, AS_OF).regulations == ()


def test_compensation_stays_in_eur_for_a_jpy_order() -> None:
    order = eu("FRA", "JFK", supplier="SK", currency="JPY", ancillaries=[])
    order["fare"].update(base="100000", taxes=[{"code": "DE", "amount": "8000"}], fees=[])
    order["fare"]["class"] = "V"
    d = decide_dict(order, AS_OF, extra_policies())
    out = d.to_dict()
    assert (out["refund"], out["currency"]) == ("108000", "JPY")
    assert out["compensation"] == [{"amount": "600.00", "currency": "EUR", "regulation": "eu-261", "journey": [0]}]
    [hit] = [r for r in out["rules"] if r["effect"] == "compensation"]
    assert (hit["amount"], hit["currency"]) == ("600.00", "EUR")


def test_a_due_period_beyond_ten_years_is_refused(tmp_path: Path) -> None:
    # Accepted, it crashed check with OverflowError (or, in business days, ran on for ever).
    directory = policy_copy(tmp_path / "p")
    path = directory / "regulations" / "us-dot-2024.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("days = 20\n", "days = 999999999\n"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policies(directory)
    [problem] = caught.value.problems
    assert (problem.field, problem.message) == ("due.days", "expected 0 to 3650 days, got 999999999")
    assert problem.line is not None and problem.file.endswith("us-dot-2024.toml")
