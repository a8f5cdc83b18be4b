"""The one renderer every command uses: each format, streaming, and pre-encoded rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from refundctl.output import encode, render

ROWS: list[dict[str, Any]] = [
    {"id": "A-1", "amount": "12.50", "rules": [{"rule": "r", "amount": "1.00"}], "note": 'a "quoted", comma'},
    {"id": "B-2", "amount": "0.00", "rules": [], "note": None, "extra": "é\n"},
]
COLUMNS = ("id", "amount", "note")


def rendered(fmt: str, rows: list[Any] = ROWS) -> tuple[str, int]:
    out = io.StringIO()
    count = render(rows, fmt, out, columns=COLUMNS)
    return out.getvalue(), count


def test_json_is_what_json_dumps_would_write_for_the_whole_list() -> None:
    text, count = rendered("json")
    assert (text, count) == (json.dumps(ROWS, indent=2, ensure_ascii=False) + "\n", 2)
    assert rendered("json", [])[0] == "[]\n"


def test_jsonl_is_one_compact_object_per_line_with_every_field() -> None:
    text, count = rendered("jsonl")
    assert count == 2
    assert [json.loads(line) for line in text.splitlines()] == ROWS
    assert text.splitlines()[1] == '{"id":"B-2","amount":"0.00","rules":[],"note":null,"extra":"é\\n"}'


def test_csv_has_a_header_quotes_cells_and_leaves_none_empty() -> None:
    text, _ = rendered("csv")
    assert list(csv.reader(io.StringIO(text))) == [
        ["id", "amount", "note"],
        ["A-1", "12.50", 'a "quoted", comma'],
        ["B-2", "0.00", ""],
    ]


def test_table_shows_the_columns_and_keeps_amounts_as_written() -> None:
    text, count = rendered("table")
    assert count == 2
    header, rule, first, second = text.splitlines()
    assert header.split() == ["id", "amount", "note"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split()[:2] == ["A-1", "12.50"]
    assert second.split() == ["B-2", "0.00"]  # "0.00" is not turned into 0 by number parsing


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_pre_encoded_rows_come_out_as_if_rendered_here(fmt: str) -> None:
    encoded = [encode(row, fmt, COLUMNS) for row in ROWS]
    assert rendered(fmt, encoded) == rendered(fmt)
