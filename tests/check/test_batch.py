"""`check --jobs`: worker processes give the same bytes, order and errors as one process."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from refundctl.check import run_check
from refundctl.cli.main import cli
from refundctl.orders.raw import BLOCK_BYTES
from tests.support.builders import flight, hotel, write_jsonl

AS_OF = "2026-11-25T12:00:00Z"
AS_OF_TIME = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _orders(count: int) -> list[dict[str, object]]:
    # More records than one worker chunk, alternating kinds, so order across chunks matters.
    return [flight(id=f"F-{i}") if i % 2 else hotel(id=f"H-{i}") for i in range(600)][:count]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json", "table"])
def test_jobs_do_not_change_the_output(tmp_path: Path, fmt: str) -> None:
    path = write_jsonl(tmp_path / "orders.jsonl", _orders(600))
    runs = [
        CliRunner().invoke(cli, ["check", str(path), "--as-of", AS_OF, "-o", fmt, "--jobs", str(jobs)])
        for jobs in (1, 2)
    ]
    assert [r.exit_code for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.count("F-599") == 1


def test_duplicates_are_found_across_worker_chunks(tmp_path: Path) -> None:
    orders = _orders(600)
    orders.append(flight(id="F-1"))  # the first F-1 sits in the first chunk, this one in the last
    path = write_jsonl(tmp_path / "orders.jsonl", orders)
    result = CliRunner().invoke(cli, ["check", str(path), "--as-of", AS_OF, "-o", "jsonl", "--jobs", "2"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}:601: id: duplicate order id 'F-1' (first at {path}:2)" in result.stderr


def test_bad_records_keep_their_lines_with_workers(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    lines = [line for line in write_jsonl(tmp_path / "good.jsonl", _orders(300)).read_text().splitlines()]
    lines[299] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        cli, ["check", str(path), "--as-of", AS_OF, "-o", "jsonl", "--jobs", "2", "--keep-going"]
    )
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 299
    assert f"{path}:300: invalid JSON" in result.stderr


def _check(paths: list[Path], jobs: int, *more: str) -> Any:
    args = ["check", *map(str, paths), "--as-of", AS_OF, "-o", "jsonl", "--jobs", str(jobs), *more]
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("jobs", [1, 2])
def test_duplicates_within_and_across_chunks_and_files_are_cut_out_with_their_tally(tmp_path: Path, jobs: int) -> None:
    orders = _orders(600)
    unique = write_jsonl(tmp_path / "unique.jsonl", orders)
    twice = [*orders[:3], flight(id="H-0"), *orders[3:]]  # line 4 repeats line 1, in the same chunk
    # Line 602 repeats line 3 (the first chunk) as a hotel paid in USD: its refund must not count.
    twice += [hotel(id="F-1"), hotel(id="F-3", currency="USD")]
    path = write_jsonl(tmp_path / "orders.jsonl", twice)
    other = write_jsonl(tmp_path / "other.jsonl", [flight(id="H-2")])
    report = tmp_path / "errors.jsonl"
    result = _check([path, other], jobs, "--keep-going", "--error-report", str(report))
    expected = _check([unique], 1)
    assert result.exit_code == 2
    assert result.stdout == expected.stdout  # the first of each id decided, in input order, the rest cut out
    assert result.stderr.splitlines() == [
        f"refundctl: bad record: {path}:4: id: duplicate order id 'H-0' (first at {path}:1)",
        f"refundctl: bad record: {path}:602: id: duplicate order id 'F-1' (first at {path}:2)",
        f"refundctl: bad record: {path}:603: id: duplicate order id 'F-3' (first at {path}:5)",
        f"refundctl: bad record: {other}:1: id: duplicate order id 'H-2' (first at {path}:3)",
        expected.stderr.rstrip("\n"),  # the same summary: counts and totals without the duplicates
        f"refundctl: 4 bad record(s) with 4 problem(s); report written to {report}",
    ]
    assert "USD" not in result.stderr


def test_duplicates_and_bad_records_keep_input_order_within_a_chunk(tmp_path: Path) -> None:
    lines = [json.dumps(order) for order in _orders(10)]
    lines[2] = "{not json"
    lines[5] = json.dumps(flight(id="H-0"))
    lines[6] = json.dumps({"id": "X-1"})
    lines[8] = json.dumps(hotel(id="F-1"))
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(lines) + "\n")
    runs = [_check([path], jobs, "--keep-going", "--error-report", str(tmp_path / "r.jsonl")) for jobs in (1, 2)]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stderr == runs[1].stderr
    lines = [
        int(line.split(": ")[2].rsplit(":", 1)[1]) for line in runs[0].stderr.splitlines() if "bad record:" in line
    ]
    assert lines == sorted(lines)  # in input order, though workers found the bad ones and this process the duplicates
    assert set(lines) == {3, 6, 7, 9}
    assert f"{path}:6: id: duplicate order id 'H-0' (first at {path}:1)" in runs[0].stderr


def _orders_and_a_bad_one(tmp_path: Path) -> Path:
    path = write_jsonl(tmp_path / "orders.jsonl", _orders(600))
    path.write_text(path.read_text() + "{not json\n")
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_is_told_once_per_chunk(tmp_path: Path, jobs: int) -> None:
    told: list[tuple[int, int]] = []
    path = _orders_and_a_bad_one(tmp_path)
    tally = run_check([str(path)], None, AS_OF_TIME, "jsonl", io.StringIO(), keep_going=True, jobs=jobs,
                      on_records=lambda n, bad: told.append((n, bad)))  # fmt: skip
    assert (sum(n for n, _ in told), sum(bad for _, bad in told)) == (601, 1)
    # The first record (it tells the format), then blocks of lines: a few calls, not one per record.
    assert len(told) <= 2 + path.stat().st_size // BLOCK_BYTES
    assert sum(tally.counts.values()) == 600


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_closed_output_stops_the_run_at_the_next_chunk(tmp_path: Path, jobs: int) -> None:
    out = io.StringIO()
    asked: list[int] = []

    def stop() -> bool:  # the reader goes away once the first chunk's rows are written
        asked.append(out.getvalue().count("\n"))
        return len(asked) > 1

    path = str(_orders_and_a_bad_one(tmp_path))
    tally = run_check([path], None, AS_OF_TIME, "jsonl", out, keep_going=True, jobs=jobs, stop=stop)
    assert tally.stopped
    assert asked[0] == 0
    assert 0 < asked[1] == out.getvalue().count("\n") == sum(tally.counts.values()) < 600  # one chunk's rows
    assert tally.problems == []  # the bad record, in the last chunk, is not reported


def test_an_input_with_no_orders_is_told_in_its_place_whatever_the_jobs(tmp_path: Path) -> None:
    first = _orders_and_a_bad_one(tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    last = write_jsonl(tmp_path / "last.jsonl", [flight(id="L-1")])
    runs = [_check([first, empty, last, empty], jobs, "--keep-going") for jobs in (1, 2)]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stderr == runs[1].stderr  # the workers read ahead, the warnings wait for their turn
    lines = runs[0].stderr.splitlines()
    assert lines[0].startswith(f"refundctl: bad record: {first}:601: ")
    assert lines[1:3] == [f"refundctl: warning: {empty}: no orders in this input"] * 2
    assert lines[3].startswith("refundctl: 601 order(s) decided")
