"""The Stripe payments adapter against respx answers shaped after Stripe's API reference (refunds, errors).

No test reaches the internet: respx answers every request and refuses unmocked ones.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from refundctl.adapters import PAYMENTS, Connection, PaymentRefundRequest, open_payments
from refundctl.adapters.stripe import STRIPE_API, STRIPE_VERSION, StripeAdapter
from refundctl.client import RateLimiter
from refundctl.errors import ApiError, AuthError, ConfigError, TransportError
from tests.support.builders import with_adapter

KEY = "sk_test_51Hs3cret"
T = TypeVar("T")
REQUEST = PaymentRefundRequest(
    order_id="GOODWILL-1",
    payment_reference="pi_3MtwBwLkdIwHu7ix28a3tqPa",
    amount=Decimal("10.00"),
    currency="CNY",
    idempotency_key="pfk_abc",
    decision="rfk_def",
)


def refund_object(**changes: Any) -> dict[str, Any]:
    """A refund as Stripe's API reference shows it."""
    body: dict[str, Any] = {
        "id": "re_1Nispe2eZvKYlo2Cd31jOCgZ",
        "object": "refund",
        "amount": 1000,
        "balance_transaction": "txn_1Nispe2eZvKYlo2CYezqFhEx",
        "charge": "ch_1NirD82eZvKYlo2CIvbtLWuY",
        "created": 1692942318,
        "currency": "cny",
        "metadata": {"order_id": "GOODWILL-1", "decision": "rfk_def", "idempotency_key": "pfk_abc"},
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "reason": None,
        "status": "pending",
    }
    return body | changes


def stripe_error(status: int, error_type: str, code: str | None, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"type": error_type, "code": code, "message": message, "param": None}}
    return httpx.Response(status, json=body, headers={"Request-Id": "req_xyz", **headers})


def call(fn: Callable[[StripeAdapter], Awaitable[T]], attempts: int = 4) -> T:
    conn = Connection(STRIPE_API, KEY, RateLimiter(None), max_attempts=attempts, backoff=0.001)
    return with_adapter(lambda: StripeAdapter(conn), fn)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", base_url=STRIPE_API, assert_all_called=False) as router:  # refuses the unmocked
        yield router


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), strict_parsing=True))


def test_registered_under_its_name() -> None:
    assert PAYMENTS["stripe"] is StripeAdapter
    with pytest.raises(ConfigError, match="unknown payments provider 'paypal' \\(known: stripe\\)"):
        open_payments("paypal", Connection(STRIPE_API, KEY, RateLimiter(None)))


def test_a_refund_is_one_form_encoded_post_with_the_legs_key(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds").mock(return_value=httpx.Response(200, json=refund_object()))
    state = call(lambda s: s.refund(REQUEST))
    sent = route.calls.last.request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.headers["Idempotency-Key"] == "pfk_abc"
    assert sent.headers["Stripe-Version"] == STRIPE_VERSION
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert form(sent) == {
        "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "amount": "1000",
        "metadata[order_id]": "GOODWILL-1",
        "metadata[decision]": "rfk_def",
        "metadata[idempotency_key]": "pfk_abc",
    }
    assert (state.id, state.amount, state.currency, state.status) == (
        "re_1Nispe2eZvKYlo2Cd31jOCgZ",
        10,
        "CNY",
        "pending",
    )
    assert (state.order_id, state.attempts, state.existing, state.final) == ("GOODWILL-1", 1, False, False)


def test_a_charge_reference_and_a_three_decimal_currency(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds").mock(
        return_value=httpx.Response(200, json=refund_object(amount=12340, currency="kwd", status="succeeded"))
    )
    request = PaymentRefundRequest("K-1", "ch_1NirD82eZvKYlo2C", Decimal("12.340"), "KWD", "pfk_k", "rfk_k")
    state = call(lambda s: s.refund(request))
    sent = form(route.calls.last.request)
    assert (sent["charge"], sent["amount"]) == ("ch_1NirD82eZvKYlo2C", "12340")
    assert "payment_intent" not in sent
    assert (state.amount, state.currency, state.final) == (Decimal("12.340"), "KWD", True)


@pytest.mark.parametrize(
    ("amount", "currency", "reference", "message"),
    [
        ("12.345", "KWD", "pi_1", "a multiple of 0.010"),
        ("10.00", "CNY", "py_1", "neither a PaymentIntent"),
    ],
)
def test_what_cannot_be_sent_exactly_is_refused_before_sending(
    api: respx.MockRouter, amount: str, currency: str, reference: str, message: str
) -> None:
    route = api.post("/v1/refunds")
    request = PaymentRefundRequest("K-1", reference, Decimal(amount), currency, "pfk_k", "rfk_k")
    with pytest.raises(ValueError, match=message):  # UnrepresentableAmount is a ValueError
        call(lambda s: _checked(s, request))
    with pytest.raises(ValueError, match=message):
        call(lambda s: s.refund(request))
    assert not route.called


async def _checked(adapter: StripeAdapter, request: PaymentRefundRequest) -> None:
    adapter.check(request)


def test_retries_connection_errors_409_429_and_5xx_as_stripe_python_does(api: respx.MockRouter) -> None:
    route = api.post("/v1/refunds").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            stripe_error(409, "idempotency_error", "idempotency_key_in_use", "in progress"),
            stripe_error(429, "invalid_request_error", "rate_limit", "too many"),
            stripe_error(500, "api_error", None, "oops"),
            httpx.Response(200, json=refund_object(), headers={"Idempotent-Replayed": "true"}),
        ]
    )
    state = call(lambda s: s.refund(REQUEST), attempts=5)
    assert route.call_count == 5
    assert all(c.request.headers["Idempotency-Key"] == "pfk_abc" for c in route.calls)  # one key for every attempt
    assert (state.attempts, state.existing) == (5, True)


