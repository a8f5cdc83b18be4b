"""Retries with tenacity: which answers retry, how long to wait, when to give up.

The policy (statuses, exceptions, how ``Retry-After`` is read) belongs to each
adapter, since suppliers disagree (one retries 500, another asks clients not
to). ``send_with_retry`` is the one loop every adapter uses: each attempt waits
for the shared rate limiter, a 429 pauses that limiter for everyone, and a
retryable answer is retried after the server's ``Retry-After`` (capped) or else
exponential backoff with jitter, until ``max_attempts`` or ``max_time``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, stop_before_delay
from tenacity.wait import wait_base, wait_exponential_jitter

from refundctl.client._ratelimit import RateLimiter
from refundctl.client._redact import redact
from refundctl.client._transport import describe_failure
from refundctl.errors import RetriesExhausted

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date; None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # delay-seconds is ASCII digits; float() rejects some Unicode ones
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_after_header(response: httpx.Response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def _retryable_status(response: httpx.Response) -> bool:
    return response.status_code in RETRYABLE_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one supplier wants to be retried; the limits are the user's to set."""

    retryable: Callable[[httpx.Response], bool] = _retryable_status
    retry_after: Callable[[httpx.Response], float | None] = retry_after_header
    exceptions: tuple[type[BaseException], ...] = (httpx.TransportError,)
    max_attempts: int = 8
    max_time: float = 120.0  # seconds from the first attempt; no retry starts after it
    backoff_initial: float = 0.25
    backoff_max: float = 20.0
    jitter: float = 0.25
    retry_after_cap: float = 60.0  # a server asking for an hour does not stall a run for an hour
    describe: Callable[[httpx.Response], str] = lambda response: ""  # the supplier's error, for the report


class RetryableStatus(Exception):
    """An answer the policy retries; carries the response for the wait and the final report."""

    def __init__(self, response: httpx.Response, retry_after: float | None) -> None:
        self.response = response
        self.retry_after = retry_after
        super().__init__(f"HTTP {response.status_code}")


class _WaitRetryAfter(wait_base):
    """The server's ``Retry-After`` when it gave one (capped), else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._cap = policy.retry_after_cap
        self._backoff = wait_exponential_jitter(
            multiplier=policy.backoff_initial, max=policy.backoff_max, jitter=policy.jitter
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(exc, RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self._cap)
        return float(self._backoff(retry_state))


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy,
    limiter: RateLimiter,
    *,
    label: str = "",
    token: str = "",
) -> tuple[httpx.Response, int]:
    """Send until the answer is final; returns it with the number of attempts made.

    Raises :class:`RetriesExhausted` when the last attempt was still retryable: its message
    names the request (``label``, e.g. ``POST /v1/refunds``) and the last answer as the
    policy describes it, with ``token`` redacted. Adapters do not re-wrap it.
    """
    try:
        return await _send_with_retry(send, policy, limiter)
    except RetriesExhausted as exc:
        if not label:
            raise
        detail = "" if exc.response is None else policy.describe(exc.response)
        message = redact(f"{label}: {exc}{detail}", token)
        raise RetriesExhausted(message, attempts=exc.attempts, response=exc.response) from None


async def _send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]], policy: RetryPolicy, limiter: RateLimiter
) -> tuple[httpx.Response, int]:
    retried: tuple[type[BaseException], ...] = (RetryableStatus, *policy.exceptions)
    attempts = 0
    first_failure: BaseException | None = None

    async def attempt() -> httpx.Response:
        nonlocal attempts, first_failure
        if first_failure is not None:
            # tenacity's attempt 1 is the failure already met on the fast path: it waits and counts from it.
            failure, first_failure = first_failure, None
            raise failure
        await limiter.acquire()
        attempts += 1
        response = await send()
        if policy.retryable(response):
            delay = policy.retry_after(response)
            if response.status_code == 429:
                limiter.pause(min(delay if delay is not None else policy.backoff_initial, policy.retry_after_cap))
            raise RetryableStatus(response, delay)
        return response

    # Fast path: most requests succeed at once, and building a tenacity controller costs
    # about as much as the request itself (measured: it halved the submit rate).
    try:
        return await attempt(), attempts
    except retried as exc:
        first_failure = exc

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.max_time),
        wait=_WaitRetryAfter(policy),
        retry=retry_if_exception_type(retried),
        reraise=True,
    )
    try:
        return await retrying(attempt), attempts
    except RetryableStatus as exc:
        raise RetriesExhausted(
            f"gave up after {attempts} attempts: last answer HTTP {exc.response.status_code}",
            attempts=attempts,
            response=exc.response,
        ) from None
    except policy.exceptions as exc:
        # These messages name the URL, never the headers, so the token cannot leak here.
        raise RetriesExhausted(
            f"gave up after {attempts} attempts: {describe_failure(exc)}", attempts=attempts, response=None
        ) from None
