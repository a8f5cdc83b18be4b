"""Reading orders (refundctl/orders/reader.py): JSON, JSON arrays, JSON Lines and stdin, and every error located by
file, line and field. CSV: tests/orders/test_csv_format.py; one record's fields: tests/orders/test_parse.py."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from refundctl.errors import OrderError
from refundctl.orders import load_orders
from tests.support.builders import flight, hotel, with_fare, with_stay, write_json, write_jsonl
from tests.support.orders import FLIGHT_ROW, csv_text, only_problem, problems_of, records

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
