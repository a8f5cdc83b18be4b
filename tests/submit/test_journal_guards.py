"""The journal's guards (issue 11, "Journals"): one writer at a time, states only forward in SQL,
damage reported as damage (file and row), 0600 files, replanning only what never left, and due
dates counted from submission (issue 10 §3).

Damaged journals are made as damage happens: bytes written into the real file.
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from refundctl.errors import JournalError
from refundctl.submit.journal import Journal, Plan, PlatformPlan, unsent


def plan(order_id: str = "ORD-1", amount: str = "10.00", due_by: date | None = None) -> Plan:
    return Plan(order_id, f"key-{order_id}-{amount}", Decimal(amount), "CNY", "full", None, ("W1",), due_by)


def two_legs(order_id: str = "GW-1") -> Plan:
    return Plan(
        order_id, f"rfk-{order_id}", Decimal("1530.00"), "CNY", "partial", None, (), None,
        PlatformPlan(f"pfk-{order_id}", Decimal("20.00"), "pi_1"),
    )  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "j.sqlite", lock=True)
    yield j
    j.close()


# -- one run at a time ------------------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_holder(journal: Journal) -> None:
    with pytest.raises(JournalError) as refused:
        Journal.open(journal.path, lock=True)
    message = str(refused.value)
    assert message.startswith(f"journal {journal.path} is in use by another refundctl run (pid {os.getpid()} on ")
    assert socket.gethostname() in message and "since 20" in message
    assert "one run at a time per journal" in message
    reader = Journal.open(journal.path, create=False)  # track and reconcile only read: never refused
    reader.close()
    journal.close()
    Journal.open(journal.path, lock=True).close()  # released on close


def test_a_killed_holder_releases_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    script = (
        "import os, signal, sys\nfrom pathlib import Path\nfrom refundctl.submit.journal import Journal\n"
        f"j = Journal.open(Path({str(path)!r}), lock=True)\nprint('locked', flush=True)\nsys.stdin.read()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    with pytest.raises(JournalError, match=rf"in use by another refundctl run \(pid {holder.pid} on "):
        Journal.open(path, lock=True)
    holder.kill()
    holder.wait(timeout=10)
    Journal.open(path, lock=True).close()


# -- states only move forward, in SQL ------------------------------------------------------


def test_an_accepted_leg_never_moves_back_whoever_writes(journal: Journal) -> None:
    journal.plan([plan("A"), two_legs()])
    journal.mark_sent("A", Decimal("10.00"), None, None)
    journal.mark_accepted("A", refund_id="rf_1", status="succeeded", answer={}, attempts=1)
    for move in (
        lambda: journal.mark_failed("A", error="late answer of another process", attempts=1),
        lambda: journal.mark_rejected("A", error_type="x", error="y", attempts=1),
        lambda: journal.mark_sent("A", Decimal("10.00"), None, None),
    ):
        with pytest.raises(JournalError, match="a leg's state only moves forward"):
            move()
    assert journal.get("A").state == "accepted"  # type: ignore[union-attr]
    journal.record_status("A", status="succeeded", answer={"status": "succeeded"})  # syncing is not a transition
    # The platform leg is guarded the same way, and so is any writer: raw SQL too.
    journal.mark_sent("GW-1", Decimal("1530.00"), None, None)
    journal.mark_accepted("GW-1", refund_id="rf_2", status="pending", answer={}, attempts=1)
    journal.mark_sent("GW-1", Decimal("20.00"), None, None, payer="platform")
    journal.mark_accepted("GW-1", refund_id="re_1", status="succeeded", answer={}, attempts=1, payer="platform")
    db = sqlite3.connect(journal.path)
    with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
        db.execute("UPDATE platform_legs SET state = 'failed' WHERE order_id = 'GW-1'")
    with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
        db.execute("UPDATE refunds SET state = 'planned' WHERE order_id = 'GW-1'")
    db.close()


def test_only_a_quote_mismatch_is_taken_up_again_after_a_rejection(journal: Journal) -> None:
    journal.plan([plan("Q"), plan("R"), plan("F")])
    journal.mark_rejected("Q", error_type="quote_mismatch", error="quoted less", attempts=0)
    journal.mark_sent("Q", Decimal("10.00"), "q_2", Decimal("10.00"))  # --retry-failed re-quoted it
    journal.mark_sent("R", Decimal("10.00"), None, None)
    journal.mark_rejected("R", error_type="amount_exceeds_paid", error="no", attempts=1)
    with pytest.raises(JournalError, match="only moves forward"):
        journal.mark_sent("R", Decimal("10.00"), None, None)
    journal.mark_sent("F", Decimal("10.00"), None, None)
    journal.mark_failed("F", error="gave up", attempts=3)
    journal.mark_sent("F", Decimal("10.00"), None, None)  # --retry-failed: same key, same body
    assert [e.state for e in journal.entries()] == ["sent", "rejected", "sent"]


def test_a_manual_leg_moves_only_to_paid_by_hand_and_no_further(journal: Journal) -> None:
    journal.plan([two_legs("M"), two_legs("P")])
    journal.mark_sent("M", Decimal("1530.00"), None, None)
    journal.mark_accepted("M", refund_id="rf_1", status="succeeded", answer={}, attempts=1)
    journal.mark_manual("M", "by hand")
    db = sqlite3.connect(journal.path)
    for sql in (
        "UPDATE platform_legs SET state = 'paid_by_hand' WHERE order_id = 'P'",  # planned: a provider sends it
        "UPDATE platform_legs SET state = 'accepted' WHERE order_id = 'M'",  # a person's payment is not a provider's
        "UPDATE refunds SET state = 'paid_by_hand' WHERE order_id = 'M'",  # nor a supplier leg's state
    ):
        with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
            db.execute(sql)
    db.execute("UPDATE platform_legs SET state = 'paid_by_hand' WHERE order_id = 'M'")
    for state in ("manual", "paid_by_hand", "sent"):
        with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
            db.execute(f"UPDATE platform_legs SET state = '{state}' WHERE order_id = 'M'")
    db.close()
    assert not unsent(journal.get("M"))  # type: ignore[arg-type]


# -- damage ---------------------------------------------------------------------------------


def _filled(tmp_path: Path, orders: int = 400) -> Path:
    """A closed journal of several pages (closing checkpoints the WAL into the file)."""
    path = tmp_path / "run.journal.sqlite"
    j = Journal.open(path, lock=True)
    j.bind(api="http://127.0.0.1:1", adapter="sandbox")
    j.plan([plan(f"ORD-{i:04}", "7777.77" if i == 7 else f"{i}.25") for i in range(orders)])
    j.mark_sent("ORD-0007", Decimal("7777.77"), None, None)
    j.mark_accepted("ORD-0007", refund_id="rf_MARK", status="pending", answer={"id": "rf_MARK"}, attempts=1)
    j.close()
    assert not Path(f"{path}-wal").exists()
    return path


def _replace(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new)
    path.write_bytes(data.replace(old, new))


def test_random_bytes_in_a_page_are_damage_found_on_open(tmp_path: Path) -> None:
    path = _filled(tmp_path)
    with path.open("r+b") as f:
        f.seek(3 * 4096)  # the fourth page, header and first cells
        f.write(random.Random(11).randbytes(512))
    with pytest.raises(JournalError, match=rf"^journal damaged: {path}: .*restore it from a backup"):
        Journal.open(path, create=False)


def test_truncation_off_a_page_boundary_is_damage(tmp_path: Path) -> None:
    path = _filled(tmp_path)
    os.truncate(path, path.stat().st_size - 4096 - 1000)
    with pytest.raises(JournalError, match=rf"^journal damaged: {path}: "):
        Journal.open(path, lock=True)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"7777.77CNY", b"7777,77CNY", "table refunds: order 'ORD-0007': amount: '7777,77' is not an amount"),
        (b'{"id": "rf_MARK"}', b'{"id": "rf_MARK"!', """answer: '{"id": "rf_MARK"!' is not a JSON object"""),
    ],
)
def test_a_cell_that_does_not_read_back_names_the_file_the_row_and_the_column(
    tmp_path: Path, old: bytes, new: bytes, message: str
) -> None:
    path = _filled(tmp_path)
    _replace(path, old, new)
    j = Journal.open(path, create=False)
    with pytest.raises(JournalError) as damaged:
        j.entries()
    j.close()
    assert str(damaged.value) == f"journal damaged: {path}: " + (
        message if message.startswith("table") else f"table refunds: order 'ORD-0007': {message}"
    )


def test_bad_dates_are_damage_with_the_row(tmp_path: Path) -> None:
    path = _filled(tmp_path)
    db = sqlite3.connect(path)
    db.execute("UPDATE refunds SET sent_at = 'yesterday' WHERE order_id = 'ORD-0007'")
    db.execute("UPDATE refunds SET due_by = '2026-13-45' WHERE order_id = 'ORD-0009'")
    db.commit()
    db.close()
    j = Journal.open(path, create=False)
    with pytest.raises(JournalError, match="order 'ORD-0007': sent_at: 'yesterday' is not a UTC instant"):
        j.get("ORD-0007")
    with pytest.raises(JournalError, match="order 'ORD-0009': due_by: '2026-13-45' is not a date"):
        j.get("ORD-0009")
    j.close()


def test_a_journal_without_its_meta_table_is_damaged(tmp_path: Path) -> None:
    path = _filled(tmp_path)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE meta")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match=rf"^journal damaged: {path}: its table\(s\) meta are gone"):
        Journal.open(path, create=False)


def test_an_empty_file_is_a_new_journal_only_for_submit(tmp_path: Path) -> None:
    path = tmp_path / "typo.sqlite"
    path.touch(mode=0o644)
    with pytest.raises(JournalError, match=r"is empty \(0 bytes\): not a journal; is --journal the file submit"):
        Journal.open(path, create=False)
    assert path.stat().st_size == 0  # reading never writes
    j = Journal.open(path, lock=True)
    assert j.was_empty
    j.close()
    assert path.stat().st_mode & 0o777 == 0o600
    assert not Journal.open(path).was_empty


def test_a_new_journal_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new.journal.sqlite"
    j = Journal.open(path, lock=True)
    j.plan([plan()])
    assert path.stat().st_mode & 0o777 == 0o600
    assert Path(f"{path}-wal").stat().st_mode & 0o777 == 0o600
    j.close()


# -- replanning and due dates ----------------------------------------------------------------


def test_replan_changes_only_orders_that_never_sent_a_leg(journal: Journal) -> None:
    journal.plan([plan("A", "980.00"), plan("B", "980.00"), two_legs("C")])
    journal.mark_sent("B", Decimal("980.00"), None, None)
    journal.mark_sent("C", Decimal("1530.00"), None, None)
    journal.mark_accepted("C", refund_id="rf", status="pending", answer={}, attempts=1)
    assert [unsent(e) for e in journal.entries()] == [True, False, False]
    changed = journal.replan([("A", plan("A", "580.00")), ("B", plan("B", "580.00")), ("C", None)])
    assert changed == 1
    amounts = {e.order_id: (e.plan.amount, e.plan.idempotency_key, e.state) for e in journal.entries()}
    assert amounts == {
        "A": (Decimal("580.00"), "key-A-580.00", "planned"),
        "B": (Decimal("980.00"), "key-B-980.00", "sent"),
        "C": (Decimal("1530.00"), "rfk-C", "accepted"),
    }
    assert journal.replan([("A", None)]) == 1  # no longer submitted, and nothing left: gone
    assert journal.get("A") is None


def test_without_a_regulation_deadline_an_order_is_due_from_its_first_send(tmp_path: Path) -> None:
    now = [datetime(2026, 3, 1, 23, 30, tzinfo=UTC)]
    j = Journal.open(tmp_path / "j.sqlite", clock=lambda: now[0])
    j.plan([plan("A"), plan("REG", due_by=date(2026, 3, 10)), two_legs("GW")])
    assert j.get("A").plan.due_by is None  # type: ignore[union-attr]  # not sent: no due date yet
    now[0] = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
    j.mark_sent("A", Decimal("10.00"), None, None, service_days=14)
    j.mark_sent("REG", Decimal("10.00"), None, None, service_days=14)
    j.mark_manual("GW", "by hand", service_days=7)
    now[0] = datetime(2026, 4, 5, 8, 0, tzinfo=UTC)
    j.mark_sent("A", Decimal("10.00"), None, None, service_days=14)  # a resend does not move it
    due = {e.order_id: e.plan.due_by for e in j.entries()}
    assert due == {"A": date(2026, 4, 16), "REG": date(2026, 3, 10), "GW": date(2026, 4, 9)}
    assert j.get("A").sent_at == datetime(2026, 4, 2, 8, 0, tzinfo=UTC)  # type: ignore[union-attr]
    j.close()


def test_a_journal_another_run_created_a_moment_ago_is_opened_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submits started together both find no journal; the one that loses the race to create
    the file opens it (and the lock then decides who goes on) instead of failing with 'File exists'."""
    path = tmp_path / "orders.journal.sqlite"
    first = Journal.open(path, lock=True)
    first.close()
    real_stat = Path.stat

    def not_there_yet(self: Path, **kwargs: object) -> os.stat_result:
        if self == path:
            raise FileNotFoundError(path)  # as the other run saw it, just before it created the file
        return real_stat(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", not_there_yet)
    second = Journal.open(path, lock=True)
    monkeypatch.undo()
    assert second.path == path
    second.close()
