"""Order files as the readers see them: the example orders as CSV rows, and reading records back.

``FLIGHT_ROW`` and ``HOTEL_ROW`` are the issue's two example orders in the CSV layout
(``csv_text`` writes them under the header); ``records`` reads files as ``check`` does,
and ``only_problem`` is the one located problem they produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from refundctl.orders import Record, iter_records
from refundctl.orders.csv_format import CSV_COLUMNS

CSV_HEADER = ",".join(CSV_COLUMNS)
FLIGHT_ROW = {
    "id": "ZA-1001", "kind": "flight", "supplier": "ZA", "currency": "CNY",
    "booked_at": "2026-11-01T10:00:00+08:00", "channel": "online", "payment_method": "card",
    "fare_class": "M", "base": "1000.00", "taxes": "CN=50.00;YQ=30.00", "fees": "service=20.00",
    "ancillaries": "bag=100.00", "from": "PVG", "to": "PEK", "carrier": "ZA", "flight": "ZA123",
    "departs_at": "2026-12-01T08:00:00+08:00", "arrives_at": "2026-12-01T10:15:00+08:00",
    "segment_status": "scheduled", "change_accepted": "false",
}  # fmt: skip
HOTEL_ROW = {
    "id": "HH-2001", "kind": "hotel", "supplier": "HARBOR-SHA", "currency": "CNY",
    "booked_at": "2026-11-01T10:00:00+08:00", "channel": "app", "payment_method": "card",
    "taxes": "VAT=60.00", "check_in": "2026-12-10", "nights": "2", "rooms": "1", "timezone": "Asia/Shanghai",
    "rate_plan": "flex", "nightly": "500.00;500.00", "hotel_status": "confirmed",
}  # fmt: skip


def csv_text(*rows: dict[str, str]) -> str:
    lines = [CSV_HEADER]
    lines += [",".join(row.get(column, "") for column in CSV_COLUMNS) for row in rows]
    return "\n".join(lines) + "\n"


def records(*paths: Path | str) -> list[Record]:
    return list(iter_records([str(p) for p in paths]))


def problems_of(recs: list[Record]) -> list[str]:
    return [str(p) for r in recs for p in r.problems]


def only_problem(recs: list[Record]) -> str:
    found = problems_of(recs)
    assert len(found) == 1, found
    return found[0]


def value_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a decoded JSON value, as the keys and indexes leading to it (``()``: the value itself)."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from value_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from value_paths(item, (*path, index))


def parent_of(value: Any, path: tuple[Any, ...]) -> Any:
    """The list or object that holds the place ``path`` (non-empty) in ``value``."""
    for key in path[:-1]:
        value = value[key]
    return value
