"""Hostile variants of good order records: every field set to each of many hostile values, deleted, or
beside an unknown field, and seeded combinations of such changes.

The fast path's tests (tests/orders/test_fast.py) check it against ``parse_order`` on them, and the
install tests (tests/test_install.py) check that a compiled install decides them as the checkout does.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

from tests.support.builders import flight, hotel
from tests.support.orders import parent_of, value_paths

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
