"""The reconcile flow (refundctl/reconcile/run.py): each order's decided refund against its confirmed legs, a leg
paid by hand confirmed by its amount, the totals summed as the journal is read a page at a time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.reconcile import reconcile_journal
from refundctl.submit import journal as journal_module
from refundctl.submit.journal import Journal, Plan, PlatformPlan


def journal_of(path: Path) -> Path:
    """A (accepted, succeeded; platform leg paid by hand), B (pending; platform leg manual), C..G (succeeded), one
    of them in KWD."""
    j = Journal.open(path, lock=True)
    platform = {"A": PlatformPlan("pa", Decimal("20.00"), None), "B": PlatformPlan("pb", Decimal("7.00"), None)}
    ids = ["A", "B", "C", "D", "E", "F", "G"]
    j.plan(
        [
            Plan(i, f"k{i}", Decimal("5.000") if i == "G" else Decimal("10.00"), "KWD" if i == "G" else "CNY",
                 "full", None, (), date(2026, 1, 8), platform.get(i))
            for i in ids
        ]
    )  # fmt: skip
    for i in ids:
        amount = Decimal("5.000") if i == "G" else Decimal("10.00")
        j.mark_sent(i, amount, None, None)
        status = "pending" if i == "B" else "succeeded"
        j.mark_accepted(i, refund_id=f"rf_{i}", status=status, answer={}, attempts=1)
    j.mark_manual("A", "by hand")
    j.mark_manual("B", "by hand")
    j.pay_by_hand([("A", "BANK-1")])
    j.close()
    return path


def reconciled(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, int]:
    with reconcile_journal(path) as orders:
        rows = [o.to_row() for o in orders]
    return rows, orders.totals(), orders.orders, orders.differ


def test_a_leg_paid_by_hand_is_confirmed_and_says_so(tmp_path: Path) -> None:
    rows, totals, count, differ = reconciled(journal_of(tmp_path / "j.sqlite"))
    by_order = {r["order_id"]: r for r in rows}
    assert by_order["A"] | {} == by_order["A"] and (
        by_order["A"]["platform_confirmed"],
        by_order["A"]["reconciled"],
        by_order["A"]["note"],
    ) == ("20.00", True, "platform paid by hand (BANK-1)")
    assert (by_order["B"]["difference"], by_order["B"]["note"]) == (
        "17.00",
        "supplier accepted (pending); platform manual",
    )
    assert (count, differ) == (7, 1)
    assert [tuple(t.values()) for t in totals] == [  # payer, currency, orders, decided, confirmed, difference
        ("platform", "CNY", 2, "27.00", "20.00", "7.00"),
        ("supplier", "CNY", 6, "60.00", "50.00", "10.00"),
        ("supplier", "KWD", 1, "5.000", "5.000", "0.000"),
    ]


def test_the_same_read_two_journal_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = journal_of(tmp_path / "j.sqlite")
    whole = reconciled(path)
    monkeypatch.setattr(journal_module, "_CHUNK", 2)
    assert reconciled(path) == whole
