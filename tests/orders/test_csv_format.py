"""Orders as CSV (refundctl/orders/csv_format.py): rows read like the JSON orders, every bad cell named by row and
column."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from refundctl.orders import FlightOrder, HotelOrder, load_orders
from refundctl.orders.parse import parse_order
from tests.support.builders import flight, hotel
from tests.support.orders import FLIGHT_ROW, HOTEL_ROW, csv_text, only_problem, problems_of, records


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


def test_csv_payment_reference_column(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(csv_text({**FLIGHT_ROW, "payment_reference": "pi_csv1"}, HOTEL_ROW))
    first, second = load_orders([str(path)])
    assert (first.common.payment_reference, second.common.payment_reference) == ("pi_csv1", None)
