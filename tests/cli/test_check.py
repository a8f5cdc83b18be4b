"""``refundctl check`` through click: stdout and stderr apart, exit codes, error paths."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from refundctl.check import CSV_COLUMNS, TABLE_COLUMNS
from refundctl.cli.main import cli
from tests.support.builders import decide_dict, flight, hotel, with_fare, write_json, write_jsonl

AS_OF = "2026-11-25T08:00:00+08:00"
SUMMARY = "refundctl: 2 order(s) decided: 1 full, 1 partial; refundable now 1840.00 CNY\n"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["check", *args], input=stdin)


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "orders.jsonl", [flight(), hotel()])


@pytest.fixture
def with_bad(tmp_path: Path) -> Path:
    bad = with_fare(flight(id="BAD"), base="12.345")
    return write_jsonl(tmp_path / "mixed.jsonl", [flight(), bad, hotel()])


BAD_PROBLEM = "mixed.jsonl:2: fare.base: '12.345' has more decimals than CNY allows (2)"


def expected_rows() -> list[dict[str, object]]:
    return [decide_dict(flight(), AS_OF).to_dict(), decide_dict(hotel(), AS_OF).to_dict()]


# ---- formats ---------------------------------------------------------------------------------------


def test_table(orders: Path) -> None:
    result = run(str(orders), "--as-of", AS_OF)
    assert result.exit_code == 0
    assert result.stderr == SUMMARY
    lines = result.stdout.splitlines()
    assert lines[0].split() == list(TABLE_COLUMNS)
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == [
        "ZA-1001", "flight", "partial", "CNY", "1200.00", "780.00", "300.00", "120.00",
        "80.00", "after", "2026-11-30T22:00:00Z", "zephyr-air/standard/168h-to-2h",
    ]  # fmt: skip
    assert lines[3].split() == [
        "HH-2001", "hotel", "full", "CNY", "1060.00", "1060.00", "0.00", "0.00",
        "530.00", "after", "2026-12-09T10:00:00Z", "harbor-hotel/flex/free-until-1800-day-before",
    ]  # fmt: skip
    assert len(lines) == 4


def test_table_shows_the_review_reason(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [flight(supplier="XX")])
    result = run(str(path), "--as-of", AS_OF)
    assert result.exit_code == 0
    assert "manual_review" in result.stdout
    assert result.stdout.splitlines()[2].endswith("no airline policy covers carrier XX")


def test_json(orders: Path) -> None:
    result = run(str(orders), "--as-of", AS_OF, "-o", "json")
    assert result.exit_code == 0
    assert result.stderr == SUMMARY
    assert json.loads(result.stdout) == expected_rows()


def test_json_with_no_orders_is_an_empty_array(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    path.write_text("[]", encoding="utf-8")
    result = run(str(path), "--as-of", AS_OF, "-o", "json")
    assert (result.exit_code, result.stdout) == (0, "[]\n")
    warning = f"refundctl: warning: {path}: no orders in this input\n"
    assert result.stderr == warning + "refundctl: 0 order(s) decided: none; refundable now 0\n"


def test_jsonl(orders: Path) -> None:
    result = run(str(orders), "--as-of", AS_OF, "-o", "jsonl")
    assert result.exit_code == 0
    assert result.stderr == SUMMARY
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected_rows()


def test_csv(orders: Path) -> None:
    result = run(str(orders), "--as-of", AS_OF, "-o", "csv")
    assert result.exit_code == 0
    assert result.stderr == SUMMARY
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert reader.fieldnames == list(CSV_COLUMNS)
    rows = list(reader)
    assert [(r["order_id"], r["outcome"], r["refund"], r["next_change_at"], r["next_change_refund"]) for r in rows] == [
        ("ZA-1001", "partial", "780.00", "2026-11-30T22:00:00Z", "80.00"),
        ("HH-2001", "full", "1060.00", "2026-12-09T10:00:00Z", "530.00"),
    ]
    assert rows[0]["funded_by_supplier"] == "780.00"
    assert rows[0]["reason"] == ""
    assert json.loads(rows[0]["rules"]) == expected_rows()[0]["rules"]


def test_stdin(orders: Path) -> None:
    result = run("-", "--as-of", AS_OF, "-o", "jsonl", stdin=orders.read_text())
    assert result.exit_code == 0
    assert [json.loads(line)["order_id"] for line in result.stdout.splitlines()] == ["ZA-1001", "HH-2001"]


def test_several_inputs_in_several_formats(tmp_path: Path) -> None:
    a = write_json(tmp_path / "a.json", flight())
    b = write_json(tmp_path / "b.json", [hotel()])
    result = run(str(a), str(b), "--as-of", AS_OF, "-o", "jsonl")
    assert result.exit_code == 0
    assert [json.loads(line)["order_id"] for line in result.stdout.splitlines()] == ["ZA-1001", "HH-2001"]


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv"])
def test_same_input_same_bytes(orders: Path, fmt: str) -> None:
    first = run(str(orders), "--as-of", AS_OF, "-o", fmt)
    second = run(str(orders), "--as-of", AS_OF, "-o", fmt)
    assert first.exit_code == second.exit_code == 0
    assert first.stdout_bytes == second.stdout_bytes
    assert first.stderr_bytes == second.stderr_bytes
    assert first.stdout_bytes  # not trivially equal


def test_as_of_changes_the_decision(orders: Path) -> None:
    early = run(str(orders), "--as-of", "2026-11-02T08:00:00+08:00", "-o", "jsonl")
    late = run(str(orders), "--as-of", "2026-11-02T00:00:00Z", "-o", "jsonl")
    assert early.stdout == late.stdout  # the same instant
    assert json.loads(early.stdout.splitlines()[0])["refund"] == "980.00"


# ---- bad records ---------------------------------------------------------------------------------


def test_bad_record_stops_the_run_before_any_output(with_bad: Path) -> None:
    result = run(str(with_bad), "--as-of", AS_OF, "-o", "jsonl")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"refundctl: error: {with_bad.parent}/{BAD_PROBLEM}\n"
    assert "Traceback" not in result.stderr
    assert not (with_bad.parent / "mixed.errors.jsonl").exists()


def test_every_bad_record_is_listed(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [flight(kind="bus"), hotel(currency="ABC")])
    result = run(str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"refundctl: error: {path}:1: kind: expected 'flight' or 'hotel', got 'bus'",
        f"refundctl: error: {path}:2: currency: unknown currency 'ABC' (expected an ISO 4217 code such as CNY, "
        "USD, JPY)",
    ]


def test_keep_going(with_bad: Path, tmp_path: Path) -> None:
    report = tmp_path / "errors.jsonl"
    result = run(str(with_bad), "--as-of", AS_OF, "-o", "jsonl", "--keep-going", "--error-report", str(report))
    assert result.exit_code == 2
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected_rows()
    assert result.stderr.splitlines() == [
        f"refundctl: bad record: {with_bad.parent}/{BAD_PROBLEM}",
        SUMMARY.strip(),
        f"refundctl: 1 bad record(s) with 1 problem(s); report written to {report}",
    ]
    assert [json.loads(line) for line in report.read_text().splitlines()] == [
        {
            "file": str(with_bad),
            "line": 2,
            "problems": [{"field": "fare.base", "message": "'12.345' has more decimals than CNY allows (2)"}],
        }
    ]


def test_keep_going_report_defaults_beside_the_first_input(with_bad: Path) -> None:
    result = run(str(with_bad), "--as-of", AS_OF, "-o", "csv", "--keep-going")
    assert result.exit_code == 2
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 2
    report = with_bad.parent / "mixed.errors.jsonl"
    assert f"report written to {report}" in result.stderr
    assert json.loads(report.read_text())["line"] == 2


def test_keep_going_json_stays_valid_json(with_bad: Path, tmp_path: Path) -> None:
    result = run(str(with_bad), "--as-of", AS_OF, "-o", "json", "--keep-going", "--error-report", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert [row["order_id"] for row in json.loads(result.stdout)] == ["ZA-1001", "HH-2001"]


def test_keep_going_with_only_good_records_exits_0(orders: Path, tmp_path: Path) -> None:
    report = tmp_path / "errors.jsonl"
    result = run(str(orders), "--as-of", AS_OF, "--keep-going", "--error-report", str(report))
    assert result.exit_code == 0
    assert result.stderr == SUMMARY
    assert not report.exists()


def test_invalid_json_in_an_array_is_located(tmp_path: Path) -> None:
    path = tmp_path / "arr.json"
    path.write_text("[\n" + json.dumps(flight()) + ",\n{oops}\n]\n", encoding="utf-8")
    result = run(str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == ""
    message = "[1]: invalid JSON: unexpected character, expected a string key (column 2)"
    assert result.stderr == f"refundctl: error: {path}:3: {message}\n"


def test_bad_csv_column(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("id,kind,colour\nX,flight,red\n", encoding="utf-8")
    result = run(str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == ""
    message = "unknown column(s) 'colour'; expected columns among: id,"
    assert result.stderr.startswith(f"refundctl: error: {path}:1: {message}")


# ---- bad arguments and environment ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-25T08:00:00", "'2026-11-25T08:00:00' has no UTC offset"),
        ("tomorrow", "expected an ISO 8601 time such as 2026-11-25T09:00:00+08:00, got 'tomorrow'"),
    ],
)
def test_bad_as_of_is_a_usage_error(orders: Path, value: str, message: str) -> None:
    result = run(str(orders), "--as-of", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Usage: " in result.stderr
    assert "--as-of" in result.stderr
    assert message in result.stderr


def test_unknown_output_format(orders: Path) -> None:
    result = run(str(orders), "--as-of", AS_OF, "-o", "xml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Usage: " in result.stderr


def test_no_orders_argument() -> None:
    result = run("--as-of", AS_OF)
    assert result.exit_code == 2
    assert "Missing argument 'ORDERS...'" in result.stderr


def test_nonexistent_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = run(str(missing), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"refundctl: error: {missing}: cannot read orders: No such file or directory\n"


def test_broken_policy_directory(orders: Path, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "bad.toml").write_text('[policy]\nid = "x"\nkind = "airline"\ncurrency = "CNY"\ncarriers = 7\n')
    result = run(str(orders), "--as-of", AS_OF, "--policies", str(policies))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert f"refundctl: error: {policies / 'bad.toml'}:5: policy.carriers: expected a list of codes, got 7" in lines
    assert f"refundctl: error: {policies / 'bad.toml'}: fares: expected at least one [[fares]] table" in lines
    assert all(line.startswith("refundctl: error: ") for line in lines)


def test_missing_policy_directory(orders: Path, tmp_path: Path) -> None:
    result = run(str(orders), "--as-of", AS_OF, "--policies", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"refundctl: error: {tmp_path / 'none'}: policy directory does not exist\n"


def test_other_policy_directory_is_used(orders: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(str(orders), "--as-of", AS_OF, "--policies", str(empty), "-o", "jsonl")
    assert result.exit_code == 0
    assert [json.loads(line)["outcome"] for line in result.stdout.splitlines()] == ["manual_review"] * 2


def test_far_away_as_of_is_a_usage_error(orders: Path) -> None:
    result = run(str(orders), "--as-of", "0001-01-01T00:00:00+08:00")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "expected a year from 1900 to 2999" in result.stderr


def test_far_away_departure_is_a_located_error(tmp_path: Path) -> None:
    order = flight()
    order["segments"][0].update(departs_at="0001-01-01T00:00:00+08:00", arrives_at="0001-01-01T02:00:00+08:00")
    path = write_jsonl(tmp_path / "o.jsonl", [order])
    result = run(str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        f"refundctl: error: {path}:1: segments[0].departs_at: expected a year from 1900 to 2999, "
        "got '0001-01-01T00:00:00+08:00'"
    )


def test_unwritable_error_report_is_refused_before_any_work(with_bad: Path, tmp_path: Path) -> None:
    report = tmp_path / "missing-dir" / "errors.jsonl"
    result = run(str(with_bad), "--as-of", AS_OF, "-o", "jsonl", "--keep-going", "--error-report", str(report))
    assert result.exit_code == 2
    assert result.stdout == ""  # refused before deciding anything
    assert result.stderr == (
        f"refundctl: error: {report}: cannot write the error report here: its folder {report.parent} does not exist\n"
    )
    assert not isinstance(result.exception, FileNotFoundError)


def test_error_report_without_keep_going_is_a_usage_error(with_bad: Path, tmp_path: Path) -> None:
    result = run(str(with_bad), "--as-of", AS_OF, "--error-report", str(tmp_path / "r.jsonl"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--error-report goes with --keep-going" in result.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_the_report_holds_one_entry_per_bad_record_with_all_its_problems(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "o.jsonl", [flight(kind="bus"), flight(), hotel(currency="ABC", channel="")])
    report = tmp_path / "r.jsonl"
    result = run(str(path), "--as-of", AS_OF, "-o", "jsonl", "--keep-going", "--error-report", str(report))
    assert result.exit_code == 2
    entries = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(e["line"], [p["field"] for p in e["problems"]]) for e in entries] == [
        (1, ["kind"]),
        (3, ["currency", "channel"]),
    ]
    assert "refundctl: 2 bad record(s) with 3 problem(s); report written to" in result.stderr


def test_stdin_twice(orders: Path) -> None:
    result = run("-", "-", "--as-of", AS_OF, "-o", "jsonl", stdin=orders.read_text())
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2


def test_summary_leaves_orders_awaiting_evidence_out_of_the_refundable_total(tmp_path: Path) -> None:
    frontline = flight(
        id="FL-1",
        booked_at="2020-01-10T10:00:00+08:00",
        traveler_tags=["medical-worker"],
        segments=[{**flight()["segments"][0], "departs_at": "2020-02-01T08:00:00+08:00",
                   "arrives_at": "2020-02-01T10:15:00+08:00"}],
    )  # fmt: skip
    path = write_jsonl(tmp_path / "orders.jsonl", [frontline])
    result = CliRunner().invoke(cli, ["check", str(path), "--as-of", "2020-01-20T00:00:00Z", "-o", "jsonl"])
    assert result.exit_code == 0
    assert '"outcome":"needs_evidence"' in result.stdout
    assert result.stderr == "refundctl: 1 order(s) decided: 1 needs_evidence; refundable now 0\n"
