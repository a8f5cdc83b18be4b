"""The track flow (refundctl/track/run.py): finding the journal, and when a row is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from refundctl.errors import JournalError
from refundctl.submit.journal import Journal, Plan
from refundctl.submit.plan import plan_for
from refundctl.track import find_journal, track_rows
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
