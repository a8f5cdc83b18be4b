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


def test_booleans_are_lowercase_in_csv_and_table_as_in_json() -> None:
    rows = [{"id": "A", "amount": "1.00", "note": True}, {"id": "B", "amount": "2.00", "note": False}]
    csv_text, _ = rendered("csv", rows)
    assert csv_text.splitlines()[1:] == ["A,1.00,true", "B,2.00,false"]
    table, _ = rendered("table", rows)
    assert "True" not in table
    assert table.splitlines()[2].split() == ["A", "1.00", "true"]


def test_table_escapes_control_characters_but_keeps_other_text() -> None:
    rows = [{"id": "\x1b[31mRED\x1b[0m", "amount": "1.00", "note": "two\nlines\tand\x7f"}, {"id": "订单-1"}]
    table, count = rendered("table", rows)
    assert count == 2
    assert "\x1b" not in table and "\x7f" not in table and "\t" not in table
    assert "\\x1b[31mRED\\x1b[0m" in table
    assert "two\\nlines\\tand\\x7f" in table
    assert "订单-1" in table
    assert len(table.splitlines()) == 4  # header, rule, two rows: the newline did not break a row


def test_csv_and_json_keep_control_characters_exactly() -> None:
    rows = [{"id": "a\nb", "amount": "1.00", "note": None}]
    assert json.loads(rendered("json", rows)[0])[0]["id"] == "a\nb"
    assert next(csv.reader(io.StringIO(rendered("csv", rows)[0].split("\n", 1)[1])))[0] == "a\nb"


class CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_many_rows_encoded_and_joined_are_written_as_they_are_in_one_write(fmt: str) -> None:
    rows = [dict(ROWS[0], id=f"A-{n}") for n in range(7)]
    one_by_one, joined = CountingOut(), CountingOut()
    assert render(rows, fmt, one_by_one, columns=COLUMNS) == 7
    render(["".join(encode(row, fmt, COLUMNS) for row in rows)], fmt, joined, columns=COLUMNS)
    assert joined.getvalue() == one_by_one.getvalue()
    header = 1 if fmt == "csv" else 0
    assert (one_by_one.writes, joined.writes) == (header + 7, header + 1)


def test_lines_decided_before_an_error_are_still_written() -> None:
    def rows() -> Any:
        yield ROWS[0]
        raise KeyboardInterrupt

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        render(rows(), "jsonl", out, columns=COLUMNS)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [ROWS[0]]