@pytest.mark.parametrize(
    ("answer", "calls"),
    [
        (stripe_error(500, "api_error", None, "replayed", **{"Stripe-Should-Retry": "false"}), 1),
        (stripe_error(400, "invalid_request_error", "lock_timeout", "busy", **{"Stripe-Should-Retry": "true"}), 4),
    ],
)
def test_the_stripe_should_retry_header_decides_first(
    api: respx.MockRouter, answer: httpx.Response, calls: int
) -> None:
    route = api.post("/v1/refunds").mock(return_value=answer)
    with pytest.raises(ApiError):
        call(lambda s: s.refund(REQUEST))
    assert route.call_count == calls


def test_retries_exhausted_is_a_transport_error_with_stripes_message(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").mock(return_value=stripe_error(503, "api_error", None, "try later"))
    with pytest.raises(TransportError, match=r"gave up after 4 attempts.*api_error: try later; request req_xyz"):
        call(lambda s: s.refund(REQUEST))


def test_a_final_error_carries_stripes_code_and_never_the_key(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").mock(
        return_value=stripe_error(400, "invalid_request_error", "charge_already_refunded", f"refunded; key {KEY}")
    )
    with pytest.raises(ApiError) as caught:
        call(lambda s: s.refund(REQUEST))
    assert caught.value.error_type == "charge_already_refunded"
    assert caught.value.status == 400
    assert KEY not in str(caught.value) and "***" in str(caught.value)


def test_a_refused_key_is_an_auth_error(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").mock(
        return_value=stripe_error(401, "invalid_request_error", None, "Invalid API Key provided: sk_test_****")
    )
    with pytest.raises(AuthError, match="Stripe refused the key \\(HTTP 401\\)"):
        call(lambda s: s.refund(REQUEST))


def _list(data: list[dict[str, Any]], has_more: bool) -> httpx.Response:
    return httpx.Response(200, json={"object": "list", "url": "/v1/refunds", "has_more": has_more, "data": data})


def test_find_refund_pages_through_the_payments_refunds_by_key(api: respx.MockRouter) -> None:
    other = refund_object(id="re_other", metadata={"idempotency_key": "pfk_other"})
    ours = refund_object(id="re_ours")
    route = api.get("/v1/refunds").mock(side_effect=[_list([other], True), _list([ours], False)])
    found = call(lambda s: s.find_refund(REQUEST))
    assert found is not None and (found.id, found.existing) == ("re_ours", True)
    first, second = (dict(c.request.url.params) for c in route.calls)
    assert first == {"payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "limit": "100"}
    assert second["starting_after"] == "re_other"


def test_find_refund_none_when_stripe_holds_none(api: respx.MockRouter) -> None:
    api.get("/v1/refunds").mock(return_value=_list([refund_object(metadata={})], False))
    assert call(lambda s: s.find_refund(REQUEST)) is None


def test_a_key_reused_with_another_body_adopts_our_earlier_refund(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").mock(return_value=stripe_error(400, "idempotency_error", None, "Keys for idempotent..."))
    api.get("/v1/refunds").mock(return_value=_list([refund_object(id="re_earlier")], False))
    state = call(lambda s: s.refund(REQUEST))
    assert (state.id, state.existing) == ("re_earlier", True)


def test_a_key_reused_for_another_amount_stays_an_error(api: respx.MockRouter) -> None:
    api.post("/v1/refunds").mock(return_value=stripe_error(400, "idempotency_error", None, "Keys for idempotent..."))
    api.get("/v1/refunds").mock(return_value=_list([refund_object(amount=999)], False))
    with pytest.raises(ApiError, match="idempotency_error"):
        call(lambda s: s.refund(REQUEST))


def test_get_refund(api: respx.MockRouter) -> None:
    api.get("/v1/refunds/re_1").mock(
        return_value=httpx.Response(
            200, json=refund_object(id="re_1", status="failed", failure_reason="expired_or_canceled_card")
        )
    )
    state = call(lambda s: s.get_refund("re_1"))
    assert (state.status, state.failure_reason, state.final) == ("failed", "expired_or_canceled_card", True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "exploded"}, "unknown status 'exploded'"),
        ({"amount": "10.00"}, "amount '10.00' is not an integer"),
        ({"amount": True}, "amount True is not an integer"),
    ],
)
def test_malformed_refunds_are_api_errors(api: respx.MockRouter, changes: dict[str, Any], message: str) -> None:
    api.get("/v1/refunds/re_1").mock(return_value=httpx.Response(200, json=refund_object(**changes)))
    with pytest.raises(ApiError, match=message):
        call(lambda s: s.get_refund("re_1"))


def test_an_answer_that_is_not_json(api: respx.MockRouter) -> None:
    api.get("/v1/refunds/re_1").mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(ApiError, match="not JSON"):
        call(lambda s: s.get_refund("re_1"))
