"""The one place that turns rows into output formats, shared by every command.

``-o table`` is for people and may change; ``json``, ``jsonl`` and ``csv`` are the
stable contract. Rows are plain mappings whose values are JSON-ready (amounts are
already strings), or for ``jsonl`` and ``csv`` text already encoded by :func:`encode`
(one row or many). ``jsonl`` and ``csv`` stream row by row; ``json`` streams one array;
``table`` collects the rows, since column widths need them all. ``csv`` cells that a
spreadsheet would run as formulas are neutralised; ``json`` and ``jsonl`` stay exact.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import orjson
from tabulate import tabulate

FORMATS = ("table", "json", "jsonl", "csv")


def dumps(value: Any) -> str:
    """Compact, deterministic JSON (key order is the row's own; UTF-8, nothing escaped needlessly)."""
    return orjson.dumps(value).decode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # as JSON spells them, in every format
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return dumps(value)
    return str(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _table_cell(value: Any) -> str:
    """A cell for a terminal: control characters (an ESC sequence in an order id, a newline
    that would break the table) are shown escaped, never acted on."""
    return _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), _cell(value))


# OWASP's CSV injection advice: a spreadsheet runs a cell beginning with one of these as a
# formula, so such a cell is written with a leading apostrophe (shown as text, not run).
# Plain numbers (-12.50) are left as they are: a spreadsheet reads them as numbers, nothing runs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def _csv_cell(value: Any) -> str:
    text = _cell(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def encode(row: Mapping[str, Any], fmt: str, columns: Sequence[str]) -> str:
    """One row as its ``jsonl`` or ``csv`` line, so workers can encode rows in parallel."""
    if fmt == "jsonl":  # dumps' JSON, its newline added by orjson (no copy of the line to add it)
        return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE).decode()
    buffer = io.StringIO()
    cells = [_csv_cell(row.get(c)) for c in columns]
    # The csv module quotes a cell holding "\n" but not one holding a lone "\r", which readers
    # would take for the end of the row: such a row is written with every cell quoted.
    if any("\r" in cell for cell in cells):
        csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL).writerow(cells)
    else:
        csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def render(
    rows: Iterable[Mapping[str, Any] | str],
    fmt: str,
    out: TextIO,
    *,
    columns: Sequence[str],
) -> int:
    """Write ``rows`` to ``out`` as ``fmt``; returns the number of rows (or encoded texts) written.

    ``columns`` picks and orders the fields of ``table`` and ``csv``; ``json`` and
    ``jsonl`` carry every field of each row. ``jsonl`` and ``csv`` rows are written as
    they come (rows from an API come slowly); a bulk run whose rows come fast passes
    them already :func:`encode`-d and joined, many rows in one text and one write.
    """
    count = 0
    if fmt in ("jsonl", "csv"):
        if fmt == "csv":
            out.write(encode(dict(zip(columns, columns, strict=True)), fmt, columns))
        for row in rows:
            out.write(row if isinstance(row, str) else encode(row, fmt, columns))
            count += 1
    elif fmt == "json":
        out.write("[")
        for row in rows:
            out.write(",\n" if count else "\n")
            # Indented as json.dumps(all_rows, indent=2) would, without holding every row.
            out.write("  " + json.dumps(row, ensure_ascii=False, indent=2).replace("\n", "\n  "))
            count += 1
        out.write("\n]\n" if count else "]\n")
    elif fmt == "table":
        table = [[_table_cell(row.get(c)) for c in columns] for row in rows if not isinstance(row, str)]
        count = len(table)
        if table:
            out.write(tabulate(table, headers=list(columns), tablefmt="simple", disable_numparse=True))
            out.write("\n")
    else:  # pragma: no cover - click.Choice guards this
        raise ValueError(f"unknown output format {fmt!r}")
    return count
