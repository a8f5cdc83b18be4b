"""The sandbox API over a real loopback socket, checked against its OpenAPI document.

Every response is validated against the schema the document gives for its
operation and status. When the session ends, tests/conftest.py fails the run if the
document lists a (operation, status, error type) that no test of the session received
from a sandbox, or if a sandbox answered a documented operation with one the document
does not list (``tests.support.openapi.coverage_problems``, tested here).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from refundctl.orders.model import Order
from tests.support.openapi import DOC, OPERATIONS, check, coverage_problems, documented_cases, operation_of
from tests.support.sandbox import REFUND, Answered, RunningSandbox, SandboxFactory


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.headers, timeout=5) as c:
        yield c


def post_refund(client: httpx.Client, key: str | None, body: Any = None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/v1/refunds", json=REFUND if body is None else body, headers=headers)


def test_document_is_valid_openapi_31() -> None:
    validate(DOC)
    assert DOC["openapi"].startswith("3.1")


def test_the_coverage_check_names_what_was_never_answered_and_what_is_undocumented() -> None:
    """The check run on the whole session's answers when it ends (tests/conftest.py), on answers made up here."""
    every = [(OPERATIONS[op][1].upper(), re.sub(r"\{[^/]+\}", "x1", OPERATIONS[op][0]), status, error_type)
             for op, status, error_type in documented_cases()]  # fmt: skip
    assert coverage_problems(every) == []
    assert coverage_problems(every[1:]) == [f"documented, never answered: {next(documented_cases())}"]
    unknown_route = ("GET", "/v1/nowhere", 404, "not_found")  # no operation: not the document's business
    teapot = ("GET", "/v1/orders/ZA-1001", 418, None)
    assert coverage_problems([*every, unknown_route, teapot]) == ["answered, not documented: ('getOrder', 418, None)"]


def test_every_answer_is_recorded_for_the_coverage_test(client: httpx.Client, answered: set[Answered]) -> None:
    check(client.get("/v1/refunds/rf_recorded"), "getRefund", 404, "not_found")
    check(client.get("/v1/orders/ZA-1001"), "getOrder", 200)
    assert Answered("GET", "/v1/refunds/rf_recorded", 404, "not_found") in answered
    assert Answered("GET", "/v1/orders/ZA-1001", 200, None) in answered
    assert operation_of("GET", "/v1/refunds/rf_recorded") == "getRefund"
    assert operation_of("POST", "/v1/refunds/rf_recorded") is None


def test_openapi_is_served_without_a_token(sandbox: RunningSandbox) -> None:
    resp = httpx.get(f"{sandbox.base_url}/openapi.json")
    assert resp.status_code == 200
    assert resp.json() == DOC


