"""`check --jobs`: worker processes give the same bytes, order and errors as one process."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from tests.support.builders import flight, hotel, write_jsonl

AS_OF = "2026-11-25T12:00:00Z"


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
