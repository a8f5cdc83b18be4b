"""The sandbox's payments API (Stripe's Refunds API in test mode, under /stripe) over a real loopback socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from refundctl.adapters import Connection, PaymentRefundRequest
from refundctl.adapters.stripe import StripeAdapter
from refundctl.client import RateLimiter
from tests.support.builders import flight, hotel
from tests.support.sandbox import PAYMENTS_TOKEN, RunningSandbox, SandboxFactory

INTENT, CHARGE = "pi_3PAY1", "ch_3PAY2"  # PAY-1 paid 1200.00 CNY, PAY-2 1060.00 CNY


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.jsonl"
    records = [
        flight(id="PAY-1", payment_reference=INTENT),
        hotel(id="PAY-2", payment_reference=CHARGE),
        flight(id="NOPAY-1"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def box(sandbox_factory: SandboxFactory, orders: Path) -> RunningSandbox:
    return sandbox_factory(orders=[orders], settle_after=0.3)


@pytest.fixture
def stripe(box: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=box.payments_url, headers=box.payments_headers, timeout=5) as client:
        yield client


def refund(client: httpx.Client, key: str | None = None, **form: str) -> httpx.Response:
    body = {"payment_intent": INTENT, "amount": "1000", "metadata[order_id]": "PAY-1"} | form
    return client.post("/v1/refunds", data=body, headers={"Idempotency-Key": key} if key else {})


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}  # Stripe's error shape
    return error


def test_refund_lifecycle_pending_then_succeeded(stripe: httpx.Client) -> None:
    created = refund(stripe, "k1", reason="requested_by_customer")
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["id"].startswith("re_") and body["object"] == "refund"
    assert (body["amount"], body["currency"], body["status"]) == (1000, "cny", "pending")
    assert (body["payment_intent"], body["charge"], body["reason"]) == (INTENT, None, "requested_by_customer")
    assert body["metadata"] == {"order_id": "PAY-1"}
    assert stripe.get(f"/v1/refunds/{body['id']}").json() == body
    time.sleep(0.4)
    settled = stripe.get(f"/v1/refunds/{body['id']}").json()
    assert (settled["status"], settled["failure_reason"]) == ("succeeded", None)
    listed = stripe.get("/v1/refunds", params={"payment_intent": INTENT}).json()
    assert listed == {"object": "list", "url": "/v1/refunds", "has_more": False, "data": [settled]}


def test_a_charge_is_refunded_by_charge(stripe: httpx.Client) -> None:
    body = refund(stripe, payment_intent="", charge=CHARGE, amount="106000").json()
    assert (body["charge"], body["payment_intent"], body["amount"]) == (CHARGE, None, 106000)


def test_an_idempotency_key_replays_its_first_answer(stripe: httpx.Client, box: RunningSandbox) -> None:
    first = refund(stripe, "same")
    again = refund(stripe, "same")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    error = error_of(refund(stripe, "same", amount="999"), 400)
    assert error["type"] == "idempotency_error"
    assert len(box.ledger.refunds_of(INTENT)) == 1


def test_never_more_than_the_payment_captured(stripe: httpx.Client) -> None:
    error = error_of(refund(stripe, amount="120001"), 400)
    assert (error["code"], error["param"]) == ("amount_too_large", "amount")
    assert refund(stripe, amount="120000").status_code == 200
    assert error_of(refund(stripe, amount="1"), 400)["code"] == "charge_already_refunded"


def test_an_errors_answer_is_saved_for_its_key_as_stripe_does(stripe: httpx.Client) -> None:
    assert refund(stripe, amount="120000").status_code == 200
    first = refund(stripe, "late", amount="1")
    assert error_of(first, 400)["code"] == "charge_already_refunded"
    assert refund(stripe, "late", amount="1").headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("form", "code", "param"),
    [
        ({"destination": "x"}, "parameter_unknown", "destination"),
        ({"payment_intent": ""}, "parameter_missing", "charge"),
        ({"charge": CHARGE}, "parameter_missing", "charge"),  # both named
        ({"amount": "10.00"}, "parameter_invalid_integer", "amount"),
        ({"amount": "0"}, "parameter_invalid_integer", "amount"),
        ({"reason": "because"}, "parameter_invalid_string", "reason"),
        ({"payment_intent": "pi_unknown"}, "resource_missing", "payment_intent"),
        ({"payment_intent": CHARGE}, "resource_missing", "payment_intent"),  # a charge is not an intent
    ],
)
def test_parameters_checked_as_stripe_checks_them(
    stripe: httpx.Client, form: dict[str, str], code: str, param: str
) -> None:
    error = error_of(refund(stripe, **form), 400)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)


def test_an_order_without_a_payment_reference_has_no_payment(stripe: httpx.Client) -> None:
    assert error_of(refund(stripe, payment_intent="pi_NOPAY-1"), 400)["code"] == "resource_missing"


def test_lookups_that_fail(stripe: httpx.Client) -> None:
    assert error_of(stripe.get("/v1/refunds/re_nope"), 404)["code"] == "resource_missing"
    assert error_of(stripe.get("/v1/refunds", params={"limit": "101"}), 400)["param"] == "limit"


def test_refunds_page_newest_first(stripe: httpx.Client) -> None:
    ids = [refund(stripe, amount="100").json()["id"] for _ in range(3)]
    page = stripe.get("/v1/refunds", params={"payment_intent": INTENT, "limit": "2"}).json()
    assert ([r["id"] for r in page["data"]], page["has_more"]) == (ids[:0:-1], True)
    rest = stripe.get("/v1/refunds", params={"payment_intent": INTENT, "starting_after": ids[1]}).json()
    assert ([r["id"] for r in rest["data"]], rest["has_more"]) == ([ids[0]], False)


def test_its_own_key_and_stripes_error_shape(box: RunningSandbox) -> None:
    with httpx.Client(base_url=box.payments_url, headers=box.headers, timeout=5) as wrong:
        error = error_of(wrong.post("/v1/refunds", data={"amount": "1"}), 401)
    assert error["type"] == "invalid_request_error"
    with httpx.Client(base_url=box.base_url, headers=box.payments_headers, timeout=5) as supplier:
        assert supplier.get("/v1/orders/PAY-1").status_code == 401  # the supplier does not take Stripe's key


def test_the_same_fault_flags(sandbox_factory: SandboxFactory, orders: Path) -> None:
    faulty = sandbox_factory(orders=[orders], error_rate=1.0)
    with httpx.Client(base_url=faulty.payments_url, headers=faulty.payments_headers, timeout=5) as client:
        answer = refund(client)
    assert answer.status_code in (500, 502, 503)
    assert error_of(answer, answer.status_code)["type"] == "api_error"
    assert faulty.ledger.refunds_of(INTENT) == []  # injected before anything is processed
    limited = sandbox_factory(orders=[orders], rate_limit=1)
    with httpx.Client(base_url=limited.payments_url, headers=limited.payments_headers, timeout=5) as client:
        answers = [refund(client, amount="1") for _ in range(3)]
    assert error_of(answers[-1], 429)["code"] == "rate_limit"


def test_failed_refunds_free_the_payment_again(sandbox_factory: SandboxFactory, orders: Path) -> None:
    box = sandbox_factory(orders=[orders], failure_rate=1.0, settle_after=0)
    with httpx.Client(base_url=box.payments_url, headers=box.payments_headers, timeout=5) as client:
        failed = refund(client, amount="120000").json()
        assert client.get(f"/v1/refunds/{failed['id']}").json()["failure_reason"] == "expired_or_canceled_card"
        assert refund(client, amount="120000").status_code == 200


def test_the_adapter_through_dropped_and_failed_requests_creates_one_refund(
    sandbox_factory: SandboxFactory, orders: Path
) -> None:
    box = sandbox_factory(orders=[orders], drop_rate=0.5, error_rate=0.3, seed=3)
    request = PaymentRefundRequest("PAY-1", INTENT, Decimal("12.34"), "CNY", "pfk_drop", "rfk_drop")

    async def go() -> Any:
        conn = Connection(box.payments_url, PAYMENTS_TOKEN, RateLimiter(None), max_attempts=20, backoff=0.001)
        adapter = StripeAdapter(conn)
        try:
            first = await adapter.refund(request)
            again = await adapter.refund(request)
            found = await adapter.find_refund(request)
            return first, again, found
        finally:
            await adapter.aclose()

    first, again, found = asyncio.run(go())
    assert first.id == again.id and found is not None and found.id == first.id
    assert first.amount == Decimal("12.34") and again.existing
    assert [r.amount for r in box.ledger.refunds_of(INTENT)] == [1234]


def test_state_file_keeps_payment_refunds_and_keys_across_restarts(
    sandbox_factory: SandboxFactory, orders: Path, tmp_path: Path
) -> None:
    """With --state, a restarted sandbox still knows the platform's refunds: the journal's keys replay them, lookups
    find them, and the payment's balance counts them (a rerun after a restart never refunds twice)."""
    state = tmp_path / "state.sqlite"
    first = sandbox_factory(orders=[orders], state=state, settle_after=0)
    with httpx.Client(base_url=first.payments_url, headers=first.payments_headers, timeout=5) as client:
        created = refund(client, "pk_1", amount="100000").json()
        refused = error_of(refund(client, "pk_2", amount="30000"), 400)  # 120000 captured, 20000 left
        assert refused["code"] == "amount_too_large"
    first.stop()
    again = sandbox_factory(orders=[orders], state=state, settle_after=0)
    with httpx.Client(base_url=again.payments_url, headers=again.payments_headers, timeout=5) as client:
        replayed = refund(client, "pk_1", amount="100000")
        assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == created
        assert error_of(refund(client, "pk_2", amount="30000"), 400) == refused  # an error answer binds its key too
        assert client.get(f"/v1/refunds/{created['id']}").json()["status"] == "succeeded"
        listed = client.get("/v1/refunds", params={"payment_intent": INTENT}).json()["data"]
        assert [r["id"] for r in listed] == [created["id"]]
        assert error_of(refund(client, "pk_3", amount="20001"), 400)["code"] == "amount_too_large"
        assert refund(client, "pk_4", amount="20000").status_code == 200
