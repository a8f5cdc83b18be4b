"""The journal: schema and foreign files, planning, transitions, durability across a crash."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from refundctl.errors import JournalError
from refundctl.submit.journal import APPLICATION_ID, SCHEMA_VERSION, Journal, Plan, PlatformPlan


def plan(order_id: str = "ORD-1", amount: str = "10.00") -> Plan:
    return Plan(
        order_id=order_id,
        idempotency_key=f"key-{order_id}",
        amount=Decimal(amount),
        currency="CNY",
        outcome="full",
        reason=None,
        waivers=("W1",),
        due_by=date(2026, 1, 8),
    )


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "j.sqlite")
    yield j
    j.close()


def test_plans_round_trip_exactly_and_only_once(journal: Journal) -> None:
    assert journal.plan([plan("A"), plan("B", "0.10")]) == 2
    assert journal.plan([plan("A", "99.00"), plan("C")]) == 1  # A keeps its first plan
    a = journal.get("A")
    assert a is not None
    assert (a.plan, a.state, a.attempts) == (plan("A"), "planned", 0)
    assert [e.order_id for e in journal.entries()] == ["A", "B", "C"]
    assert journal.get("B").plan.amount == Decimal("0.10")  # type: ignore[union-attr]
    assert journal.get("nope") is None


def test_transitions_record_the_body_answer_and_attempts(journal: Journal) -> None:
    journal.plan([plan("A"), plan("B"), plan("C")])
    journal.mark_sent("A", Decimal("9.50"), "q_1", Decimal("9.50"))
    sent = journal.get("A")
    assert sent is not None
    assert (sent.state, sent.sent_amount, sent.quote_id, sent.sent_at is not None) == (
        "sent",
        Decimal("9.50"),
        "q_1",
        True,
    )
    journal.mark_accepted("A", refund_id="rf_1", status="pending", answer={"id": "rf_1"}, attempts=2)
    journal.mark_rejected("B", error_type="amount_exceeds_paid", error="too much", attempts=1)
    journal.mark_failed("C", error="gave up", attempts=8)
    a, b, c = journal.entries()
    assert (a.state, a.refund_id, a.answer, a.attempts) == ("accepted", "rf_1", {"id": "rf_1"}, 2)
    assert (b.state, b.error_type, b.error) == ("rejected", "amount_exceeds_paid", "too much")
    assert (c.state, c.error_type, c.attempts) == ("failed", "transport", 8)
    journal.record_status("A", status="succeeded", answer={"id": "rf_1", "status": "succeeded"})
    assert journal.get("A").refund_status == "succeeded"  # type: ignore[union-attr]


def test_updating_an_unknown_order_is_an_error(journal: Journal) -> None:
    with pytest.raises(JournalError, match="not in journal"):
        journal.mark_failed("ghost", error="x", attempts=1)


def test_a_journal_that_sent_nothing_is_rebound_and_says_so(journal: Journal) -> None:
    assert journal.bind(api="http://127.0.0.1:1", adapter="sandbox") == []
    assert journal.bind(api="http://127.0.0.1:1", adapter="sandbox") == []
    journal.plan([plan("A")])
    notes = journal.bind(api="http://127.0.0.1:2", adapter="sandbox")
    assert notes == [
        f"journal {journal.path} rebound: api http://127.0.0.1:1 -> http://127.0.0.1:2 (nothing was sent there)"
    ]
    assert journal.meta("api") == "http://127.0.0.1:2"


def test_a_journal_that_sent_refunds_is_refused_for_another_api_unless_rebound(journal: Journal) -> None:
    journal.bind(api="http://127.0.0.1:1", adapter="sandbox")
    journal.plan([plan("A")])
    journal.mark_sent("A", Decimal("10.00"), None, None)
    with pytest.raises(JournalError) as refused:
        journal.bind(api="https://elsewhere", adapter="sandbox")
    assert str(refused.value) == (
        f"{journal.path} belongs to api 'http://127.0.0.1:1', not 'https://elsewhere': it has sent 1 supplier leg(s) "
        "there; resume with --api http://127.0.0.1:1, or --rebind if it is the same API at a new URL; or pass a new "
        "--journal for a new run"
    )
    assert journal.meta("api") == "http://127.0.0.1:1"
    with pytest.raises(JournalError, match="belongs to adapter 'sandbox', not 'duffel'"):
        journal.bind(rebind=True, adapter="duffel")  # --rebind moves a URL, never to another adapter
    assert journal.bind(rebind=True, api="http://127.0.0.1:2") == [
        f"journal {journal.path} rebound: api http://127.0.0.1:1 -> http://127.0.0.1:2 (--rebind)"
    ]
    # The payments provider is bound on its own: its legs, not the supplier's, decide.
    assert journal.bind(payments="stripe", payments_api="http://127.0.0.1:3") == []
    assert journal.bind(payments_api="http://127.0.0.1:4") != []


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal.open(path)
    j.plan([plan()])
    j.close()
    j = Journal.open(path)
    assert j.get("ORD-1") is not None
    j.close()


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="not a refundctl journal"):
        Journal.open(path)


def test_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text('{"not": "a database"}' * 100)
    with pytest.raises(JournalError, match="not a refundctl journal"):
        Journal.open(path)


def test_other_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal.open(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(JournalError, match="schema 99"):
        Journal.open(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def test_missing_journal_without_create(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal at"):
        Journal.open(tmp_path / "none.sqlite", create=False)


def test_each_transition_survives_sigkill(tmp_path: Path) -> None:
    """A committed transition is on disk the moment the call returns, whatever kills us next."""
    path = tmp_path / "j.sqlite"
    script = f"""
