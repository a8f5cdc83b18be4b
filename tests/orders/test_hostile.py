"""Hostile order input (issue 11 "Orders", issue 10 §3 and §5): a located error or a correct result, never a crash.

The same record gets the same answer whether it is a JSON file, an element of a JSON
array, a JSON Lines line or stdin, in every output format and with any ``--jobs``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.jsonvalue import MAX_DEPTH
from refundctl.orders import FlightOrder, HotelOrder
from refundctl.orders.ids import read_order_ids
from refundctl.output import encode
from tests.support.builders import flight, hotel
from tests.support.orders import CSV_HEADER, FLIGHT_ROW, HOTEL_ROW, csv_text, only_problem, records

AS_OF = "2026-11-25T08:00:00+08:00"
FORMATS = ("table", "json", "jsonl", "csv")


def run(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["check", "--as-of", AS_OF, *args], input=stdin)


def as_every_format(tmp_path: Path, record: str) -> dict[str, tuple[Path, int, str]]:
    """The record as a .json file, a pretty JSON array's second element and a JSON Lines line:
    (path, line of the record, field prefix)."""
    good = json.dumps(flight(id="GOOD"))
    (tmp_path / "one.json").write_text(record + "\n", encoding="utf-8")
    (tmp_path / "array.json").write_text(f"[\n{good},\n{record}\n]\n", encoding="utf-8")
    (tmp_path / "lines.jsonl").write_text(f"{good}\n{record}\n", encoding="utf-8")
    return {
        "json": (tmp_path / "one.json", 1, ""),
        "array": (tmp_path / "array.json", 3, "[1]: "),
        "jsonl": (tmp_path / "lines.jsonl", 2, ""),
    }


def assert_same_error_everywhere(tmp_path: Path, record: str, message: str) -> None:
    for path, line, prefix in as_every_format(tmp_path, record).values():
        # Every output format in this process, and one with workers (which get the record undecoded).
        for fmt, jobs in [*((fmt, "1") for fmt in FORMATS), ("jsonl", "2")]:
            result = run(str(path), "-o", fmt, "-j", jobs)
            assert (result.exit_code, result.stdout) == (2, ""), result.output
            assert result.stderr == f"refundctl: error: {path}:{line}: {prefix}{message}\n"
    stdin = run("-", stdin=record)
    assert stdin.exit_code == 2
    assert stdin.stderr == f"refundctl: error: <stdin>:1: {message}\n"


def test_a_lone_surrogate_is_a_located_error_in_every_format(tmp_path: Path) -> None:
    record = json.dumps(flight()).replace('"ZA-1001"', '"\\ud800"')
    assert_same_error_everywhere(tmp_path, record, "invalid JSON: no low surrogate in string (column 9)")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 990, 2000])
def test_deep_nesting_is_bounded_in_every_format_and_every_jobs(tmp_path: Path, depth: int) -> None:
    # traveler_tags sits one level inside the order: the list adds depth - 1 more.
    nested = "[" * (depth - 1) + "]" * (depth - 1)
    record = json.dumps(flight()).replace('"traveler_tags": []', f'"traveler_tags": {nested}')
    message = f"JSON nested deeper than {MAX_DEPTH} levels (lists and objects within each other)"
    assert_same_error_everywhere(tmp_path, record, message)


def test_nesting_up_to_the_bound_is_read(tmp_path: Path) -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    record = json.dumps(flight()).replace('"traveler_tags": []', f'"traveler_tags": {nested}')
    path = tmp_path / "o.jsonl"
    path.write_text(record + "\n", encoding="utf-8")
    problem = only_problem(records(path))  # read, then refused by the field's own rule
    assert problem.startswith(f"{path}:1: traveler_tags[0]: expected a non-empty string, got [[")


def test_a_huge_integer_in_an_array_is_a_clean_error(tmp_path: Path) -> None:
    record = json.dumps(flight()).replace('"used": false', '"used": ' + "9" * 5000)
    paths = as_every_format(tmp_path, record)
    result = run(str(paths["array"][0]))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"refundctl: error: {paths['array'][0]}:3: [1]: invalid JSON: number is infinity")
    for path, _, _ in paths.values():
        assert run(str(path)).exit_code == 2


def test_a_long_integer_is_a_type_error_not_a_number(tmp_path: Path) -> None:
    record = json.dumps(flight()).replace('"used": false', '"used": ' + "9" * 30)
    path = tmp_path / "o.jsonl"
    path.write_text(record + "\n", encoding="utf-8")
    assert only_problem(records(path)) == f"{path}:1: ancillaries[0].used: expected true or false, got 1e+30"


# ---- the JSON array splitter ----------------------------------------------------------------------


def test_array_elements_with_brackets_commas_and_quotes_inside_strings(tmp_path: Path) -> None:
    tricky = [flight(id=name) for name in ("a,b", "c]d", "e}{f", 'g"h', "i\\", "[j")]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(tricky, indent=2), encoding="utf-8")
    assert [r.order.id for r in records(path) if r.order] == [o["id"] for o in tricky]
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(tricky), encoding="utf-8")  # every element on one line
    assert [(r.line, r.order.id if r.order else None) for r in records(compact)] == [(1, o["id"]) for o in tricky]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[1, {"a": 2}]', [":1: [0]: expected an order object, got a number", ":1: [1].kind: "]),
        ('["x"]', [":1: [0]: expected an order object, got a string"]),
        ("[null]", [":1: [0]: expected an order object, got null"]),
        ("[{}, ]", [":1: [0].kind: ", ":1: [1]: invalid JSON: a value is missing before ]"]),
        ("[{}\n{}]", [":1: [0].kind: ", ":2: [1]: invalid JSON: expected , or ] between elements"]),
        ("[{},,{}]", [":1: [0].kind: ", ":1: [1]: invalid JSON: a value is missing before ,"]),
        ("[{}\n", [":1: [0].kind: ", ":1: [1]: invalid JSON: the array is not closed with ]"]),
        ('[{"a": [1}\n]', [":1: [0]: invalid JSON: ", ":2: [1]: invalid JSON: the array is not closed"]),
        ("[{}] x", [":1: [0].kind: ", ":1: [1]: invalid JSON: extra data after the array's closing ]"]),
        ("[{}] {}", [":1: [0].kind: ", ":1: [1]: invalid JSON: extra data after the array's closing ]"]),
        ('[{"a": "unterminated}]\n', [":1: [0]: invalid JSON: "]),
    ],
)
def test_broken_arrays_are_located_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "a.json"
    path.write_text(text, encoding="utf-8")
    found = [str(p) for r in records(path) for p in r.problems]
    assert len(found) == len(expected), found
    for problem, start in zip(found, expected, strict=True):
        assert problem.startswith(f"{path}{start}"), (problem, start)


def test_an_error_inside_a_pretty_array_element_names_its_line_and_index(tmp_path: Path) -> None:
    orders = [flight(id="A"), flight(id="B"), hotel()]
    orders[1]["fare"]["base"] = "-1"
    path = tmp_path / "a.json"
    path.write_text(json.dumps(orders, indent=2), encoding="utf-8")
    recs = records(path)
    lines = path.read_text().splitlines()
    assert lines[recs[1].line - 1].strip() == "{" and '"B"' in lines[recs[1].line]
    assert only_problem(recs) == f"{path}:{recs[1].line}: [1].fare.base: expected a non-negative amount, got '-1'"


# ---- what the input is ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [("n.txt", "42\n", "a number"), ("s.json", '"hi"\n', "a string"), ("t.json", "true", "true")],
)
def test_a_json_scalar_file_says_what_it_holds(tmp_path: Path, name: str, content: str, what: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert only_problem(records(path)) == f"{path}:1: <record>: expected an order object, got {what}"


def test_binary_input_names_the_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    first = json.dumps(flight()) + "\n"
    path.write_bytes(first.encode() + b'{"id": "ok", \x00\x9f}\n')
    recs = records(path)
    assert recs[0].order is not None
    offset = len(first.encode()) + 14
    assert only_problem(recs) == f"{path}:2: not UTF-8 text at byte {offset}: invalid start byte"


def test_order_id_files_name_the_byte_offset_too(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_bytes(b"ORD-1\nORD-\xe9\n")
    with pytest.raises(Exception, match=r"ids.txt:2: not UTF-8 text at byte 10: invalid continuation byte"):
        read_order_ids([str(path)])


@pytest.mark.parametrize(
    ("name", "content"), [("e.json", ""), ("blank.jsonl", "\n \n"), ("h.csv", CSV_HEADER + "\n"), ("a.json", "[]")]
)
def test_an_input_without_orders_is_a_warning(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = run(str(path), "-o", "jsonl")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr.startswith(f"refundctl: warning: {path}: no orders in this input\n")


def test_empty_stdin_is_a_warning() -> None:
    result = run("-", stdin="")
    assert result.exit_code == 0
    assert result.stderr.startswith("refundctl: warning: <stdin>: no orders in this input\n")


def test_inputs_with_orders_get_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(flight()) + "\n", encoding="utf-8")
    assert "warning" not in run(str(path)).stderr


# ---- CSV cells, read strictly ----------------------------------------------------------------------


def csv_file(tmp_path: Path, *rows: dict[str, str]) -> Path:
    path = tmp_path / "o.csv"
    path.write_text(csv_text(*rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(("cell", "accepted"), [("true", True), ("TRUE", True), ("False", False), ("false", False)])
def test_csv_booleans_as_documented(tmp_path: Path, cell: str, accepted: bool) -> None:
    (record,) = records(csv_file(tmp_path, {**FLIGHT_ROW, "change_accepted": cell}))
    assert isinstance(record.order, FlightOrder) and record.order.change_accepted is accepted


@pytest.mark.parametrize("cell", ["yes", "1", "Y", "maybe", "0", "no"])
def test_csv_other_booleans_are_located_errors(tmp_path: Path, cell: str) -> None:
    path = csv_file(tmp_path, {**FLIGHT_ROW, "change_accepted": cell})
    assert only_problem(records(path)) == f"{path}:2: change_accepted: expected true or false, got '{cell}'"


@pytest.mark.parametrize(
    ("cell", "used"), [("bag=100.00", False), ("bag=100.00:used", True), ("bag=100.00:USED", True)]
)
def test_csv_ancillaries_as_documented(tmp_path: Path, cell: str, used: bool) -> None:
    (record,) = records(csv_file(tmp_path, {**FLIGHT_ROW, "ancillaries": cell}))
    assert isinstance(record.order, FlightOrder) and record.order.ancillaries[0].used is used


@pytest.mark.parametrize("cell", ["bag=100.00:unused", "bag=100.00:", "bag=100.00:used:x", "=100.00", "bag="])
def test_csv_other_ancillaries_are_located_errors(tmp_path: Path, cell: str) -> None:
    path = csv_file(tmp_path, {**FLIGHT_ROW, "ancillaries": cell})
    assert only_problem(records(path)).startswith(f"{path}:2: ancillaries: expected CODE=AMOUNT")


def test_csv_cells_beyond_the_header_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text(csv_text(FLIGHT_ROW).rstrip("\n") + ",extra,more\n", encoding="utf-8")
    assert only_problem(records(path)) == f"{path}:2: 2 cell(s) beyond the header's {CSV_HEADER.count(',') + 1} columns"


def test_csv_repeated_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("id,kind,id\nA,flight,B\n", encoding="utf-8")
    assert only_problem(records(path)).startswith(f"{path}:1: column(s) id given twice")


@pytest.mark.parametrize(("column", "cell"), [("nights", "2.0"), ("rooms", "one"), ("nights", "9" * 30)])
def test_csv_whole_numbers_are_strict(tmp_path: Path, column: str, cell: str) -> None:
    path = csv_file(tmp_path, {**HOTEL_ROW, column: cell})
    assert only_problem(records(path)).startswith(f"{path}:2: {column}: expected a whole number, got ")


def test_csv_a_filled_cell_the_kind_does_not_use_is_an_error(tmp_path: Path) -> None:
    path = csv_file(tmp_path, {**HOTEL_ROW, "carrier": "ZA"})
    assert only_problem(records(path)) == f"{path}:2: carrier: not used by hotel orders: leave it empty"


def test_csv_reads_every_field_of_a_single_segment_flight(tmp_path: Path) -> None:
    row = {
        **FLIGHT_ROW, "segment_status": "changed", "changed_departs_at": "2026-12-01T12:00:00+08:00",
        "changed_arrives_at": "2026-12-01T14:15:00+08:00", "changed_from": "SHA", "changed_to": "PKX",
        "added_connections": "1", "extraordinary_circumstances": "true",
        "cancellation_notified_at": "2026-11-20T10:00:00+08:00", "evidence": "wx-2026=DOC-1;strike=DOC-2",
    }  # fmt: skip
    (record,) = records(csv_file(tmp_path, row))
    assert record.problems == []
    order = record.order
    assert isinstance(order, FlightOrder)
    segment = order.segments[0]
    assert (segment.changed_from, segment.changed_to, segment.added_connections) == ("SHA", "PKX", 1)
    assert segment.extraordinary_circumstances is True
    assert order.cancellation_notified_at is not None
    assert [(e.waiver, e.reference) for e in order.common.evidence] == [("wx-2026", "DOC-1"), ("strike", "DOC-2")]


def test_csv_hotel_still_reads(tmp_path: Path) -> None:
    (record,) = records(csv_file(tmp_path, HOTEL_ROW))
    assert isinstance(record.order, HotelOrder) and record.problems == []


def test_csv_from_stdin_names_columns_too() -> None:
    result = run("-", stdin=csv_text({**FLIGHT_ROW, "change_accepted": "yes"}))
    assert result.exit_code == 2
    assert result.stderr == "refundctl: error: <stdin>:2: change_accepted: expected true or false, got 'yes'\n"


# ---- CSV output: no formulas for spreadsheets --------------------------------------------------------


@pytest.mark.parametrize("order_id", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx"])
def test_csv_output_neutralises_formula_cells(tmp_path: Path, order_id: str) -> None:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(flight(id=order_id)) + "\n", encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(run(str(path), "-o", "csv").stdout)))
    assert rows[0]["order_id"] == "'" + order_id
    assert rows[0]["refund"] == "780.00"  # numbers stay numbers
    assert json.loads(run(str(path), "-o", "jsonl").stdout)["order_id"] == order_id  # JSON stays exact


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("\rx", '"\'\rx"'),
        ("a\rb", '"a\rb"'),
        ("=A1", "'=A1"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1-1", "'-1-1"),
        ("a=b", "a=b"),
    ],
)
def test_csv_cells_that_start_like_a_formula(cell: str, written: str) -> None:
    assert encode({"a": cell}, "csv", ["a"]) == written + "\n"


@pytest.mark.parametrize("form", ["csv", "array", "jsonl"])
def test_a_bom_and_crlf_line_ends_are_read_in_every_form(tmp_path: Path, form: str) -> None:
    text = {
        "csv": csv_text(FLIGHT_ROW, HOTEL_ROW),
        "array": json.dumps([flight(), hotel()], indent=2),
        "jsonl": json.dumps(flight()) + "\n" + json.dumps(hotel()) + "\n",
    }[form]
    path = tmp_path / f"o.{'csv' if form == 'csv' else 'jsonl' if form == 'jsonl' else 'json'}"
    path.write_bytes(("\ufeff" + text).replace("\n", "\r\n").encode())
    assert [(r.order.id if r.order else None, r.problems) for r in records(path)] == [("ZA-1001", []), ("HH-2001", [])]
