"""Reading and validating orders: every input format, and every error located by file, line and field."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.errors import OrderError
from refundctl.orders import FlightOrder, HotelOrder, load_orders
from refundctl.orders.parse import parse_order
from tests.support.builders import flight, hotel, with_fare, with_stay, write_json, write_jsonl
from tests.support.orders import FLIGHT_ROW, HOTEL_ROW, csv_text, only_problem, problems_of, records


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


# ---- formats -----------------------------------------------------------------------------------


def test_json_object_on_one_line(tmp_path: Path) -> None:
    recs = records(write_json(tmp_path / "one.json", flight()))
    assert [(r.line, r.order.id if r.order else None, r.problems) for r in recs] == [(1, "ZA-1001", [])]


def test_pretty_printed_json_object(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text("\n\n" + json.dumps(hotel(), indent=2) + "\n", encoding="utf-8")
    recs = records(path)
    assert len(recs) == 1
    assert recs[0].order is not None and recs[0].order.id == "HH-2001"
    assert recs[0].line == 3  # the object starts after two blank lines


def test_json_array_gives_each_element_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    orders = [flight(id=f"F{i}") for i in range(3)]
    path.write_text(json.dumps(orders, indent=2), encoding="utf-8")
    recs = records(path)
    assert [r.order.id for r in recs if r.order] == ["F0", "F1", "F2"]
    lines = path.read_text().splitlines()
    for rec in recs:
        assert lines[rec.line - 1].strip() == "{"
        assert f'"id": "{rec.order.id if rec.order else ""}"' in lines[rec.line]


def test_long_json_array_streams_every_element(tmp_path: Path) -> None:
    # More lines than one read chunk, so elements straddle refills.
    path = tmp_path / "long.json"
    orders = [flight(id=f"F{i:04d}") for i in range(120)]
    path.write_text(json.dumps(orders, indent=1), encoding="utf-8")
    recs = records(path)
    assert [r.order.id for r in recs if r.order] == [o["id"] for o in orders]
    text = path.read_text().splitlines()
    assert all(f'"F{i:04d}"' in text[rec.line] for i, rec in enumerate(recs))


def test_empty_json_array_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text("[]\n", encoding="utf-8")
    assert records(path) == []


def test_jsonl_counts_lines_including_blank_ones(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(f"{json.dumps(flight())}\n\n{json.dumps(hotel())}\n", encoding="utf-8")
    recs = records(path)
    assert [(r.line, r.order.id if r.order else None) for r in recs] == [(1, "ZA-1001"), (3, "HH-2001")]


def test_jsonl_without_jsonl_extension_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    write_jsonl(path, [flight(), hotel()])
    assert [r.order.id for r in records(path) if r.order] == ["ZA-1001", "HH-2001"]


def test_csv_rows_read_like_the_json_orders(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text(FLIGHT_ROW, HOTEL_ROW), encoding="utf-8")
    recs = records(path)
    assert problems_of(recs) == []
    assert [r.line for r in recs] == [2, 3]
    from_json = [parse_order(flight())[0], parse_order(hotel())[0]]
    for rec, expected in zip(recs, from_json, strict=True):
        assert isinstance(rec.order, FlightOrder | HotelOrder)
        assert expected is not None
        assert rec.order.common == expected.common
        assert rec.order.paid == expected.paid
    assert isinstance(recs[0].order, FlightOrder) and isinstance(from_json[0], FlightOrder)
    assert recs[0].order.fare == from_json[0].fare
    assert recs[0].order.segments == from_json[0].segments
    assert recs[0].order.ancillaries == from_json[0].ancillaries
    assert isinstance(recs[1].order, HotelOrder) and isinstance(from_json[1], HotelOrder)
    assert recs[1].order.stay == from_json[1].stay
    assert recs[1].order.taxes == from_json[1].taxes


def test_csv_used_ancillary(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text({**FLIGHT_ROW, "ancillaries": "bag=100.00:used;seat=30.00"}), encoding="utf-8")
    order = records(path)[0].order
    assert isinstance(order, FlightOrder)
    assert [(a.code, a.amount, a.used) for a in order.ancillaries] == [
        ("bag", Decimal("100.00"), True),
        ("seat", Decimal("30.00"), False),
    ]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.dumps(flight()) + "\n" + json.dumps(hotel()) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    recs = records("-")
    assert [(r.source, r.line, r.order.id if r.order else None) for r in recs] == [
        ("<stdin>", 1, "ZA-1001"),
        ("<stdin>", 2, "HH-2001"),
    ]
    assert not sys.stdin.buffer.closed  # stdin stays usable after reading


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("o.jsonl", json.dumps(flight()) + "\n"),
        ("o.json", json.dumps(flight(), indent=2) + "\n"),
        ("o.txt", json.dumps(flight()) + "\n"),  # detected as JSON Lines from the content
        ("o.json", json.dumps([flight()]) + "\n"),
        ("o.csv", csv_text(FLIGHT_ROW)),  # Excel's "CSV UTF-8" starts with a BOM
    ],
)
def test_a_byte_order_mark_is_not_content(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    recs = records(path)
    assert problems_of(recs) == []
    assert [r.order.id for r in recs if r.order] == ["ZA-1001"]


def test_stdin_with_a_byte_order_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\xef\xbb\xbf" + json.dumps(flight()).encode() + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert [r.order.id for r in records("-") if r.order] == ["ZA-1001"]


def test_stdin_twice_is_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(flight()).encode())))
    assert [r.order.id for r in records("-", "-") if r.order] == ["ZA-1001"]


def test_empty_file_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert records(path) == []


def test_load_orders_returns_every_order(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [flight()])
    b = write_json(tmp_path / "b.json", [hotel()])
    assert [o.id for o in load_orders([str(a), str(b)])] == ["ZA-1001", "HH-2001"]


# ---- errors are located: file, line, field, what was expected -------------------------------


def test_bad_record_in_jsonl_names_file_line_and_field(tmp_path: Path) -> None:
    bad = with_fare(flight(id="BAD"), base="12.345")
    path = write_jsonl(tmp_path / "o.jsonl", [flight(id="A"), flight(id="B"), bad, flight(id="C")])
    recs = records(path)
    assert [r.order.id for r in recs if r.order] == ["A", "B", "C"]
    assert only_problem(recs) == f"{path}:3: fare.base: '12.345' has more decimals than CNY allows (2)"


def test_invalid_json_line_does_not_lose_the_others(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text("{not json\n" + json.dumps(flight()) + "\n", encoding="utf-8")
    recs = records(path)
    assert [r.order.id for r in recs if r.order] == ["ZA-1001"]
    assert only_problem(recs).startswith(f"{path}:1: invalid JSON: ")


def test_invalid_json_mid_array_names_the_line_of_the_error(tmp_path: Path) -> None:
    path = tmp_path / "arr.json"
    text = "[\n" + json.dumps(flight(id="A")) + ",\n" + '{"id": "X",\n "kind": , "b": 1}' + "\n]\n"
    path.write_text(text, encoding="utf-8")
    recs = records(path)
    assert [r.order.id for r in recs if r.order] == ["A"]
    assert only_problem(recs) == f"{path}:4: [1]: invalid JSON: unexpected character, expected a JSON value (column 10)"


def test_unclosed_array(tmp_path: Path) -> None:
    path = tmp_path / "arr.json"
    path.write_text("[\n" + json.dumps(flight()) + ",\n", encoding="utf-8")
    recs = records(path)
    assert [r.order.id for r in recs if r.order] == ["ZA-1001"]
    assert "invalid JSON" in only_problem(recs)


def test_invalid_json_document_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{\n  "id": "X",\n  "kind" "flight"\n}\n', encoding="utf-8")
    message = "invalid JSON: unexpected character, expected ':' after key"
    assert only_problem(records(path)).startswith(f"{path}:3: {message}")


def test_unknown_field_is_named_with_its_path(tmp_path: Path) -> None:
    order = flight(colour="red")
    order["segments"][0]["gate"] = "A1"
    path = write_jsonl(tmp_path / "o.jsonl", [order])
    assert problems_of(records(path)) == [
        f"{path}:1: colour: unknown field",
        f"{path}:1: segments[0].gate: unknown field",
    ]


def test_time_without_offset_is_an_error(tmp_path: Path) -> None:
    order = flight()
    order["segments"][0]["departs_at"] = "2026-12-01T08:00:00"
    path = write_jsonl(tmp_path / "o.jsonl", [order])
    problem = only_problem(records(path))
    assert problem.startswith(f"{path}:1: segments[0].departs_at: time '2026-12-01T08:00:00' has no UTC offset")


def test_time_that_is_not_a_time(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [flight(booked_at="yesterday")])
    assert only_problem(records(path)) == (
        f"{path}:1: booked_at: expected an ISO 8601 time such as 2026-12-01T08:00:00+08:00, got 'yesterday'"
    )


def test_unknown_currency_is_the_only_problem_reported(tmp_path: Path) -> None:
    # The amounts cannot be checked against an unknown currency: no noise about them.
    path = write_jsonl(tmp_path / "o.jsonl", [hotel(currency="ABC")])
    assert only_problem(records(path)) == (
        f"{path}:1: currency: unknown currency 'ABC' (expected an ISO 4217 code such as CNY, USD, JPY)"
    )


def test_negative_amount(tmp_path: Path) -> None:
    order = flight()
    order["fare"]["taxes"][1]["amount"] = "-30.00"
    path = write_jsonl(tmp_path / "o.jsonl", [order])
    assert (
        only_problem(records(path)) == f"{path}:1: fare.taxes[1].amount: expected a non-negative amount, got '-30.00'"
    )


def test_amount_as_a_json_number(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [with_fare(flight(), base=1000)])
    assert "fare.base: expected the amount as a decimal string" in only_problem(records(path))


def test_too_many_decimals_for_jpy(tmp_path: Path) -> None:
    order = flight(currency="JPY")
    with_fare(order, base="10000", taxes=[], fees=[])
    order["ancillaries"] = [{"code": "bag", "amount": "1000.5", "used": False}]
    path = write_jsonl(tmp_path / "o.jsonl", [order])
    assert (
        only_problem(records(path))
        == f"{path}:1: ancillaries[0].amount: '1000.5' has more decimals than JPY allows (0)"
    )


def test_nightly_count_must_match_nights(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [with_stay(hotel(), nights=3)])
    assert only_problem(records(path)) == f"{path}:1: stay.nightly: expected one price per night (3), got 2"


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [flight(), hotel()])
    b = write_jsonl(tmp_path / "b.jsonl", [hotel(id="HH-2002"), flight()])
    recs = records(a, b)
    assert [r.order.id for r in recs if r.order] == ["ZA-1001", "HH-2001", "HH-2002"]
    assert only_problem(recs) == f"{b}:2: id: duplicate order id 'ZA-1001' (first at {a}:1)"


def test_load_orders_raises_with_every_problem(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [flight(kind="train"), flight(), hotel(status="lost")])
    with pytest.raises(OrderError) as info:
        load_orders([str(path)])
    assert [str(p) for p in info.value.problems] == [
        f"{path}:1: kind: expected 'flight' or 'hotel', got 'train'",
        f"{path}:3: status: expected one of confirmed, stayed, not_honored, cancelled_by_hotel, got 'lost'",
    ]


def test_nonexistent_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(OrderError, match=f"{missing}: cannot read orders: No such file or directory"):
        records(missing)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_bytes(b'{"id": "\xff"}\n')
    assert "not UTF-8 text" in only_problem(records(path))


def test_csv_unknown_column(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("id,kind,colour\nX,flight,red\n", encoding="utf-8")
    problem = only_problem(records(path))
    assert problem.startswith(f"{path}:1: unknown column(s) 'colour'; expected columns among: id, kind, supplier,")


def test_csv_bad_cell_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text(FLIGHT_ROW, {**HOTEL_ROW, "nightly": "500.00;5x"}), encoding="utf-8")
    recs = records(path)
    assert recs[0].order is not None
    assert problems_of(recs) == [
        f"{path}:3: nightly (stay.nightly[1]): expected a decimal amount such as \"12.50\", got '5x'",
        f"{path}:3: nightly (stay.nightly): expected one price per night (2), got 1",
    ]


def test_csv_flight_tax_names_the_taxes_column(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text({**FLIGHT_ROW, "taxes": "CN=50.00;YQ=30.001"}), encoding="utf-8")
    assert only_problem(records(path)) == (
        f"{path}:2: taxes (fare.taxes[1].amount): '30.001' has more decimals than CNY allows (2)"
    )


def test_csv_malformed_charge_list(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text({**FLIGHT_ROW, "fees": "service"}), encoding="utf-8")
    assert only_problem(records(path)) == f"{path}:2: fees: expected CODE=AMOUNT items separated by ';', got 'service'"


def test_csv_missing_required_cell(tmp_path: Path) -> None:
    row = {k: v for k, v in FLIGHT_ROW.items() if k != "departs_at"}
    path = tmp_path / "o.csv"
    path.write_text(csv_text(row), encoding="utf-8")
    assert only_problem(records(path)) == f"{path}:2: departs_at (segments[0].departs_at): required field is missing"


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


def test_csv_journey_columns_read_like_the_json_fields(tmp_path: Path) -> None:
    """The passenger-rights fields have CSV columns: actual times, the request, abandonment, re-routing."""
    row = {**FLIGHT_ROW, "segment_status": "flown", "actual_departs_at": "2026-12-01T09:00:00+08:00",
           "actual_arrives_at": "2026-12-01T13:30:00+08:00", "refund_requested_at": "2026-12-02T09:00:00+08:00",
           "journey_abandoned": "TRUE", "rerouting_departs_at": "2026-12-01T12:00:00+08:00",
           "rerouting_arrives_at": "2026-12-01T14:00:00+08:00"}  # fmt: skip
    path = tmp_path / "o.csv"
    path.write_text(csv_text(row), encoding="utf-8")
    [rec] = records(path)
    assert isinstance(rec.order, FlightOrder), problems_of([rec])
    assert rec.order.segments[0].actual_arrives_at == datetime.fromisoformat("2026-12-01T13:30:00+08:00")
    assert rec.order.journey_abandoned is True
    assert rec.order.rerouting is not None
    assert rec.order.refund_requested_at == datetime.fromisoformat("2026-12-02T09:00:00+08:00")


def test_csv_journey_abandoned_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text({**FLIGHT_ROW, "journey_abandoned": "yes", "rerouting_arrives_at": "2026-12-01"}),
                    encoding="utf-8")  # fmt: skip
    assert problems_of(records(path)) == [
        f"{path}:2: journey_abandoned: expected true or false, got 'yes'",
        f"{path}:2: rerouting_departs_at (rerouting.departs_at): required field is missing",
        f"{path}:2: rerouting_arrives_at (rerouting.arrives_at): time '2026-12-01' has no UTC offset "
        "(expected e.g. 2026-12-01+08:00 or 2026-12-01Z)",
    ]


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


def test_csv_payment_reference_column(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(csv_text({**FLIGHT_ROW, "payment_reference": "pi_csv1"}, HOTEL_ROW))
    first, second = load_orders([str(path)])
    assert (first.common.payment_reference, second.common.payment_reference) == ("pi_csv1", None)
