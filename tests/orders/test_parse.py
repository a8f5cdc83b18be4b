"""One order record into the typed model (refundctl/orders/parse.py): every field validated, every problem reported
with its path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from refundctl.orders import FlightOrder, HotelOrder
from refundctl.orders.parse import parse_order
from tests.support.builders import flight, hotel, with_fare, with_stay


def parse_problems(data: object) -> dict[str, str]:
    order, problems = parse_order(data)
    assert order is None
    return {p.path: p.message for p in problems}


# ---- the examples parse into the typed model -------------------------------------------------


def test_example_flight_parses_into_the_model() -> None:
    order, problems = parse_order(flight())
    assert problems == []
    assert isinstance(order, FlightOrder)
    assert order.id == "ZA-1001"
    assert order.fare.fare_class == "M"
    assert order.fare.base == Decimal("1000.00")
    assert [(t.code, t.amount) for t in order.fare.taxes] == [("CN", Decimal("50.00")), ("YQ", Decimal("30.00"))]
    assert order.segments[0].departs_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert order.segments[0].origin == "PVG"
    assert order.ancillaries[0].used is False
    assert order.paid == Decimal("1200.00")


def test_example_hotel_parses_into_the_model() -> None:
    order, problems = parse_order(hotel())
    assert problems == []
    assert isinstance(order, HotelOrder)
    assert order.stay.check_in == date(2026, 12, 10)
    assert order.stay.nightly == (Decimal("500.00"), Decimal("500.00"))
    assert order.stay.room_charges == Decimal("1000.00")
    assert order.paid == Decimal("1060.00")


def test_room_charges_count_every_room() -> None:
    order, _ = parse_order(with_stay(hotel(), rooms=3))
    assert isinstance(order, HotelOrder)
    assert order.stay.room_charges == Decimal("3000.00")
    assert order.paid == Decimal("3060.00")


# ---- field validation (parse_order) -------------------------------------------------------------


def test_every_problem_in_a_record_is_reported() -> None:
    order = flight(id="", channel=None)
    with_fare(order, **{"class": 7})
    order["segments"][0]["status"] = "delayed"
    assert parse_problems(order) == {
        "id": "expected a non-empty string, got ''",
        "channel": "required field is missing",
        "fare.class": "expected a non-empty string, got 7",
        "segments[0].status": "expected one of scheduled, flown, cancelled, changed, got 'delayed'",
    }


def test_record_that_is_not_an_object() -> None:
    assert parse_problems([1, 2]) == {"<record>": "expected an order object, got an array"}


def test_arrival_before_departure() -> None:
    order = flight()
    order["segments"][0]["arrives_at"] = "2026-12-01T07:00:00+08:00"
    assert parse_problems(order) == {"segments[0].arrives_at": "expected arrival at or after departure"}


def test_changed_segment_needs_its_new_times() -> None:
    order = flight()
    order["segments"][0]["status"] = "changed"
    assert parse_problems(order) == {
        "segments[0].changed_departs_at": "required field is missing",
        "segments[0].changed_arrives_at": "required field is missing",
    }


def test_flight_needs_segments() -> None:
    assert parse_problems(flight(segments=[])) == {"segments": "expected at least one segment"}
    assert parse_problems({k: v for k, v in flight().items() if k != "segments"}) == {
        "segments": "required field is missing"
    }


@pytest.mark.parametrize(
    ("stay", "path", "message"),
    [
        ({"nights": 0, "nightly": []}, "stay.nights", "expected at least 1"),
        ({"rooms": -1}, "stay.rooms", "expected a non-negative whole number, got -1"),
        ({"rooms": True}, "stay.rooms", "expected a non-negative whole number, got true"),
        # Unbounded, rooms x nightly would outgrow Decimal's precision (a crash or a rounded total).
        ({"rooms": 10**40}, "stay.rooms", "expected at most 9999, got 1"),
        ({"nights": 10000, "nightly": ["1.00"] * 10000}, "stay.nights", "expected at most 9999, got 10000"),
        ({"check_in": "10/12/2026"}, "stay.check_in", "expected a date YYYY-MM-DD, got '10/12/2026'"),
        ({"timezone": "Mars/Olympus"}, "stay.timezone", "expected an IANA time zone such as Asia/Shanghai"),
    ],
)
def test_bad_stay_fields(stay: dict[str, Any], path: str, message: str) -> None:
    problems = parse_problems(with_stay(hotel(), **stay))
    assert message in problems[path]


def test_times_keep_their_instant_whatever_the_offset() -> None:
    a = flight()
    b = flight()
    b["segments"][0]["departs_at"] = "2026-12-01T00:00:00Z"
    b["segments"][0]["arrives_at"] = "2026-12-01T02:15:00Z"
    order_a, order_b = parse_order(a)[0], parse_order(b)[0]
    assert isinstance(order_a, FlightOrder) and isinstance(order_b, FlightOrder)
    assert order_a.segments[0].departs_at == order_b.segments[0].departs_at
    assert order_a.segments[0].departs_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("field", "value"),
    [("booked_at", "0001-01-01T00:00:00+08:00"), ("booked_at", "9999-12-31T23:00:00-08:00")],
)
def test_implausible_years_are_errors_not_overflows(field: str, value: str) -> None:
    assert parse_problems(flight(**{field: value})) == {field: f"expected a year from 1900 to 2999, got {value!r}"}


def test_implausible_check_in_date() -> None:
    problems = parse_problems(with_stay(hotel(), check_in="0001-01-01"))
    assert problems == {"stay.check_in": "expected a year from 1900 to 2999, got '0001-01-01'"}


def test_a_bad_nights_value_is_one_problem_not_two_and_shows_json_spelling() -> None:
    order = hotel()
    order["stay"] = {**order["stay"], "nights": True}
    assert parse_problems(order) == {"stay.nights": "expected a non-negative whole number, got true"}


def test_a_huge_rejected_value_is_cut_to_a_readable_length() -> None:
    message = parse_problems(flight(channel=["x" * 100_000]))["channel"]
    assert message.startswith("expected a non-empty string, got ['xxx")
    assert message.endswith("... (100004 characters)")
    assert len(message) < 120


@pytest.mark.parametrize("reference", ["pi_3MtwBwLkdIwHu7ix28a3tqPa", "ch_1NirD82eZvKYlo2C"])
def test_payment_reference_names_the_payment_the_platform_refunds_against(reference: str) -> None:
    order, problems = parse_order(flight(payment_reference=reference))
    assert problems == [] and order is not None
    assert order.common.payment_reference == reference
    hotel_order, _ = parse_order(hotel())
    assert hotel_order is not None and hotel_order.common.payment_reference is None  # optional


@pytest.mark.parametrize("reference", ["re_123", "pi_", "pi_12 3", "PI_123", 42])
def test_payment_reference_that_is_not_a_payment_id(reference: object) -> None:
    found = parse_problems(flight(payment_reference=reference))
    assert "expected a payment id such as pi_3MtwBw or ch_3MmlLr" in found["payment_reference"]
