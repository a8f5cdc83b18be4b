"""The one seam between the submit pipeline and a supplier.

The pipeline drives any :class:`Supplier` without knowing which: it asks for a
quote, submits a refund under an idempotency key, and reads a refund's state.
Each adapter owns its wire format, its error mapping and its retry policy, and
raises only ``refundctl.errors`` exceptions: ``AuthError`` (stop the run),
``ApiError`` (this refund is rejected, final) and ``TransportError`` (no usable
answer after every retry; safe to resend with the same key later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

import httpx

from refundctl.client import EventHooks, RateLimiter, RetryPolicy, build_client, redact
from refundctl.errors import AuthError

# Suppliers answer pending, succeeded or failed; payment providers (Stripe) also requires_action and canceled.
RefundStatus = Literal["pending", "requires_action", "succeeded", "failed", "canceled"]
FINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True, slots=True)
class Quote:
    id: str
    order_id: str
    amount: Decimal
    currency: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    order_id: str
    amount: Decimal
    currency: str
    idempotency_key: str
    quote_id: str | None = None
    reason: str | None = None
    waivers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RefundState:
    id: str
    order_id: str
    amount: Decimal
    currency: str
    status: RefundStatus
    failure_reason: str | None
    raw: dict[str, Any]  # the supplier's answer, kept verbatim in the journal
    attempts: int = 1  # HTTP attempts this answer took
    existing: bool = False  # the supplier already held this refund (replay, or created by an earlier run)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Connection:
    """What every adapter needs to open: where, who, how hard."""

    base_url: str
    token: str = field(repr=False)  # never in a traceback or a log line
    limiter: RateLimiter
    concurrency: int = 16
    max_attempts: int = 8
    max_time: float = 120.0
    timeout: float = 30.0
    backoff: float = 0.25  # first retry wait in seconds; doubles per attempt, plus as much jitter
    event_hooks: EventHooks | None = None  # httpx event hooks, e.g. smoke's record of each exchange

    def retry_policy(self, **rules: Any) -> RetryPolicy:
        """The adapter's retry ``rules`` (which answers retry, how waits are read and answers described),
        within the user's limits."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            max_time=self.max_time,
            backoff_initial=self.backoff,
            jitter=self.backoff,
            **rules,
        )

    def open_client(self) -> httpx.AsyncClient:
        return build_client(
            self.base_url, self.token, concurrency=self.concurrency, timeout=self.timeout, event_hooks=self.event_hooks
        )


class Supplier(Protocol):
    """A supplier's refund API, as the pipeline sees it."""

    supports_quotes: bool

    async def fetch_order(self, order_id: str) -> dict[str, Any]: ...

    async def quote(self, order_id: str) -> Quote: ...

    async def submit_refund(self, request: RefundRequest) -> RefundState: ...

    async def get_refund(self, refund_id: str) -> RefundState: ...

    async def aclose(self) -> None: ...


def error_object(response: httpx.Response) -> dict[str, Any]:
    """The ``{"error": {...}}`` object of an error answer (the sandbox's and Stripe's shape), or ``{}``."""
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def refuse_if_unauthorized(response: httpx.Response, who: str, description: str, token: str) -> None:
    """401/403: AuthError (``who`` refused the credential), with the answer's own words and type, token redacted."""
    if response.status_code in (401, 403):
        raise AuthError(
            redact(f"{who} (HTTP {response.status_code}){description}", token),
            status=response.status_code,
            error_type=error_object(response).get("type"),
        )