import os, signal
from datetime import date
from decimal import Decimal
from pathlib import Path
from refundctl.submit.journal import Journal, Plan
j = Journal.open(Path({str(path)!r}))
j.plan([Plan("A", "k", Decimal("1.00"), "CNY", "full", None, (), date(2026, 1, 1))])
j.mark_sent("A", Decimal("1.00"), None, None)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], check=False, timeout=30)
    assert proc.returncode == -9
    j = Journal.open(path)
    assert j.get("A").state == "sent"  # type: ignore[union-attr]
    j.close()


def test_planning_is_one_transaction(journal: Journal) -> None:
    clash = Plan("B", plan("A").idempotency_key, Decimal("1.00"), "CNY", "full", None, (), None)
    with pytest.raises(JournalError, match="cannot plan"):
        journal.plan([plan("A"), clash])
    assert journal.entries() == []  # A was rolled back with B


def test_each_target_is_bound_on_its_own(tmp_path: Path) -> None:
    """What a target has sent binds that target only: another target may still move (nothing sent there)."""
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.plan([replace(plan("A1"), target="a"), replace(plan("B1"), target="b")])
    assert journal.bind_target("a", api="http://127.0.0.1:1", adapter="sandbox") == []
    assert journal.bind_target("b", api="http://127.0.0.1:2", adapter="sandbox") == []
    journal.mark_sent("A1", Decimal("10.00"), None, None)
    refused = (
        r"belongs to target 'a''s api 'http://127.0.0.1:1', not 'http://127.0.0.1:3': it has sent 1 supplier leg\(s\) "
        r"there; set targets.a.api back to http://127.0.0.1:1, or --rebind if it is the same API at a new URL"
    )
    with pytest.raises(JournalError, match=refused):
        journal.bind_target("a", api="http://127.0.0.1:3", adapter="sandbox")
    assert journal.bind_target("b", api="http://127.0.0.1:4", adapter="sandbox") == [
        f"journal {tmp_path / 'j.sqlite'} rebound: api:b http://127.0.0.1:2 -> http://127.0.0.1:4 "
        "(nothing was sent there)"
    ]
    assert journal.bind_target("a", rebind=True, api="http://127.0.0.1:3", adapter="sandbox")
    with pytest.raises(JournalError, match=r"belongs to target 'a''s adapter 'sandbox', not 'duffel'"):
        journal.bind_target("a", rebind=True, api="http://127.0.0.1:3", adapter="duffel")
    assert journal.targets() == {"a": ("http://127.0.0.1:3", "sandbox"), "b": ("http://127.0.0.1:4", "sandbox")}
    journal.close()


def test_a_schema_4_journal_keeps_its_refunds_on_its_one_api(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path)
    journal.plan([plan("A1")])
    journal.close()
    db = sqlite3.connect(path)  # as schema 4 left it: no target column
    db.executescript("ALTER TABLE refunds DROP COLUMN target; PRAGMA user_version = 4;")
    db.close()
    journal = Journal.open(path)
    assert [e.plan.target for e in journal.entries()] == [""] and journal.targets() == {"": (None, None)}
    journal.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_schema_5_journal_keeps_its_manual_legs_and_may_record_them_paid_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal.open(path)
    journal.plan([replace(plan("M1"), platform=PlatformPlan("pfk_m1", Decimal("20.00"), None))])
    journal.mark_manual("M1", "by hand")
    journal.close()
    db = sqlite3.connect(path)  # as schema 5 left it: its CHECK and trigger know no paid_by_hand
    (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'platform_legs'").fetchone()
    db.executescript(
        "DROP TRIGGER platform_legs_forward; ALTER TABLE platform_legs RENAME TO p; "
        f"{ddl.replace(', ' + repr('paid_by_hand'), '')}; INSERT INTO platform_legs SELECT * FROM p; DROP TABLE p; "
        "PRAGMA user_version = 5;"
    )
    db.close()
    old = (
        sqlite3.connect(path)
        .execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'platform_legs' AND sql IS NOT NULL")
        .fetchall()
    )
    assert len(old) == 1 and "paid_by_hand" not in old[0][0]
    journal = Journal.open(path, create=False, lock=True)
    assert journal.get("M1").platform.state == "manual"  # type: ignore[union-attr]
    done, refused = journal.pay_by_hand([("M1", "BANK-1")])
    assert ([p.recorded for p in done], refused) == ([True], [])
    journal.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):  # the trigger came back with the table
        db.execute("UPDATE platform_legs SET state = 'manual' WHERE order_id = 'M1'")
    db.close()
