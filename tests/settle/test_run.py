"""The settle flow: hand payments read from files (every bad record located), recorded all or none."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from refundctl.errors import InputError, JournalError
from refundctl.settle import HandPayment, read_payments, settle
from refundctl.submit.journal import Journal, Plan, PlatformPlan


def journal_with_manual_legs(tmp_path: Path) -> Path:
    """A journal as a submit without a payments provider leaves it: M1 and M2 manual, S1 the supplier's alone,
    P1's platform leg planned (a provider would send it)."""
    path = tmp_path / "run.journal.sqlite"
    journal = Journal.open(path)
    journal.plan(
        [
            Plan("M1", "rfk_m1", Decimal("50.00"), "CNY", "full", None, (), None,
                 PlatformPlan("pfk_m1", Decimal("1270.00"), None)),
            Plan("M2", "rfk_m2", Decimal("5.000"), "KWD", "partial", None, (), None,
                 PlatformPlan("pfk_m2", Decimal("1.250"), None)),
            Plan("S1", "rfk_s1", Decimal("980.00"), "CNY", "partial", None, (), None),
            Plan("P1", "rfk_p1", Decimal("10.00"), "CNY", "full", None, (), None,
                 PlatformPlan("pfk_p1", Decimal("2.00"), "pi_1")),
        ]
    )  # fmt: skip
    journal.mark_manual("M1", "by hand")
    journal.mark_manual("M2", "by hand")
    journal.close()
    return path


def test_a_csv_and_a_jsonl_file_give_the_same_payments(tmp_path: Path) -> None:
    csv = tmp_path / "paid.csv"
    csv.write_text("\ufeffreference,order_id\nBANK-1,M1\n\n")  # any column order, a BOM, a blank line
    jsonl = tmp_path / "paid.jsonl"
    jsonl.write_text('\n{"order_id": "M1", "reference": "BANK-1"}\n')
    assert [(p.order_id, p.reference, p.line) for p in read_payments(str(csv))] == [("M1", "BANK-1", 2)]
    assert [(p.order_id, p.reference, p.line) for p in read_payments(str(jsonl))] == [("M1", "BANK-1", 2)]


def test_every_bad_record_is_located_by_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "paid.jsonl"
    path.write_text(
        '{"order_id": "M1"}\n{"order_id": "M2", "reference": " "}\n'
        '{"order_id": "X", "reference": "R", "by": 1}\n[1]\n{bad\n'
    )
    with pytest.raises(InputError) as caught:
        read_payments(str(path))
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:1: reference: required field is missing",
        f"{path}:2: reference: expected a non-empty string, got ' '",
        f"{path}:3: by: unknown field",
        f"{path}:4: <record>: expected an object, got list",
        f"{path}:5: invalid JSON: unexpected character, expected a string key (column 2)",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("order,ref\nM1,R\n", "1: expected the header order_id,reference; got order, ref"),
        ("order_id,reference\nM1\n", "2: expected 2 cells: order_id,reference"),
        ("order_id,reference\nM1,R,extra\n", "2: expected 2 cells: order_id,reference"),
        ("order_id,reference\nM1,\n", "2: reference: required field is missing"),
        ("", "no hand payments (expected order_id,reference records)"),
    ],
)
def test_a_bad_csv_is_refused_with_its_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "paid.csv"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_payments(str(path))
    assert [str(p) for p in caught.value.problems] == [f"{path}{':' if problem[0].isdigit() else ': '}{problem}"]


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "paid.csv"
    path.write_bytes(b"order_id,reference\nM1,\xff\n")
    with pytest.raises(InputError, match=r"paid.csv:2: not UTF-8 text at byte 22"):
        read_payments(str(path))


def test_manual_legs_are_recorded_paid_by_hand_and_again_is_a_no_op(tmp_path: Path) -> None:
    path = journal_with_manual_legs(tmp_path)
    rows = settle(path, [HandPayment("M1", "BANK-1"), HandPayment("M2", "BANK-2")])
    assert [tuple(r.values()) for r in rows] == [
        ("M1", "platform", "1270.00", "CNY", "BANK-1", "recorded"),
        ("M2", "platform", "1.250", "KWD", "BANK-2", "recorded"),
    ]
    journal = Journal.open(path, create=False)
    leg = journal.get("M1").platform  # type: ignore[union-attr]
    journal.close()
    assert leg is not None
    assert (leg.state, leg.refund_id, leg.refund_status, leg.sent_amount, leg.error) == (
        "paid_by_hand", "BANK-1", "succeeded", Decimal("1270.00"), None,
    )  # fmt: skip
    assert leg.answer is not None and leg.answer["paid_by_hand"]["reference"] == "BANK-1"
    again = settle(path, [HandPayment("M1", "BANK-1")])
    assert [r["result"] for r in again] == ["already_recorded"]


def test_any_refusal_records_nothing_and_names_every_one(tmp_path: Path) -> None:
    path = journal_with_manual_legs(tmp_path)
    settle(path, [HandPayment("M2", "BANK-2")])
    payments = [
        HandPayment("M1", "BANK-1", "paid.csv", 2),
        HandPayment("NOPE", "R", "paid.csv", 3),
        HandPayment("S1", "R", "paid.csv", 4),
        HandPayment("P1", "R", "paid.csv", 5),
        HandPayment("M2", "OTHER", "paid.csv", 6),
    ]
    with pytest.raises(JournalError) as caught:
        settle(path, payments)
    assert str(caught.value).splitlines() == [
        f"paid.csv:3: order NOPE is not in journal {path}",
        "paid.csv:4: order S1 has no platform leg: the supplier pays all of its refund, nothing is paid by hand",
        "paid.csv:5: order P1's platform leg is planned, not manual: only a leg journaled to be paid by hand can be "
        "recorded paid by hand (its payments provider settles the others; see track --sync)",
        "paid.csv:6: order M2's platform leg was recorded paid by hand with reference 'BANK-2', not 'OTHER'; "
        "a recorded payment is never changed",
        "nothing recorded: 4 of 5 refused",
    ]
    journal = Journal.open(path, create=False)
    assert journal.get("M1").platform.state == "manual"  # type: ignore[union-attr]  # rolled back with the rest
    journal.close()


def test_one_order_twice_in_a_file_is_recorded_once_or_refused(tmp_path: Path) -> None:
    path = journal_with_manual_legs(tmp_path)
    rows = settle(path, [HandPayment("M1", "BANK-1"), HandPayment("M1", "BANK-1")])
    assert [r["result"] for r in rows] == ["recorded", "already_recorded"]
    (tmp_path / "b").mkdir()
    path2 = journal_with_manual_legs(tmp_path / "b")
    with pytest.raises(JournalError, match="recorded paid by hand with reference 'BANK-1', not 'BANK-9'"):
        settle(path2, [HandPayment("M1", "BANK-1"), HandPayment("M1", "BANK-9")])


def test_settle_writes_so_it_waits_for_a_run_holding_the_journal(tmp_path: Path) -> None:
    path = journal_with_manual_legs(tmp_path)
    holder = Journal.open(path, create=False, lock=True)
    try:
        with pytest.raises(JournalError, match="is in use by another refundctl run"):
            settle(path, [HandPayment("M1", "BANK-1")])
    finally:
        holder.close()
