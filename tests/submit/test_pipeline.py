"""The pipeline against a scripted supplier: quote check, journal transitions, resume rules."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.errors import ApiError, AuthError, QuoteRejected, TransportError
from refundctl.submit import Pipeline, Settings, idempotency_key
from refundctl.submit.journal import Journal, Plan
from tests.support.suppliers import FakeSupplier


def plan(order_id: str, amount: str = "10.00") -> Plan:
    key = idempotency_key(order_id, amount, "CNY", "digest")
    return Plan(order_id, key, Decimal(amount), "CNY", "full", None, (), date(2026, 1, 8))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "j.sqlite")
    yield j
    j.close()


def run(supplier: FakeSupplier, journal: Journal, plans: list[Plan], **settings: Any) -> dict[str, str]:
    journal.plan(plans)
    entries = [e for e in journal.entries() if e.order_id in {p.order_id for p in plans}]
    fates: dict[str, str] = {}
    asyncio.run(
        Pipeline(supplier, journal, Settings(**settings), lambda f: fates.update({f.order_id: f.fate})).run(entries)
    )
    return fates


def test_quote_equal_to_the_decision_is_confirmed(journal: Journal) -> None:
    supplier = FakeSupplier()
    assert run(supplier, journal, [plan("A")]) == {"A": "accepted"}
    (request,) = supplier.sent
    assert (request.amount, request.quote_id, request.idempotency_key) == (
        Decimal("10.00"),
        "q_1",
        plan("A").idempotency_key,
    )
    entry = journal.get("A")
    assert entry is not None
    assert (entry.state, entry.refund_id, entry.sent_amount, entry.quote_id) == (
        "accepted",
        "rf_A",
        Decimal("10.00"),
        "q_1",
    )


def test_quote_below_the_decision_beyond_tolerance_is_not_sent(journal: Journal) -> None:
    supplier = FakeSupplier(quotes={"A": "9.00"})
    assert run(supplier, journal, [plan("A")], tolerance=Decimal("0.50")) == {"A": "quote_mismatch"}
    assert supplier.sent == []
    entry = journal.get("A")
    assert entry is not None
    assert (entry.state, entry.quote_amount, entry.sent_amount) == ("rejected", Decimal("9.00"), None)
    assert "quotes 9.00 CNY; we decided 10.00 CNY" in (entry.error or "")


@pytest.mark.parametrize("quoted", ["9.60", "10.00", "12.00"])
def test_quote_within_tolerance_or_higher_is_confirmed_at_its_amount(journal: Journal, quoted: str) -> None:
    supplier = FakeSupplier(quotes={"A": quoted})
    assert run(supplier, journal, [plan("A")], tolerance=Decimal("0.50")) == {"A": "accepted"}
    assert supplier.sent[0].amount == Decimal(quoted)


def test_without_quote_check_our_amount_is_sent_without_a_quote(journal: Journal) -> None:
    supplier = FakeSupplier(quotes={"A": "1.00"})
    assert run(supplier, journal, [plan("A")], verify_quote=False) == {"A": "accepted"}
    assert (supplier.quoted, supplier.sent[0].quote_id, supplier.sent[0].amount) == ([], None, Decimal("10.00"))


def test_final_error_is_rejected_and_transport_error_failed(journal: Journal) -> None:
    supplier = FakeSupplier(
        failures={
            "A": [ApiError("HTTP 422 (amount_exceeds_paid)", status=422, error_type="amount_exceeds_paid")],
            "B": [TransportError("gave up")],
        }
    )
    assert run(supplier, journal, [plan("A"), plan("B")]) == {"A": "rejected", "B": "failed"}
    a, b = journal.get("A"), journal.get("B")
    assert a is not None and b is not None
    assert (a.error_type, b.error_type) == ("amount_exceeds_paid", "transport")


def test_rerun_skips_done_and_failed_and_retries_failed_on_request_with_the_same_body(journal: Journal) -> None:
    supplier = FakeSupplier(failures={"B": [TransportError("gave up")]})
    run(supplier, journal, [plan("A"), plan("B")])
    first_b = supplier.sent[-1]
    supplier.sent.clear()
    supplier.quoted.clear()
    assert run(supplier, journal, [plan("A"), plan("B")]) == {"A": "accepted", "B": "failed"}
    assert supplier.sent == []
    assert run(supplier, journal, [plan("A"), plan("B")], retry_failed=True) == {"A": "accepted", "B": "accepted"}
    assert supplier.sent == [first_b]  # same key, same quote id: the supplier can replay it
    assert supplier.quoted == []


def test_in_flight_row_is_resent_with_its_stored_body(journal: Journal) -> None:
    journal.plan([plan("A")])
    journal.mark_sent("A", Decimal("10.00"), "q_old", Decimal("10.00"))  # a run killed mid-request
    supplier = FakeSupplier()
    assert run(supplier, journal, [plan("A")]) == {"A": "accepted"}
    assert (supplier.quoted, supplier.sent[0].quote_id) == ([], "q_old")


def test_expired_quote_on_resend_gets_a_fresh_quote_under_the_same_key(journal: Journal) -> None:
    journal.plan([plan("A")])
    journal.mark_sent("A", Decimal("10.00"), "q_old", Decimal("10.00"))
    supplier = FakeSupplier(failures={"A": [QuoteRejected("quote expired", status=422, error_type="quote_invalid")]})
    assert run(supplier, journal, [plan("A")]) == {"A": "accepted"}
    assert [r.quote_id for r in supplier.sent] == ["q_old", "q_1"]
    assert len({r.idempotency_key for r in supplier.sent}) == 1


def test_auth_error_stops_the_run_and_leaves_rows_resendable(journal: Journal) -> None:
    supplier = FakeSupplier(failures={"A": [AuthError("the API refused the token", status=401)]})
    with pytest.raises(AuthError):
        run(supplier, journal, [plan("A")], concurrency=1)
    entry = journal.get("A")
    assert entry is not None and entry.state == "sent"


def test_concurrency_is_bounded(journal: Journal) -> None:
    supplier = FakeSupplier()
    fates = run(supplier, journal, [plan(f"O{i}") for i in range(40)], concurrency=4)
    assert set(fates.values()) == {"accepted"}
    assert supplier.max_in_flight == 4


def test_the_key_depends_on_every_part_of_the_refund() -> None:
    base = idempotency_key("A", "10.00", "CNY", "d1")
    assert base == idempotency_key("A", "10.00", "CNY", "d1")
    others = {
        idempotency_key("B", "10.00", "CNY", "d1"),
        idempotency_key("A", "10.01", "CNY", "d1"),
        idempotency_key("A", "10.00", "USD", "d1"),
        idempotency_key("A", "10.00", "CNY", "d2"),
    }
    assert base not in others and len(others) == 4
