"""Retry policy and loop: each retryable status and failure, Retry-After, limits (respx)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar
from unittest.mock import MagicMock

import httpx
import pytest
import respx
from httpx_aiohttp import AiohttpTransport
from tenacity import RetryCallState

from refundctl.client import RateLimiter, RetriesExhausted, RetryPolicy, build_client, parse_retry_after
from refundctl.client._retry import RetryableStatus, _WaitRetryAfter, send_with_retry

API = "http://api.test"
T = TypeVar("T")
FAST = RetryPolicy(max_attempts=4, max_time=10, backoff_initial=0.001, backoff_max=0.01, jitter=0.001)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def _send(policy: RetryPolicy = FAST, limiter: RateLimiter | None = None) -> tuple[httpx.Response, int]:
    async with build_client(API, "tok", concurrency=2) as client:
        return await send_with_retry(lambda: client.post("/v1/refunds", json={}), policy, limiter or RateLimiter(None))


def test_client_uses_aiohttp_transport_and_respx_can_mock_it() -> None:
    client = build_client(API, "secret", concurrency=4)
    assert isinstance(client._transport, AiohttpTransport)
    assert client.headers["Authorization"] == "Bearer secret"
    with respx.mock(using="httpx") as router:
        route = router.get(f"{API}/ping").respond(204)
        assert run(client.get("/ping")).status_code == 204
    assert route.called
    run(client.aclose())


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_status_is_retried(status: int) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(f"{API}/v1/refunds")
        route.side_effect = [httpx.Response(status, headers={"Retry-After": "0"}), httpx.Response(201, json={})]
        response, attempts = run(_send())
    assert (response.status_code, attempts, route.call_count) == (201, 2, 2)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")]
)
def test_transport_failure_is_retried(exc: Exception) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(f"{API}/v1/refunds")
        route.side_effect = [exc, httpx.Response(201, json={})]
        response, attempts = run(_send())
    assert (response.status_code, attempts) == (201, 2)


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422])
def test_other_statuses_are_final(status: int) -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(f"{API}/v1/refunds").respond(status, json={"error": {"type": "x", "message": "m"}})
        response, attempts = run(_send())
    assert (response.status_code, attempts, route.call_count) == (status, 1, 1)


def test_gives_up_after_max_attempts_with_the_last_answer() -> None:
    with respx.mock(using="httpx") as router:
        route = router.post(f"{API}/v1/refunds").respond(503)
        with pytest.raises(RetriesExhausted) as info:
            run(_send())
    assert route.call_count == 4
    assert info.value.attempts == 4
    assert info.value.status == 503
    assert "4 attempts" in str(info.value)


def test_gives_up_on_transport_errors_without_leaking_the_token() -> None:
    with respx.mock(using="httpx") as router:
        router.post(f"{API}/v1/refunds").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(RetriesExhausted) as info:
            run(_send())
    assert info.value.response is None
    assert "ConnectError" in str(info.value)
    assert "tok" not in str(info.value)


def test_max_time_stops_before_a_wait_that_would_pass_it() -> None:
    policy = RetryPolicy(max_attempts=50, max_time=0.5, backoff_initial=0.001)
    with respx.mock(using="httpx") as router:
        route = router.post(f"{API}/v1/refunds").respond(503, headers={"Retry-After": "1"})
        with pytest.raises(RetriesExhausted):
            run(_send(policy))
    assert route.call_count == 1  # the server asked for 1 s, more than the 0.5 s budget


def test_429_pauses_the_shared_limiter() -> None:
    limiter = RateLimiter(None)
    with respx.mock(using="httpx") as router:
        router.post(f"{API}/v1/refunds").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(201)]
        )
        run(_send(limiter=limiter))
    assert limiter.pauses == 1


def test_policy_decides_what_retries() -> None:
    never = RetryPolicy(retryable=lambda r: False, max_attempts=4)
    with respx.mock(using="httpx") as router:
        route = router.post(f"{API}/v1/refunds").respond(503)
        response, attempts = run(_send(never))
    assert (response.status_code, attempts, route.call_count) == (503, 1, 1)


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # a date in the past: go now
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
        ("\u00b2", None),  # a Unicode digit float() cannot read: unusable, not a crash
        ("\u0663", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def _state_after(exc: BaseException, attempt: int = 1) -> RetryCallState:
    state = RetryCallState(MagicMock(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_wait_uses_retry_after_capped_else_backoff_with_jitter() -> None:
    policy = RetryPolicy(retry_after_cap=10, backoff_initial=1, backoff_max=100, jitter=0.5)
    wait = _WaitRetryAfter(policy)
    response = httpx.Response(429)
    assert wait(_state_after(RetryableStatus(response, 4.0))) == 4.0
    assert wait(_state_after(RetryableStatus(response, 3600.0))) == 10.0
    third = wait(_state_after(httpx.ConnectError("x"), attempt=3))
    assert 4.0 <= third <= 4.5  # 1 * 2**2 plus up to 0.5 of jitter
    assert 1.0 <= wait(_state_after(RetryableStatus(response, None))) <= 1.5