@pytest.mark.parametrize("header", [None, "Bearer wrong", "test-token", "Basic dGVzdC10b2tlbg=="])
def test_missing_or_wrong_token_is_401_on_every_operation(sandbox: RunningSandbox, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with httpx.Client(base_url=sandbox.base_url, headers=headers) as c:
        for operation, (path, method) in OPERATIONS.items():
            if operation == "getOpenApi":
                continue
            url = path.replace("{order_id}", "ZA-1001").replace("{refund_id}", "rf_00")
            resp = c.request(method, url, json=REFUND, headers={"Idempotency-Key": "k"})
            check(resp, operation, 401, "unauthorized")
            assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert sandbox.store.refunds_for("ZA-1001") == []


def test_get_order_serves_the_seeded_json(client: httpx.Client, sandbox: RunningSandbox) -> None:
    body = check(client.get("/v1/orders/HH-2001"), "getOrder", 200)
    assert body == sandbox.orders["HH-2001"].raw
    check(client.get("/v1/orders/NOPE"), "getOrder", 404, "not_found")


def test_quote_is_the_quoters_amount(sandbox_factory: SandboxFactory) -> None:
    calls: list[tuple[str, datetime]] = []

    def quoter(order: Order, as_of: datetime) -> tuple[Decimal, str]:
        calls.append((order.id, as_of))
        return Decimal("777.70"), order.currency

    box = sandbox_factory(quoter=quoter, quote_ttl=60)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        quote = check(c.post("/v1/refund_quotes", json={"order_id": "ZA-1002"}), "createRefundQuote", 201)
        assert (quote["order_id"], quote["amount"], quote["currency"]) == ("ZA-1002", "777.70", "CNY")
        created = datetime.fromisoformat(quote["created_at"])
        assert datetime.fromisoformat(quote["expires_at"]) - created == timedelta(seconds=60)
        assert calls[0][0] == "ZA-1002"
        assert abs(calls[0][1] - datetime.now(UTC)) < timedelta(seconds=5)
        check(c.post("/v1/refund_quotes", json={"order_id": "NOPE"}), "createRefundQuote", 404, "not_found")
        for bad in ({}, {"order_id": 5}, {"order_id": "ZA-1002", "extra": 1}, []):
            check(c.post("/v1/refund_quotes", json=bad), "createRefundQuote", 400, "invalid_request")
        resp = c.post("/v1/refund_quotes", content=b"{not json")
        check(resp, "createRefundQuote", 400, "invalid_request")


@pytest.mark.parametrize(("skew", "expected"), [("10", "1078.00"), ("-2.5", "955.50"), ("0", "980.00")])
def test_quote_skew_and_real_engine(sandbox_factory: SandboxFactory, skew: str, expected: str) -> None:
    # The real engine with shipped policies: ZA-1001 quotes 980.00 three weeks before departure.
    box = sandbox_factory(quote_skew=skew, clock=lambda: datetime(2026, 11, 10, tzinfo=UTC))
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        quote = check(c.post("/v1/refund_quotes", json={"order_id": "ZA-1001"}), "createRefundQuote", 201)
    assert quote["amount"] == expected


def test_refund_lifecycle_pending_then_succeeded(client: httpx.Client) -> None:
    body = {**REFUND, "reason": "customer_cancelled", "waivers": ["MEDICAL"]}
    refund = check(post_refund(client, "life-1", body), "createRefund", 201)
    assert refund["id"].startswith("rf_")
    assert (refund["status"], refund["amount"], refund["failure_reason"]) == ("pending", "100.00", None)
    assert (refund["reason"], refund["waivers"], refund["quote_id"]) == ("customer_cancelled", ["MEDICAL"], None)
    assert check(client.get(f"/v1/refunds/{refund['id']}"), "getRefund", 200) == refund
    time.sleep(0.6)  # the fixture settles after 0.5 s
    settled = check(client.get(f"/v1/refunds/{refund['id']}"), "getRefund", 200)
    assert settled["status"] == "succeeded"
    assert settled["updated_at"] >= settled["created_at"]
    listed = check(client.get("/v1/refunds", params={"order_id": "ZA-1001"}), "listRefunds", 200)
    assert listed == {"data": [settled]}
    assert check(client.get("/v1/refunds", params={"order_id": "ZA-1002"}), "listRefunds", 200) == {"data": []}


def test_refund_lookups_that_fail(client: httpx.Client) -> None:
    check(client.get("/v1/refunds/rf_missing"), "getRefund", 404, "not_found")
    check(client.get("/v1/refunds", params={"order_id": "NOPE"}), "listRefunds", 404, "not_found")
    check(client.get("/v1/refunds"), "listRefunds", 400, "invalid_request")


def test_unknown_route_is_a_json_404(client: httpx.Client) -> None:
    resp = client.get("/v1/nothing/here")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "not_found"


@pytest.mark.parametrize("key", [None, ""])
def test_idempotency_key_is_required(client: httpx.Client, sandbox: RunningSandbox, key: str | None) -> None:
    check(post_refund(client, key), "createRefund", 400, "missing_idempotency_key")
    assert sandbox.store.refunds_for("ZA-1001") == []


@pytest.mark.parametrize(
    "body",
    [
        {**REFUND, "amount": 100.0},
        {**REFUND, "amount": 100},
        {**REFUND, "amount": "1e2x"},
        {**REFUND, "amount": "100.001"},
        {**REFUND, "amount": "-1.00"},
        {**REFUND, "amount": "0.00"},
        {**REFUND, "amount": "NaN"},
        {"order_id": "ZA-1001", "currency": "CNY"},
        {"amount": "1.00", "currency": "CNY"},
        {**REFUND, "waivers": "MEDICAL"},
        {**REFUND, "reason": 3},
        {**REFUND, "amout": "1.00"},
        ["not", "an", "object"],
    ],
)
def test_malformed_refund_requests_are_400(client: httpx.Client, sandbox: RunningSandbox, body: Any) -> None:
    check(post_refund(client, "bad", body), "createRefund", 400, "invalid_request")
    # An error binds no key: the same key then works with a good body.
    check(post_refund(client, "bad"), "createRefund", 201)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**REFUND, "reason": 3}, "reason: expected a non-empty string, got 3"),
        ({"amount": "1.00", "currency": "CNY"}, "order_id: required field is missing"),
        ({**REFUND, "amout": "1.00"}, "amout: unknown field"),
        ({**REFUND, "waivers": "MEDICAL"}, "waivers: expected a list of strings"),
        ({**REFUND, "amount": 100}, 'amount: expected a decimal string such as "12.50"'),
    ],
)
def test_bad_bodies_are_answered_field_first(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    """The first problem, in the words every other input is reported in (refundctl.validate)."""
    error = check(post_refund(client, "bad", body), "createRefund", 400, "invalid_request")["error"]
    assert error["message"] == message


def test_non_json_body_and_oversized_key_are_400(client: httpx.Client) -> None:
    resp = client.post("/v1/refunds", content=b"amount=1", headers={"Idempotency-Key": "k"})
    check(resp, "createRefund", 400, "invalid_request")
    check(post_refund(client, "k" * 256), "createRefund", 400, "invalid_request")


def test_refunds_checked_against_the_order(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(clock=lambda: datetime(2026, 11, 10, tzinfo=UTC))  # ZA-1001's supplier owes 980.00
    with httpx.Client(base_url=box.base_url, headers=box.headers, timeout=5) as client:
        check(post_refund(client, "o1", {**REFUND, "order_id": "NOPE"}), "createRefund", 404, "not_found")
        check(post_refund(client, "o2", {**REFUND, "currency": "USD"}), "createRefund", 422, "currency_mismatch")
        over = {**REFUND, "amount": "1200.01"}  # ZA-1001 paid 1200.00
        check(post_refund(client, "o3", over), "createRefund", 422, "amount_exceeds_paid")
        # What the supplier does not owe (a platform-funded waiver's share) is refused, as a real supplier would.
        beyond = {**REFUND, "amount": "980.01"}
        check(post_refund(client, "o4", beyond), "createRefund", 422, "amount_exceeds_obligation")
        owed = {**REFUND, "amount": "980.00"}
        assert check(post_refund(client, "o5", owed), "createRefund", 201)["amount"] == "980.00"


def test_quotes_bind_order_amount_and_lifetime(sandbox_factory: SandboxFactory) -> None:
    now = [datetime(2026, 11, 10, tzinfo=UTC)]
    box = sandbox_factory(clock=lambda: now[0], quote_ttl=60)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        quote = c.post("/v1/refund_quotes", json={"order_id": "ZA-1001"}).json()
        good = {**REFUND, "amount": quote["amount"], "quote_id": quote["id"]}
        for key, body in [
            ("q1", {**good, "quote_id": "q_unknown"}),
            ("q2", {**good, "amount": "1.00"}),
            ("q3", {**good, "order_id": "ZA-1002"}),
        ]:
            check(post_refund(c, key, body), "createRefund", 422, "quote_invalid")
        now[0] += timedelta(seconds=61)
        check(post_refund(c, "q4", good), "createRefund", 422, "quote_invalid")
        now[0] -= timedelta(seconds=2)
        refund = check(post_refund(c, "q5", good), "createRefund", 201)
    assert refund["quote_id"] == quote["id"]


def test_same_key_same_body_replays_other_body_is_422(client: httpx.Client, sandbox: RunningSandbox) -> None:
    first = post_refund(client, "same")
    again = post_refund(client, "same", dict(reversed(list(REFUND.items()))))  # key order does not matter
    check(again, "createRefund", 201)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    check(post_refund(client, "same", {**REFUND, "amount": "99.00"}), "createRefund", 422, "idempotency_key_reused")
    assert len(sandbox.store.refunds_for("ZA-1001")) == 1


def test_second_refund_of_an_order_is_409_until_the_first_fails(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(failure_rate=1.0, settle_after=0.3)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        first = check(post_refund(c, "a"), "createRefund", 201)
        err = check(post_refund(c, "b"), "createRefund", 409, "order_already_refunded")
        assert err["error"]["refund_id"] == first["id"]
        time.sleep(0.4)
        failed = check(c.get(f"/v1/refunds/{first['id']}"), "getRefund", 200)
        assert (failed["status"], failed["failure_reason"]) == ("failed", "declined_by_supplier")
        second = check(post_refund(c, "b"), "createRefund", 201)  # a failed refund does not block
        listed = c.get("/v1/refunds", params={"order_id": "ZA-1001"}).json()["data"]
    assert [r["id"] for r in listed] == [first["id"], second["id"]]


def test_succeeded_refund_blocks_too(client: httpx.Client) -> None:
    first = check(post_refund(client, "a"), "createRefund", 201)
    time.sleep(0.6)
    assert client.get(f"/v1/refunds/{first['id']}").json()["status"] == "succeeded"
    err = check(post_refund(client, "c"), "createRefund", 409, "order_already_refunded")
    assert err["error"]["refund_id"] == first["id"]


def test_key_in_use_while_the_first_request_is_processed(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(latency_ms=400)
    with (
        httpx.Client(base_url=box.base_url, headers=box.headers) as slow,
        httpx.Client(base_url=box.base_url, headers=box.headers) as fast,
    ):
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(post_refund, slow, "busy")
            time.sleep(0.15)
            check(post_refund(fast, "busy"), "createRefund", 409, "idempotency_key_in_use")
            check(first.result(), "createRefund", 201)
        check(post_refund(fast, "busy"), "createRefund", 201)
    assert len(box.store.refunds_for("ZA-1001")) == 1


def test_state_file_survives_a_restart(sandbox_factory: SandboxFactory, tmp_path: Any) -> None:
    state = tmp_path / "sandbox.sqlite"
    box = sandbox_factory(state=state)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        refund = check(post_refund(c, "persist"), "createRefund", 201)
    box.stop()
    box = sandbox_factory(state=state)
    with httpx.Client(base_url=box.base_url, headers=box.headers) as c:
        assert c.get(f"/v1/refunds/{refund['id']}").json()["id"] == refund["id"]
        replay = post_refund(c, "persist")
        assert replay.json() == refund
        assert replay.headers["Idempotent-Replayed"] == "true"
        check(post_refund(c, "other"), "createRefund", 409, "order_already_refunded")
