"""The fast path (``orders.fast``) accepts exactly what ``parse_order`` accepts, as the same order.

Every good record is tried by the fast path first; anything it does not accept is read by
``parse_order``, which reports every problem. So the property that matters: whenever the
fast path returns an order, ``parse_order`` returns the same order with no problem; and it
does return one for the good records of every shape (or it would be no faster).
Checked on every field of a flight and a hotel that use every optional field, each set to
each of many hostile values, each deleted, with an unknown field beside it, and on seeded
combinations of such changes; then on the example and bench orders.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from refundctl import jsonvalue
from refundctl.orders import fast, parse
from refundctl.orders.raw import RawItem
from refundctl.orders.reader import to_record
from tests.support.builders import flight, hotel
from tests.support.orders import parent_of, value_paths

ROOT = Path(__file__).resolve().parents[2]

# A flight that uses every optional field: a flown segment with actual times, a changed one.
RICH_FLIGHT = flight(
    evidence=[{"waiver": "W-1", "reference": "ref 1"}],
    payment_reference="pi_3MtwBw",
    traveler_tags=["vip", "with spaces"],
    waiver_codes=["STORM"],
    fare={"class": "M", "base": "1000.00", "taxes": [{"code": "CN", "amount": "50.00"}],
          "fees": [{"code": "service", "amount": "20.00"}]},
    segments=[
        {"from": "PVG", "to": "PEK", "carrier": "ZA", "flight": "ZA123", "base": "400.00", "status": "flown",
         "departs_at": "2026-11-20T08:00:00+08:00", "arrives_at": "2026-11-20T10:15:00+08:00",
         "actual_departs_at": "2026-11-20T08:30:00+08:00", "actual_arrives_at": "2026-11-20T11:00:00+08:00",
         "extraordinary_circumstances": False, "disruption_cause": "within_control"},
        {"from": "PEK", "to": "PVG", "carrier": "ZA", "flight": "ZA124", "base": "600.00", "status": "changed",
         "departs_at": "2026-12-01T08:00:00+08:00", "arrives_at": "2026-12-01T10:15:00+08:00",
         "changed_departs_at": "2026-12-01T18:00:00+08:00", "changed_arrives_at": "2026-12-01T20:15:00+08:00",
         "changed_from": "NAY", "changed_to": "SHA", "added_connections": 1},
    ],
    cancellation_notified_at="2026-11-25T08:00:00+08:00",
    refund_requested_at="2026-11-26T08:00:00+08:00",
    journey_abandoned=True,
    rerouting={"departs_at": "2026-12-02T08:00:00+08:00", "arrives_at": "2026-12-02T10:00:00+08:00"},
)  # fmt: skip
RICH_HOTEL = hotel(taxes=[{"code": "VAT", "amount": "60.00"}], fees=[{"code": "svc", "amount": "5.00"}],
                   payment_reference="ch_3MmlLr", evidence=[{"waiver": "W-2", "reference": "r"}])  # fmt: skip

HOSTILE: list[Any] = [
    None, "", " ", "\u3000", "\t", "x", " x ", 0, -1, 1, 2, 1.5, 1e308, 10**40, True, False, [], {}, [[]], [{}],
    "12.50", "12.5", "12", "0.001", "1e5", "-0.00", "-1.00", "NaN", "12.50 ", "9" * 40,
    "2026-11-01T10:00:00", "2026-11-01T10:00:00+08:00", "2026-11-01T10:00:00Z", "2026-02-30", "2026-11-01",
    "9999-12-31T23:59:59+00:00", "2026-11-30T10:00:00+08:00", "2026-11-19T10:00:00+08:00",
    "PVG", "pvg", "P1G", "PVGX", "ÄÖÜ", "flown", "changed", "cancelled", "scheduled", "stayed", "confirmed",
    "not_honored", "safety", "outside_control", "Asia/Shanghai", "Mars/Olympus", "CNY", "JPY", "KWD", "XXX", "XTS",
    "pi_123", "ch_", "pi_a b", "flight", "hotel", 9999, 10000, "\ud800", "\x00", "x" * 1000,
]  # fmt: skip


def _changed(order: dict[str, Any], path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return copy.deepcopy(new)
    out = copy.deepcopy(order)
    parent_of(out, path)[path[-1]] = copy.deepcopy(new)
    return out


def variants(order: dict[str, Any]) -> Iterator[Any]:
    """``order`` with each field set to each hostile value, each key deleted, an unknown key in each object."""
    yield order
    for path in value_paths(order):
        for value in HOSTILE:
            yield _changed(order, path, value)
        parent = parent_of(order, path) if path else None
        if isinstance(parent, dict):
            out = copy.deepcopy(order)
            del parent_of(out, path)[path[-1]]
            yield out
        target = parent_of(order, (*path, None))
        if isinstance(target, dict):
            out = copy.deepcopy(order)
            parent_of(out, (*path, None))["unknown"] = 1
            yield out


def combined(rng: random.Random, order: dict[str, Any], changes: int) -> Any:
    value: Any = copy.deepcopy(order)
    for _ in range(changes):
        paths = list(value_paths(value))
        path = rng.choice(paths)
        if rng.random() < 0.2 and path and isinstance(parent_of(value, path), dict):
            del parent_of(value, path)[path[-1]]
        else:
            value = _changed(value, path, rng.choice(HOSTILE))
    return value


def assert_same(record: Any) -> bool:
    """The fast path's order is parse_order's, or the fast path declines; whether it accepted."""
    expected, problems = parse.parse_order(copy.deepcopy(record))
    got = fast.fast_order(copy.deepcopy(record))
    if got is not None:
        assert not problems, (record, problems)
        assert got == expected, record
    return got is not None


def test_every_field_set_to_every_hostile_value() -> None:
    accepted = [assert_same(v) for order in (RICH_FLIGHT, RICH_HOTEL, flight(), hotel()) for v in variants(order)]
    # Plenty of the changes leave a good order (another valid time, code, amount): the fast path takes them.
    assert sum(accepted) > 300, sum(accepted)
    assert accepted.count(False) > 3000


def test_seeded_combinations_of_changes() -> None:
    rng = random.Random(20261129)
    orders = (RICH_FLIGHT, RICH_HOTEL, flight(), hotel())
    accepted = [assert_same(combined(rng, rng.choice(orders), rng.randint(1, 3))) for _ in range(3000)]
    assert 0 < sum(accepted) < len(accepted)


def test_example_and_bench_orders_take_the_fast_path() -> None:
    lines = (ROOT / "examples" / "orders.jsonl").read_bytes().splitlines()
    lines += (ROOT / "examples" / "orders-overrides.jsonl").read_bytes().splitlines()
    generated = subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "300"], check=True,
                               capture_output=True).stdout.splitlines()  # fmt: skip
    records = [jsonvalue.loads(line) for line in [*lines, *generated] if line.strip()]
    assert len(records) > 300
    for record in (RICH_FLIGHT, RICH_HOTEL, *records):
        if parse.parse_order(copy.deepcopy(record))[0] is not None:
            assert assert_same(record), record


@pytest.mark.parametrize(
    ("struct", "allowed"),
    [(fast._Flight, parse.FLIGHT), (fast._Hotel, parse.HOTEL), (fast._Fare, parse.FARE),
     (fast._Segment, parse.SEGMENT), (fast._Stay, parse.STAY)],
)  # fmt: skip
def test_the_structs_know_the_fields_parse_knows(struct: Any, allowed: set[str]) -> None:
    names = {f.encode_name for f in msgspec.structs.fields(struct)}
    tagged = {"kind"} if struct in (fast._Flight, fast._Hotel) else set()
    assert names | tagged == set(allowed)


def test_a_float_amount_is_still_an_error_with_its_message() -> None:
    record = flight()
    record["fare"]["base"] = 1000.0
    item = RawItem("orders.jsonl", 3, json.dumps(record).encode())
    result = to_record(item)
    assert result.order is None
    assert [(p.line, p.field, p.message) for p in result.problems] == [
        (3, "fare.base", 'expected the amount as a decimal string such as "12.50", got float')
    ]


def test_a_bad_record_still_gets_every_problem() -> None:
    record = flight(currency="CNY", channel=" ")
    record["segments"][0]["from"] = "pvg"
    record["fare"]["taxes"][1]["amount"] = "30.001"
    item = RawItem("orders.jsonl", 7, json.dumps(record).encode())
    problems = [(p.file, p.line, p.field) for p in to_record(item).problems]
    assert problems == [
        ("orders.jsonl", 7, "channel"),
        ("orders.jsonl", 7, "fare.taxes[1].amount"),
        ("orders.jsonl", 7, "segments[0].from"),
    ]
