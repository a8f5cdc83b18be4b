"""The sandbox adapter against respx: wire format, error mapping, its retry rules."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
import respx

from refundctl.adapters import ADAPTERS, PAYMENTS, Connection, RefundRequest, open_adapter
from refundctl.adapters.sandbox import SandboxAdapter
from refundctl.client import RateLimiter
from refundctl.config import ADAPTER_NAMES, PAYMENTS_NAMES
from refundctl.errors import ApiError, AuthError, ConfigError, TransportError
from tests.support.builders import with_adapter

API = "http://api.test"
TOKEN = "s3cret-token"
T = TypeVar("T")
REQUEST = RefundRequest(
    order_id="ORD-1", amount=Decimal("120.50"), currency="CNY", idempotency_key="key-1", waivers=("W1",)
)


def refund(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": "rf_1",
        "order_id": "ORD-1",
        "amount": "120.50",
        "currency": "CNY",
        "status": "pending",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "quote_id": None,
        "reason": None,
        "waivers": ["W1"],
        "failure_reason": None,
    }
    return body | overrides


def error(kind: str, message: str = "nope", **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


def call(fn: Callable[[SandboxAdapter], Awaitable[T]]) -> T:
    return with_adapter(
        lambda: SandboxAdapter(Connection(API, TOKEN, RateLimiter(None), max_attempts=3, backoff=0.001)), fn
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", base_url=API) as router:
        yield router


def test_submit_sends_the_contract(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds").respond(201, json=refund())
    state = call(lambda a: a.submit_refund(REQUEST))
    sent = route.calls.last.request
    assert sent.headers["Idempotency-Key"] == "key-1"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(sent.content) == {"order_id": "ORD-1", "amount": "120.50", "currency": "CNY", "waivers": ["W1"]}
    assert (state.id, state.amount, state.status, state.existing, state.attempts) == (
        "rf_1",
        Decimal("120.50"),
        "pending",
        False,
        1,
    )


def test_replay_is_marked_existing(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").respond(201, json=refund(), headers={"Idempotent-Replayed": "true"})
    assert call(lambda a: a.submit_refund(REQUEST)).existing


def test_dropped_connection_is_resent_with_the_same_key(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds")
    route.side_effect = [
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.Response(201, json=refund(), headers={"Idempotent-Replayed": "true"}),
    ]
    state = call(lambda a: a.submit_refund(REQUEST))
    keys = {c.request.headers["Idempotency-Key"] for c in route.calls}
    bodies = {c.request.content for c in route.calls}
    assert (keys, len(bodies), state.attempts, state.existing) == ({"key-1"}, 1, 2, True)


def test_key_in_use_is_retried(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds")
    route.side_effect = [httpx.Response(409, json=error("idempotency_key_in_use")), httpx.Response(201, json=refund())]
    assert call(lambda a: a.submit_refund(REQUEST)).id == "rf_1"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request"),
        (404, "not_found"),
        (422, "amount_exceeds_paid"),
        (422, "currency_mismatch"),
        (422, "quote_invalid"),
    ],
)
def test_final_errors_carry_the_api_message(api: respx.MockRouter, status: int, kind: str) -> None:
    route = api.post("/v1/refunds").respond(status, json=error(kind, "the API says why"))
    with pytest.raises(ApiError) as info:
        call(lambda a: a.submit_refund(REQUEST))
    assert (info.value.status, info.value.error_type, route.call_count) == (status, kind, 1)
    assert "the API says why" in str(info.value)
    assert not isinstance(info.value, TransportError)


def test_401_is_an_auth_error_and_never_shows_the_token(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").respond(401, json=error("unauthorized", f"bad token Bearer {TOKEN}"))
    with pytest.raises(AuthError) as info:
        call(lambda a: a.submit_refund(REQUEST))
    assert TOKEN not in str(info.value)
    assert "***" in str(info.value)


def test_retryable_statuses_exhausted_are_a_transport_error(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds").respond(502, json=error("bad_gateway", "upstream"))
    with pytest.raises(TransportError) as info:
        call(lambda a: a.submit_refund(REQUEST))
    assert route.call_count == 3
    assert "bad_gateway" in str(info.value)


def test_already_refunded_by_this_very_refund_is_done(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").respond(409, json=error("order_already_refunded", refund_id="rf_9"))
    api.get("/v1/refunds/rf_9").respond(200, json=refund(id="rf_9", status="succeeded"))
    state = call(lambda a: a.submit_refund(REQUEST))
    assert (state.id, state.existing, state.status) == ("rf_9", True, "succeeded")


def test_already_refunded_by_another_amount_is_rejected(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").respond(409, json=error("order_already_refunded", refund_id="rf_9"))
    api.get("/v1/refunds/rf_9").respond(200, json=refund(id="rf_9", amount="50.00"))
    with pytest.raises(ApiError, match=r"not ours \(rf_9 of 50\.00 CNY; we would refund 120\.50 CNY\)"):
        call(lambda a: a.submit_refund(REQUEST))


def test_key_reused_with_another_quote_finds_our_refund(api: respx.MockRouter) -> None:
    """Another machine (or a lost journal) sent our key with another quote id: that refund is ours."""
    api.post("/v1/refunds").respond(422, json=error("idempotency_key_reused"))
    listing = api.get("/v1/refunds", params={"order_id": "ORD-1"}).respond(
        200, json={"data": [refund(id="rf_0", status="failed"), refund(id="rf_7", quote_id="q_other")]}
    )
    state = call(lambda a: a.submit_refund(REQUEST))
    assert (state.id, state.existing, listing.call_count) == ("rf_7", True, 1)


def test_key_reused_without_a_matching_refund_is_rejected(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").respond(422, json=error("idempotency_key_reused", "used with another body"))
    api.get("/v1/refunds", params={"order_id": "ORD-1"}).respond(200, json={"data": []})
    with pytest.raises(ApiError, match=r"none found.*used with another body") as info:
        call(lambda a: a.submit_refund(REQUEST))
    assert info.value.error_type == "idempotency_key_reused"


def test_quote_is_parsed_exactly(api: respx.MockRouter) -> None:
    body = {
        "id": "q_1",
        "order_id": "ORD-1",
        "amount": "99.99",
        "currency": "CNY",
        "expires_at": "2026-01-01T00:15:00Z",
        "created_at": "2026-01-01T00:00:00Z",
    }
    route = api.post("/v1/refund_quotes").respond(201, json=body)
    quote = call(lambda a: a.quote("ORD-1"))
    assert json.loads(route.calls.last.request.content) == {"order_id": "ORD-1"}
    assert (quote.id, quote.amount, quote.expires_at and quote.expires_at.minute) == ("q_1", Decimal("99.99"), 15)


@pytest.mark.parametrize("body", [{"id": "q_1"}, {"id": "q", "order_id": "o", "amount": "x", "currency": "CNY"}])
def test_malformed_quote_is_an_api_error(api: respx.MockRouter, body: dict[str, Any]) -> None:
    api.post("/v1/refund_quotes").respond(201, json=body)
    with pytest.raises(ApiError, match="malformed quote"):
        call(lambda a: a.quote("ORD-1"))


def test_non_json_answer_is_an_api_error(api: respx.MockRouter) -> None:
    api.get("/v1/refunds/rf_1").respond(200, text="<html>")
    with pytest.raises(ApiError, match="JSON object"):
        call(lambda a: a.get_refund("rf_1"))


def test_unknown_refund_status_is_an_api_error(api: respx.MockRouter) -> None:
    api.get("/v1/refunds/rf_1").respond(200, json=refund(status="weird"))
    with pytest.raises(ApiError, match="unknown status"):
        call(lambda a: a.get_refund("rf_1"))


def test_get_refund_and_fetch_order_escape_ids(api: respx.MockRouter) -> None:
    api.get("/v1/refunds/rf_1").respond(200, json=refund(status="succeeded"))
    order = api.get("/v1/orders/A%2FB").respond(200, json={"id": "A/B"})
    assert call(lambda a: a.get_refund("rf_1")).final
    assert call(lambda a: a.fetch_order("A/B")) == {"id": "A/B"}
    assert order.called


def test_unknown_adapter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown adapter 'nope'"):
        open_adapter("nope", Connection(API, TOKEN, RateLimiter(None)))


def test_adapter_names_offered_by_the_cli_are_the_adapters() -> None:
    assert tuple(sorted(ADAPTERS)) == ADAPTER_NAMES
    assert tuple(sorted(PAYMENTS)) == PAYMENTS_NAMES  # --payments and the profile's payments


def test_connection_never_shows_its_token() -> None:
    conn = Connection(API, TOKEN, RateLimiter(None))
    assert TOKEN not in repr(conn) and TOKEN not in str(conn)
    assert conn.token == TOKEN


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_quote_amount_is_an_api_error(api: respx.MockRouter, amount: str) -> None:
    body = {"id": "q_1", "order_id": "ORD-1", "amount": amount, "currency": "CNY", "expires_at": None}
    api.post("/v1/refund_quotes").respond(201, json=body)
    with pytest.raises(ApiError, match="malformed quote"):
        call(lambda a: a.quote("ORD-1"))


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_non_finite_refund_amount_is_an_api_error(api: respx.MockRouter, amount: str) -> None:
    api.get("/v1/refunds/rf_1").respond(200, json=refund(amount=amount))
    with pytest.raises(ApiError, match="malformed refund"):
        call(lambda a: a.get_refund("rf_1"))


def test_already_refunded_message_never_shows_the_token(api: respx.MockRouter) -> None:
    echoed = error("order_already_refunded", f"echo: Authorization: Bearer {TOKEN}", refund_id="rf_9")
    api.post("/v1/refunds").respond(409, json=echoed)
    api.get("/v1/refunds/rf_9").respond(200, json=refund(id="rf_9", amount="50.00"))
    with pytest.raises(ApiError) as info:
        call(lambda a: a.submit_refund(REQUEST))
    assert "not ours" in str(info.value)
    assert TOKEN not in str(info.value)
