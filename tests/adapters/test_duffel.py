"""The Duffel adapter against respx fixtures shaped after Duffel's documentation (tests/data/duffel/README.md).

No test reaches the internet: respx answers every request and refuses unmocked ones.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import respx
from click.testing import CliRunner

from refundctl.adapters import QuoteRejected, RefundRequest, open_adapter
from refundctl.adapters.duffel import DuffelAdapter, rate_limit_wait
from refundctl.cli.main import cli
from refundctl.client import RateLimiter
from refundctl.errors import ApiError, AuthError, TransportError
from refundctl.submit import Pipeline, Settings
from refundctl.submit.journal import Journal, Plan
from tests.support.builders import with_adapter
from tests.support.duffel import (
    API,
    CANCELLATION_ID,
    CONFIRM,
    CREATE,
    ORDER_ID,
    TOKEN,
    cancellation,
    connection,
    fixture,
)

NOW = datetime(2026, 5, 1, 10, 5, tzinfo=UTC)  # the fixture cancellation expires at 10:15
T = TypeVar("T")


ERRORS = fixture("errors")
REQUEST = RefundRequest(ORDER_ID, Decimal("80.80"), "GBP", "rfk_1", quote_id=CANCELLATION_ID)


def call(fn: Callable[[DuffelAdapter], Awaitable[T]], now: datetime = NOW, limiter: RateLimiter | None = None) -> T:
    return with_adapter(lambda: DuffelAdapter(connection(limiter), clock=lambda: now), fn)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", base_url=API, assert_all_called=False) as router:
        yield router


GET_CANCELLATION = f"/air/order_cancellations/{CANCELLATION_ID}"


def test_registered_under_its_name() -> None:
    adapter = open_adapter("duffel", connection())
    assert isinstance(adapter, DuffelAdapter)
    asyncio.run(adapter.aclose())


def test_fetch_order_sends_duffel_headers_and_maps_the_order(api: respx.MockRouter) -> None:
    route = api.get(f"/air/orders/{ORDER_ID}").respond(200, json=fixture("order"))

    async def fetch(adapter: DuffelAdapter) -> tuple[dict[str, Any], Any]:
        order = await adapter.fetch_order(ORDER_ID)
        return order, adapter.order_policy(ORDER_ID)

    order, (policy, note) = call(fetch)
    sent = route.calls.last.request
    assert sent.headers["Duffel-Version"] == "v2"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/json"
    assert (order["id"], order["supplier"], order["currency"]) == (ORDER_ID, "ZZ", "GBP")
    assert policy is not None and policy.id == "duffel-conditions/ZZ" and "Duffel order conditions" in note


def test_order_policy_of_an_order_never_fetched_is_none() -> None:
    policy, note = call(lambda a: asyncio.sleep(0, a.order_policy("ord_x")))
    assert policy is None and "not fetched" in note


def test_quote_creates_an_order_cancellation(api: respx.MockRouter) -> None:
    route = api.post(CREATE).respond(201, json=cancellation())
    quote = call(lambda a: a.quote(ORDER_ID))
    assert json.loads(route.calls.last.request.content) == {"data": {"order_id": ORDER_ID}}
    assert (quote.id, quote.order_id, quote.amount, quote.currency) == (
        CANCELLATION_ID,
        ORDER_ID,
        Decimal("80.80"),
        "GBP",
    )
    assert quote.expires_at == datetime(2026, 5, 1, 10, 15, tzinfo=UTC)


def test_happy_path_confirms_the_quoted_cancellation(api: respx.MockRouter) -> None:
    api.post(CREATE).respond(201, json=cancellation())
    confirm = api.post(CONFIRM).respond(200, json=fixture("order_cancellation_confirmed"))

    async def refund(adapter: DuffelAdapter) -> Any:
        quote = await adapter.quote(ORDER_ID)
        return await adapter.submit_refund(RefundRequest(ORDER_ID, quote.amount, "GBP", "rfk_1", quote.id))

    state = call(refund)
    assert confirm.call_count == 1 and confirm.calls.last.request.content == b""
    assert (state.id, state.status, state.amount, state.existing) == (
        CANCELLATION_ID,
        "succeeded",
        Decimal("80.80"),
        False,
    )
    assert state.raw["refund_to"] == "balance"


def test_expired_cancellation_is_never_confirmed(api: respx.MockRouter) -> None:
    api.get(GET_CANCELLATION).respond(200, json=cancellation())
    confirm = api.post(CONFIRM).respond(200, json=fixture("order_cancellation_confirmed"))
    with pytest.raises(QuoteRejected, match="expired"):
        call(lambda a: a.submit_refund(REQUEST), now=datetime(2026, 5, 1, 10, 15, tzinfo=UTC))
    assert confirm.call_count == 0


def test_amount_that_differs_from_the_decision_is_not_confirmed(api: respx.MockRouter) -> None:
    api.get(GET_CANCELLATION).respond(200, json=cancellation(refund_amount="70.80"))
    confirm = api.post(CONFIRM).respond(200, json=fixture("order_cancellation_confirmed"))
    with pytest.raises(ApiError) as caught:
        call(lambda a: a.submit_refund(REQUEST))
    assert caught.value.error_type == "quote_mismatch"
    assert "70.80 GBP" in str(caught.value) and "80.80 GBP" in str(caught.value)
    assert confirm.call_count == 0


def test_already_confirmed_cancellation_is_reported_as_existing(api: respx.MockRouter) -> None:
    api.get(GET_CANCELLATION).respond(200, json=fixture("order_cancellation_confirmed"))
    confirm = api.post(CONFIRM)
    state = call(lambda a: a.submit_refund(REQUEST))
    assert (state.status, state.existing, confirm.call_count) == ("succeeded", True, 0)


def test_lost_confirm_answer_is_recognised_after_the_retry(api: respx.MockRouter) -> None:
    api.get(GET_CANCELLATION).side_effect = [
        httpx.Response(200, json=cancellation()),
        httpx.Response(200, json=fixture("order_cancellation_confirmed")),
    ]
    confirm = api.post(CONFIRM)
    confirm.side_effect = [httpx.ConnectError("reset"), httpx.Response(422, json=ERRORS["invalid_state_error"]["body"])]
    state = call(lambda a: a.submit_refund(REQUEST))
    assert (state.status, state.existing, confirm.call_count) == ("succeeded", True, 2)


@pytest.mark.parametrize(
    ("confirmed_at", "expires_at", "status"),
    [
        ("2026-05-01T10:01:43Z", "2026-05-01T10:15:00Z", "succeeded"),
        (None, "2026-05-01T10:15:00Z", "pending"),
        (None, "2026-05-01T10:00:00Z", "failed"),
    ],
)
def test_get_refund_reads_the_cancellation(
    api: respx.MockRouter, confirmed_at: str | None, expires_at: str, status: str
) -> None:
    api.get(GET_CANCELLATION).respond(200, json=cancellation(confirmed_at=confirmed_at, expires_at=expires_at))
    state = call(lambda a: a.get_refund(CANCELLATION_ID))
    assert state.status == status
    assert (state.failure_reason is not None) == (status == "failed")


def test_unknown_refund_amount_is_a_supplier_error(api: respx.MockRouter) -> None:
    api.post(CREATE).respond(201, json=cancellation(refund_amount=None))
    with pytest.raises(ApiError) as caught:
        call(lambda a: a.quote(ORDER_ID))
    assert caught.value.error_type == "refund_amount_unknown"


def test_answer_without_the_data_envelope_is_a_supplier_error(api: respx.MockRouter) -> None:
    api.post(CREATE).respond(201, json=cancellation()["data"])
    with pytest.raises(ApiError, match="data"):
        call(lambda a: a.quote(ORDER_ID))


@pytest.mark.parametrize(
    "error_type",
    ["authentication_error", "airline_error", "invalid_state_error", "invalid_request_error", "validation_error",
     "api_error"],
)  # fmt: skip
def test_each_error_type_is_final_and_names_the_request_id(api: respx.MockRouter, error_type: str) -> None:
    example = ERRORS[error_type]
    route = api.post(CREATE).respond(example["status"], json=example["body"])
    with pytest.raises(ApiError) as caught:
        call(lambda a: a.quote(ORDER_ID))
    error = example["body"]["errors"][0]
    assert isinstance(caught.value, AuthError) == (error_type == "authentication_error")
    assert not isinstance(caught.value, TransportError)
    assert caught.value.status == example["status"]
    assert caught.value.error_type == error["code"]
    assert error["message"] in str(caught.value) and error_type in str(caught.value)
    assert f"request_id {example['body']['meta']['request_id']}" in str(caught.value)
    assert route.call_count == 1  # 500 included: Duffel asks not to retry it


@pytest.mark.parametrize("status", [500, 502])
def test_500_and_502_are_not_retried(api: respx.MockRouter, status: int) -> None:
    route = api.get(GET_CANCELLATION).respond(status, json=ERRORS["api_error"]["body"])
    with pytest.raises(ApiError) as caught:
        call(lambda a: a.get_refund(CANCELLATION_ID))
    assert (route.call_count, caught.value.status) == (1, status)


@pytest.mark.parametrize("status", [503, 504])
def test_503_and_504_are_retried(api: respx.MockRouter, status: int) -> None:
    route = api.get(GET_CANCELLATION)
    route.side_effect = [
        httpx.Response(status, json=ERRORS["api_error"]["body"]),
        httpx.Response(200, json=cancellation()),
    ]
    assert call(lambda a: a.get_refund(CANCELLATION_ID)).status == "pending"
    assert route.call_count == 2


def test_503_that_outlasts_every_retry_is_a_transport_error(api: respx.MockRouter) -> None:
    route = api.get(GET_CANCELLATION).respond(503, json=ERRORS["api_error"]["body"])
    with pytest.raises(TransportError) as caught:
        call(lambda a: a.get_refund(CANCELLATION_ID))
    assert route.call_count == 3
    assert "FZW0H3HdJwKk5HMAAKxG" in str(caught.value)


def test_connection_errors_are_retried(api: respx.MockRouter) -> None:
    route = api.get(GET_CANCELLATION)
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(200, json=cancellation())]
    assert call(lambda a: a.get_refund(CANCELLATION_ID)).id == CANCELLATION_ID


def test_429_waits_for_the_ratelimit_reset_date_and_pauses_everyone(api: respx.MockRouter) -> None:
    headers = {
        "ratelimit-limit": "60",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "Fri, 01 May 2026 10:00:00 GMT",  # already past: retry at once
    }
    route = api.get(GET_CANCELLATION)
    route.side_effect = [
        httpx.Response(429, json=ERRORS["rate_limit_error"]["body"], headers=headers),
        httpx.Response(200, json=cancellation()),
    ]
    limiter = RateLimiter(None)
    assert call(lambda a: a.get_refund(CANCELLATION_ID), limiter=limiter).status == "pending"
    assert route.call_count == 2 and limiter.pauses == 1


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"ratelimit-reset": "Fri, 01 May 2026 10:00:05 GMT"}, 5.0),
        ({"ratelimit-reset": "2026-05-01T10:00:30Z"}, 30.0),
        ({"ratelimit-reset": "2026-05-01T09:00:00Z"}, 0.0),
        ({"ratelimit-reset": "Fri, 01 May 2026 10:00:05 GMT", "Retry-After": "2"}, 2.0),
        ({"ratelimit-reset": "soon"}, None),
        ({}, None),
    ],
)
def test_rate_limit_wait(headers: dict[str, str], seconds: float | None) -> None:
    response = httpx.Response(429, headers=headers)
    assert rate_limit_wait(response, now=datetime(2026, 5, 1, 10, 0, tzinfo=UTC)) == seconds


def test_the_token_never_reaches_an_error_message(api: respx.MockRouter) -> None:
    body = copy.deepcopy(ERRORS["authentication_error"]["body"])
    body["errors"][0]["message"] = f"Token {TOKEN} is not valid"
    api.get(f"/air/orders/{ORDER_ID}").respond(401, json=body)
    with pytest.raises(AuthError) as caught:
        call(lambda a: a.fetch_order(ORDER_ID))
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)


# The submit pipeline drives the adapter through the Supplier Protocol only.


def plan(amount: str = "80.80") -> Plan:
    return Plan(ORDER_ID, "rfk_1", Decimal(amount), "GBP", "partial", None, (), date(2026, 5, 15))


def run_pipeline(tmp_path: Path, the_plan: Plan, now: datetime = NOW) -> Journal:
    journal = Journal.open(tmp_path / "journal.sqlite")
    journal.plan([the_plan])

    async def go() -> None:
        adapter = DuffelAdapter(connection(), clock=lambda: now)
        try:
            await Pipeline(adapter, journal, Settings(concurrency=1)).run(journal.entries())
        finally:
            await adapter.aclose()

    asyncio.run(go())
    return journal


def test_pipeline_recreates_an_expired_cancellation_and_records_refund_to(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    expired = cancellation(id="ore_expired", expires_at="2026-05-01T10:04:00Z")
    api.post(CREATE).side_effect = [httpx.Response(201, json=expired), httpx.Response(201, json=cancellation())]
    stale = api.post("/air/order_cancellations/ore_expired/actions/confirm")
    confirm = api.post(CONFIRM).respond(200, json=fixture("order_cancellation_confirmed"))
    journal = run_pipeline(tmp_path, plan())
    entry = journal.get(ORDER_ID)
    assert entry is not None
    assert (stale.call_count, confirm.call_count) == (0, 1)
    assert (entry.state, entry.refund_id, entry.refund_status) == ("accepted", CANCELLATION_ID, "succeeded")
    assert entry.answer is not None and entry.answer["refund_to"] == "balance"
    journal.close()


def test_pipeline_refuses_a_cancellation_below_the_decision(api: respx.MockRouter, tmp_path: Path) -> None:
    api.post(CREATE).respond(201, json=cancellation())
    confirm = api.post(CONFIRM)
    journal = run_pipeline(tmp_path, plan("90.80"))
    entry = journal.get(ORDER_ID)
    assert entry is not None
    assert (entry.state, entry.error_type, entry.quote_amount) == ("rejected", "quote_mismatch", Decimal("80.80"))
    assert confirm.call_count == 0
    journal.close()


# `refundctl smoke --adapter duffel`, end to end over respx.


def test_smoke_command_runs_the_whole_duffel_path(api: respx.MockRouter) -> None:
    later = {"expires_at": "2099-01-01T00:00:00Z"}
    api.get(f"/air/orders/{ORDER_ID}").respond(200, json=fixture("order"))
    api.post(CREATE).respond(201, json=cancellation(**later))
    confirmed = fixture("order_cancellation_confirmed")
    confirmed["data"].update(later)
    confirm = api.post(CONFIRM).respond(200, json=confirmed)
    api.get(GET_CANCELLATION).respond(200, json=confirmed)
    args = ["smoke", "--adapter", "duffel", "--api", API, "--order", ORDER_ID, "--as-of", "2026-05-01T10:05:00Z"]
    result = CliRunner().invoke(
        cli, [*args, "--commit"], env={"REFUNDCTL_TOKEN": TOKEN, "XDG_CONFIG_HOME": "/nonexistent"}
    )
    assert result.exit_code == 0, result.stderr
    assert "refund 80.80 GBP" in result.stdout
    assert "duffel-conditions/ZZ/refund_before_departure/before-departure" in result.stdout
    assert "Duffel order conditions" in result.stdout
    assert "80.80 GBP matches the decision" in result.stdout
    assert "succeeded" in result.stdout and confirm.call_count == 1
    assert result.stderr == ""


def test_smoke_command_reports_a_duffel_error_with_its_exchange(api: respx.MockRouter) -> None:
    api.get(f"/air/orders/{ORDER_ID}").respond(200, json=fixture("order"))
    api.post(CREATE).respond(422, json=ERRORS["airline_error"]["body"])
    args = ["smoke", "--adapter", "duffel", "--api", API, "--order", ORDER_ID, "--as-of", "2026-05-01T10:05:00Z"]
    result = CliRunner().invoke(cli, args, env={"REFUNDCTL_TOKEN": TOKEN, "XDG_CONFIG_HOME": "/nonexistent"})
    assert result.exit_code == 6
    assert "smoke failed at step quote (supplier error, exit 6)" in result.stderr
    assert "request_id FZW0H3HdJwKk5HMAAKxC" in result.stderr
    assert "> POST https://api.duffel.com/air/order_cancellations" in result.stderr
    assert "duffel-version: v2" in result.stderr.lower()
    assert TOKEN not in result.stderr + result.stdout
