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
from pathlib import Path
from typing import Any

import msgspec
import pytest

from refundctl import jsonvalue
from refundctl.orders import fast, parse, shapes
from refundctl.orders.raw import RawItem
from refundctl.orders.reader import to_record
from tests.support.builders import flight, hotel
from tests.support.hostile import RICH_FLIGHT, RICH_HOTEL, combined, variants

ROOT = Path(__file__).resolve().parents[2]


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
    [(shapes.Flight, parse.FLIGHT), (shapes.Hotel, parse.HOTEL), (shapes.Fare, parse.FARE),
     (shapes.Segment, parse.SEGMENT), (shapes.Stay, parse.STAY)],
)  # fmt: skip
def test_the_structs_know_the_fields_parse_knows(struct: Any, allowed: set[str]) -> None:
    names = {f.encode_name for f in msgspec.structs.fields(struct)}
    tagged = {"kind"} if struct in (shapes.Flight, shapes.Hotel) else set()
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
