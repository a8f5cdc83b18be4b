"""The dry run's estimate: per target, its orders, totals and requests, and the time they take at its rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refundctl.submit.estimate import Pace, duration, estimate
from refundctl.submit.journal import Plan


def _plan(order_id: str, target: str, amount: str = "100.00") -> Plan:
    return Plan(order_id, f"rfk_{order_id}", Decimal(amount), "CNY", "full", None, (), None, target=target)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.4, "0.4 s"), (59.94, "59.9 s"), (90, "2 min"), (20_000, "5 h 33 min"), (40_020, "11 h 07 min")],
)
def test_durations_read_as_an_operator_reads_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_estimate_is_the_slowest_targets_and_counts_quotes_and_skipped_legs() -> None:
    plans = [*(_plan(f"A{i}", "a") for i in range(30)), _plan("A-zero", "a", "0.00"), _plan("B1", "b", "5.50")]
    paces = {
        "a": Pace("https://a.example", "sandbox", 10.0),
        "b": Pace(None, "duffel", None),
        "c": Pace(None, "sandbox", 1.0),
    }
    rows, line = estimate(plans, paces, verify_quote=True)
    assert [(r["target"], r["orders"], r["total"], r["requests"], r["rate"], r["estimate"]) for r in rows] == [
        ("a", 31, "3000.00 CNY", 60, "10/s", "6.0 s"),  # 30 refunds and their quotes; the zero leg sends nothing
        ("b", 1, "5.50 CNY", 2, "no limit", "no limit"),
    ]
    assert line == "estimate: at least 6.0 s, the slowest target's (a) at its rate limit; b without a rate limit " \
        "(--rate): as fast as it answers"  # fmt: skip
    assert estimate(plans, paces, verify_quote=False)[0][0]["requests"] == 30
