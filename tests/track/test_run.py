"""The track flow (refundctl/track/run.py): finding the journal, when a row is overdue, reading and syncing the
journal a page at a time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.adapters.base import RefundState
from refundctl.errors import JournalError
from refundctl.submit import journal as journal_module
from refundctl.submit.journal import Journal, Plan, PlatformPlan
from refundctl.submit.plan import plan_for
from refundctl.track import find_journal, follow, track_rows
from refundctl.track import run as track_run
from tests.support.builders import decide_dict, flight


def test_find_journal(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal in"):
        find_journal(tmp_path)
    Journal.open(tmp_path / "a.journal.sqlite").close()
    assert find_journal(tmp_path) == tmp_path / "a.journal.sqlite"
    Journal.open(tmp_path / "b.journal.sqlite").close()
    with pytest.raises(JournalError, match="2 journals"):
        find_journal(tmp_path)


def test_row_is_overdue_only_after_the_due_date_and_until_success(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "j.sqlite")
    j.plan([Plan("A", "k", Decimal("5.00"), "CNY", "full", None, (), date(2026, 1, 8))])
    entry = j.get("A")
    assert entry is not None
    at = datetime(2026, 1, 8, 23, 0, tzinfo=UTC)
    assert track_rows(entry, at)[0]["overdue"] is False
    assert track_rows(entry, at + timedelta(hours=2))[0]["overdue"] is True
    j.mark_sent("A", Decimal("5.00"), None, None)
    j.mark_accepted("A", refund_id="rf", status="succeeded", answer={}, attempts=1)
    done = j.get("A")
    assert done is not None
    assert track_rows(done, at + timedelta(days=30))[0]["overdue"] is False
    j.close()


def test_a_provisional_due_date_stays_provisional_from_check_to_track(tmp_path: Path) -> None:
    """CAAC 2021: 7 China working days from 2026-12-23 reach 2027, whose schedule is unpublished: provisional."""
    order = flight(id="CN-1", refund_requested_at="2026-12-23T09:00:00+08:00")
    order["segments"][0].update(carrier="MU", status="cancelled")
    decision = decide_dict(order, "2026-11-25T12:00:00Z")
    assert (decision.due_by, decision.due_by_provisional) == (date(2027, 1, 4), True)
    j = Journal.open(tmp_path / "j.sqlite")
    j.plan([plan_for(decision, "digest", None)])
    entry = j.get("CN-1")
    j.close()
    assert entry is not None
    [row] = track_rows(entry, datetime(2026, 12, 24, tzinfo=UTC))
    assert (row["due_by"], row["due_by_provisional"]) == ("2027-01-04", True)


def _plan(n: int) -> Plan:
    """Order ``On``: 5.00 CNY due 2026-01-08, every third with a platform leg of 1.00 (paid by hand)."""
    plan = Plan(f"O{n}", f"k{n}", Decimal("5.00"), "CNY", "full", None, (), date(2026, 1, 8))
    return replace(plan, platform=PlatformPlan(f"p{n}", Decimal("1.00"), None)) if n % 3 == 0 else plan


def _journal_of(path: Path, count: int) -> Journal:
    """``count`` orders sent and accepted pending (every third with a platform leg, paid by hand from the sixth)."""
    j = Journal.open(path, lock=True)
    j.plan([_plan(n) for n in range(count)])
    for n in range(count):
        j.mark_sent(f"O{n}", Decimal("5.00"), None, None)
        j.mark_accepted(f"O{n}", refund_id=f"rf_{n}", status="pending", answer={}, attempts=1)
        if n % 3 == 0:
            j.mark_manual(f"O{n}", "by hand")
    j.pay_by_hand([(f"O{n}", f"BANK-{n}") for n in range(6, count, 3)])
    return j


def test_the_rows_are_the_same_read_three_journal_rows_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _journal_of(tmp_path / "j.sqlite", 10).close()
    at = datetime(2026, 1, 20, tzinfo=UTC)

    def read(only_overdue: bool) -> tuple[list[dict[str, Any]], int, int]:
        with follow(tmp_path / "j.sqlite", at) as followed:
            rows = list(followed.rows(only_overdue))
        return rows, followed.refunds, followed.overdue

    whole = read(False), read(True)
    monkeypatch.setattr(journal_module, "_CHUNK", 3)
    assert (read(False), read(True)) == whole
    rows, legs, late = whole[0]
    assert (len(rows), legs, late) == (14, 14, 12)  # 10 supplier legs, 4 platform legs, 2 of them paid by hand
    assert [r["order_id"] for r in whole[1][0]] == [r["order_id"] for r in rows if r["overdue"]]
    assert [(r["state"], r["refund_id"], r["overdue"]) for r in rows if r["order_id"] == "O6"] == [
        ("accepted", "rf_6", True), ("paid_by_hand", "BANK-6", False),
    ]  # fmt: skip


class _Provider:
    """Answers every refund succeeded, and counts the requests in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.asked: list[str] = []

    async def get_refund(self, refund_id: str) -> RefundState:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        self.asked.append(refund_id)
        return RefundState(refund_id, "", Decimal(0), "CNY", "succeeded", None, {"status": "succeeded"})


def test_sync_polls_the_open_legs_a_page_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "_CHUNK", 3)
    monkeypatch.setattr(track_run, "POLL_PAGE", 4)
    j = _journal_of(tmp_path / "j.sqlite", 10)
    provider = _Provider()
    legs = track_run._open_legs(j, "supplier")
    problems = asyncio.run(track_run._poll(provider, j, legs, 100, lambda failed: None))
    assert problems == [] and provider.asked == [f"rf_{n}" for n in range(10)]
    assert provider.most <= 4  # never more tasks than a page holds, whatever the concurrency
    assert {e.refund_status for e in j.iter_entries()} == {"succeeded"}
    assert list(track_run._open_legs(j, "supplier")) == []
    j.close()
