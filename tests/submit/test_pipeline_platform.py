"""The platform leg in the pipeline against a scripted payments provider: order of legs, resume rules, keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.adapters import PaymentRefundRequest
from refundctl.adapters.base import RefundState
from refundctl.adapters.stripe import StripeAdapter
from refundctl.engine.decision import Decision
from refundctl.errors import ApiError, AuthError, TransportError
from refundctl.submit import Pipeline, Settings
from refundctl.submit.journal import Journal, Plan, PlatformPlan
from refundctl.submit.plan import idempotency_key, plan_for, platform_key
from tests.support.suppliers import FakeSupplier


@dataclass
class FakePayments:
    """Answers from scripts; records every request and lookup."""

    failures: list[Exception] = field(default_factory=list)
    held: dict[str, RefundState] = field(default_factory=dict)  # key -> a refund an earlier run created
    sent: list[PaymentRefundRequest] = field(default_factory=list)
    looked_up: list[str] = field(default_factory=list)

    @staticmethod
    def check(request: PaymentRefundRequest) -> None:
        StripeAdapter.check(request)

    async def refund(self, request: PaymentRefundRequest) -> RefundState:
        self.sent.append(request)
        if self.failures:
            raise self.failures.pop(0)
        state = RefundState(f"re_{request.order_id}", request.order_id, request.amount, "CNY", "pending", None, {})
        self.held[request.idempotency_key] = state
        return state

    async def find_refund(self, request: PaymentRefundRequest) -> RefundState | None:
        self.looked_up.append(request.idempotency_key)
        return self.held.get(request.idempotency_key)

    async def get_refund(self, refund_id: str) -> RefundState:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def two_legs(order_id: str = "A", reference: str | None = "pi_A", platform: str = "20.00") -> Plan:
    return Plan(
        order_id, f"rfk_{order_id}", Decimal("10.00"), "CNY", "partial", None, ("goodwill-fee",), date(2026, 1, 8),
        PlatformPlan(f"pfk_{order_id}", Decimal(platform), reference),
    )  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal.open(tmp_path / "j.sqlite")
    yield j
    j.close()


def run(
    journal: Journal, plans: list[Plan], payments: FakePayments | None, supplier: FakeSupplier | None = None, **kw: Any
) -> dict[str, str]:
    journal.plan(plans)
    entries = journal.entries()
    fates: dict[str, str] = {}
    pipeline = Pipeline(
        supplier or FakeSupplier(), journal, Settings(**kw), lambda f: fates.update({f.order_id: f.fate}), payments
    )
    asyncio.run(pipeline.run(entries))
    return fates


def test_supplier_first_then_the_platform_under_its_own_key(journal: Journal) -> None:
    supplier, payments = FakeSupplier(), FakePayments()
    assert run(journal, [two_legs()], payments, supplier) == {"A": "accepted"}
    assert [r.amount for r in supplier.sent] == [Decimal("10.00")]
    (request,) = payments.sent
    assert (request.amount, request.payment_reference, request.idempotency_key, request.decision) == (
        Decimal("20.00"), "pi_A", "pfk_A", "rfk_A",
    )  # fmt: skip
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None
    assert (entry.state, entry.platform.state, entry.platform.refund_id) == ("accepted", "accepted", "re_A")
    assert payments.looked_up == []  # a leg never sent before is not looked up


def test_the_platform_leg_waits_for_the_supplier(journal: Journal) -> None:
    payments = FakePayments()
    supplier = FakeSupplier(quotes={"A": "9.00"})  # below the supplier's share: quote_mismatch
    assert run(journal, [two_legs()], payments, supplier) == {"A": "quote_mismatch"}
    assert payments.sent == []
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None and entry.platform.state == "planned"
    failing = FakeSupplier(failures={"B": [TransportError("down")]})
    journal.plan([two_legs("B")])
    assert run(journal, [], payments, failing) == {"A": "quote_mismatch", "B": "failed"}
    assert payments.sent == []


def test_a_supplier_leg_of_zero_is_skipped_and_the_platform_pays_alone(journal: Journal) -> None:
    supplier, payments = FakeSupplier(), FakePayments()
    plan = Plan("Z", "rfk_Z", Decimal("0.00"), "CNY", "full", None, (), date(2026, 1, 8),
                PlatformPlan("pfk_Z", Decimal("1270.00"), "pi_Z"))  # fmt: skip
    assert run(journal, [plan], payments, supplier) == {"Z": "accepted"}
    assert supplier.sent == [] and supplier.quoted == []
    entry = journal.get("Z")
    assert entry is not None and entry.state == "skipped"
    assert [leg.payer for leg in entry.legs] == ["platform"]


def test_without_a_provider_the_leg_is_manual_and_stays_so(journal: Journal) -> None:
    assert run(journal, [two_legs()], None) == {"A": "manual"}
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None and entry.platform.state == "manual"
    payments = FakePayments()
    assert run(journal, [], payments, retry_failed=True) == {"A": "manual"}  # never sent later by itself
    assert payments.sent == []


def test_a_refused_platform_leg_leaves_the_supplier_refund_standing(journal: Journal) -> None:
    payments = FakePayments(failures=[ApiError("refunded already", status=400, error_type="charge_already_refunded")])
    supplier = FakeSupplier()
    assert run(journal, [two_legs()], payments, supplier) == {"A": "partially_settled"}
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None
    assert (entry.state, entry.platform.state, entry.platform.error_type) == (
        "accepted", "rejected", "charge_already_refunded",
    )  # fmt: skip
    assert len(supplier.sent) == 1  # nothing reversed


def test_a_resumed_leg_is_looked_up_before_it_is_resent(journal: Journal) -> None:
    """Stripe forgets keys after 24 hours: a leg whose answer was lost is found by its key first."""
    payments = FakePayments(failures=[TransportError("dropped")])
    assert run(journal, [two_legs()], payments) == {"A": "partially_settled"}  # failed for now
    # The dropped request had in fact created the refund at the provider.
    payments.held["pfk_A"] = RefundState("re_earlier", "A", Decimal("20.00"), "CNY", "succeeded", None, {})
    assert run(journal, [], payments, retry_failed=True) == {"A": "accepted"}
    assert payments.looked_up == ["pfk_A"]
    assert len(payments.sent) == 1  # not sent again
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None and entry.platform.refund_id == "re_earlier"


def test_a_platform_leg_in_flight_when_killed_is_resent_once_if_the_provider_holds_none(journal: Journal) -> None:
    journal.plan([two_legs()])
    journal.mark_sent("A", Decimal("10.00"), None, None)
    journal.mark_accepted("A", refund_id="rf_A", status="pending", answer={}, attempts=1)
    journal.mark_sent("A", Decimal("20.00"), None, None, payer="platform")  # then SIGKILL
    payments = FakePayments()
    assert run(journal, [], payments) == {"A": "accepted"}
    assert payments.looked_up == ["pfk_A"] and len(payments.sent) == 1


def test_a_refused_key_stops_the_run(journal: Journal) -> None:
    payments = FakePayments(failures=[AuthError("bad key", status=401)])
    with pytest.raises(AuthError):
        run(journal, [two_legs()], payments)


def test_an_order_planned_without_a_reference_is_rejected_not_sent(journal: Journal) -> None:
    payments = FakePayments()
    assert run(journal, [two_legs(reference=None)], payments) == {"A": "partially_settled"}
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None and entry.platform.error_type == "no_payment_reference"
    assert payments.sent == []


def test_keys_per_leg_are_stable_and_distinct() -> None:
    decision = Decision(
        order_id="GW-1", kind="flight", outcome="partial", currency="CNY", paid=Decimal("1560.00"),
        refund=Decimal("1550.00"), penalty=Decimal(0), non_refundable=Decimal("10.00"), rules=(),
        funded_by={"supplier": Decimal("1530.00"), "platform": Decimal("20.00")},
    )  # fmt: skip
    plan = plan_for(decision, "digest", "pi_GW1")
    assert plan.idempotency_key == idempotency_key("GW-1", "1530.00", "CNY", "digest")
    assert plan.platform == PlatformPlan(platform_key("GW-1", "20.00", "CNY", "digest"), Decimal("20.00"), "pi_GW1")
    assert plan.platform.idempotency_key.startswith("pfk_") and plan.idempotency_key.startswith("rfk_")
    assert platform_key("GW-1", "20.00", "CNY", "digest") != idempotency_key("GW-1", "20.00", "CNY", "digest")
    assert plan.decided == Decimal("1550.00")
    # A refund the supplier funds whole keeps the one key it always had.
    whole = plan_for(replace(decision, funded_by={"supplier": Decimal("1550.00")}), "digest")
    assert whole.platform is None
    assert whole.idempotency_key == idempotency_key("GW-1", "1550.00", "CNY", "digest")


def test_a_leg_sent_before_is_never_turned_manual(journal: Journal) -> None:
    """Its refund may exist at the provider: paying it by hand as well could pay it twice."""
    journal.plan([two_legs()])
    journal.mark_sent("A", Decimal("10.00"), None, None)
    journal.mark_accepted("A", refund_id="rf_A", status="pending", answer={}, attempts=1)
    journal.mark_sent("A", Decimal("20.00"), None, None, payer="platform")  # then SIGKILL
    assert run(journal, [], None) == {"A": "sent"}  # rerun without --payments: left for the provider to resolve
    entry = journal.get("A")
    assert entry is not None and entry.platform is not None and entry.platform.state == "sent"
