"""Adapter for Duffel's flights API (https://duffel.com/docs/api), test mode or live.

Its conventions: every request carries ``Duffel-Version``; bodies travel in a
``{"data": ...}`` envelope; errors are ``{"errors": [{type, code, title, message}],
"meta": {"request_id"}}`` and the request id goes into every error message.

Retries (Duffel's own rules, see https://duffel.com/docs/api/overview/errors): 503,
504 and 429 are retried, after ``Retry-After`` or else the ``ratelimit-reset`` date;
500 and 502 are final ("You should not retry this request"); connection errors retry.

A refund is Duffel's two steps: ``quote`` creates an order cancellation (its
``refund_amount``/``refund_currency`` are the quote), ``submit_refund`` confirms it.
A cancellation is never confirmed at or after its ``expires_at``: the adapter raises
``QuoteRejected`` instead, and the pipeline asks for a new one. A confirmed
cancellation's ``refund_to`` is in the answer the journal keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote as urlquote

import httpx

from refundctl.adapters.base import Connection, Quote, RefundRequest, RefundState, RefundStatus
from refundctl.adapters.duffel_orders import conditions_policy, to_order
from refundctl.client import parse_retry_after, redact, send_with_retry
from refundctl.errors import ApiError, AuthError, QuoteRejected
from refundctl.money import fmt, parse_amount
from refundctl.policy.model import Policy

DUFFEL_VERSION = "v2"
RETRYABLE_STATUSES = frozenset({429, 503, 504})
EXPIRY_MARGIN = timedelta(seconds=5)  # never confirm a cancellation this close to its expiry


def utcnow() -> datetime:
    return datetime.now(UTC)


def errors_of(response: httpx.Response) -> tuple[list[dict[str, Any]], str | None]:
    """The ``errors`` list of an error answer and its ``meta.request_id``."""
    try:
        body = response.json()
    except ValueError:
        return [], None
    if not isinstance(body, dict):
        return [], None
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    meta = body.get("meta")
    request_id = meta.get("request_id") if isinstance(meta, dict) else None
    return errors, request_id if isinstance(request_id, str) else None


def describe(response: httpx.Response) -> str:
    """`` (invalid_state_error/already_cancelled: message; request_id ...)``, or ``""``."""
    errors, request_id = errors_of(response)
    parts = [f"{e.get('type', 'error')}/{e.get('code', '?')}: {e.get('message') or e.get('title', '')}" for e in errors]
    if request_id:
        parts.append(f"request_id {request_id}")
    return f" ({'; '.join(parts)})" if parts else ""


def rate_limit_wait(response: httpx.Response, now: datetime | None = None) -> float | None:
    """Seconds until a retry: ``Retry-After``, else the ``ratelimit-reset`` date (HTTP or ISO 8601)."""
    given = parse_retry_after(response.headers.get("Retry-After"), now)
    if given is not None:
        return given
    reset = response.headers.get("ratelimit-reset")
    if reset is None:
        return None
    wait = parse_retry_after(reset, now)
    if wait is not None:
        return wait
    try:
        when = datetime.fromisoformat(reset.strip())
    except ValueError:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utcnow())).total_seconds())


def _retryable(response: httpx.Response) -> bool:
    return response.status_code in RETRYABLE_STATUSES


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class DuffelAdapter:
    supports_quotes = True

    def __init__(
        self,
        connection: Connection,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._conn = connection
        self._client = client or connection.open_client()
        self._client.headers.update({"Duffel-Version": DUFFEL_VERSION, "Accept": "application/json"})
        self._clock = clock
        self._policy = connection.retry_policy(retryable=_retryable, retry_after=rate_limit_wait, describe=describe)
        self._orders: dict[str, dict[str, Any]] = {}  # Duffel order objects fetched, by id
        self._cancellations: dict[str, dict[str, Any]] = {}  # order cancellations seen, by id

    async def aclose(self) -> None:
        await self._client.aclose()

    def _redact(self, text: str) -> str:
        return redact(text, self._conn.token)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[dict[str, Any], int]:
        """The ``data`` object of one logical request (with Duffel's retries), or a refundctl error."""
        payload = None if body is None else {"data": body}
        response, attempts = await send_with_retry(
            lambda: self._client.request(method, path, json=payload),
            self._policy,
            self._conn.limiter,
            label=f"{method} {path}",
            token=self._conn.token,
        )
        if response.status_code >= 400:
            raise self._error(method, path, response)
        try:
            data = response.json().get("data")
        except (ValueError, AttributeError):
            data = None
        if not isinstance(data, dict):
            raise ApiError(f'{method} {path}: Duffel answered without a {{"data": {{...}}}} object')
        return data, attempts

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        errors, _ = errors_of(response)
        first = errors[0] if errors else {}
        error_type = first.get("code") or first.get("type")
        kind = AuthError if response.status_code in (401, 403) else ApiError
        if response.status_code in (401, 403):
            what = f"Duffel refused the token (HTTP {response.status_code})"
        else:
            what = f"{method} {path}: HTTP {response.status_code}"
        return kind(self._redact(what + describe(response)), status=response.status_code, error_type=error_type)

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        """The order in refundctl's format (``GET /air/orders/{id}``)."""
        data, _ = await self._call("GET", f"/air/orders/{urlquote(order_id, safe='')}")
        order = to_order(data)
        self._orders[order_id] = data
        return order

    def order_policy(self, order_id: str) -> tuple[Policy | None, str]:
        """The airline's refund rule from a fetched order's conditions, and a sentence saying so."""
        data = self._orders.get(order_id)
        if data is None:
            return None, f"order {order_id} was not fetched from Duffel"
        return conditions_policy(data, to_order(data))

    async def quote(self, order_id: str) -> Quote:
        """A new (unconfirmed) order cancellation: what Duffel would refund, until when."""
        data, _ = await self._call("POST", "/air/order_cancellations", {"order_id": order_id})
        self._cancellations[str(data.get("id"))] = data
        state = self._state(data, "POST /air/order_cancellations")
        return Quote(state.id, state.order_id, state.amount, state.currency, _instant(data.get("expires_at")))

    async def submit_refund(self, request: RefundRequest) -> RefundState:
        """Confirm the cancellation quoted (or a new one matching ``request``) before it expires."""
        if request.quote_id is None:
            fresh = await self.quote(request.order_id)
            request = replace(request, quote_id=fresh.id)
        assert request.quote_id is not None
        cancellation = self._cancellations.get(request.quote_id) or await self._get(request.quote_id)
        state = self._state(cancellation, f"order cancellation {request.quote_id}")
        self._check(request, state)
        if cancellation.get("confirmed_at"):
            return replace(state, existing=True)  # confirmed by an earlier attempt or run
        self._check_unexpired(cancellation)
        path = f"/air/order_cancellations/{urlquote(request.quote_id, safe='')}/actions/confirm"
        try:
            data, attempts = await self._call("POST", path)
        except AuthError:
            raise
        except ApiError:
            # A confirm whose answer was lost and was retried is refused; the cancellation says what happened.
            current = await self._get(request.quote_id)
            if current.get("confirmed_at"):
                return replace(self._state(current, path), existing=True)
            self._check_unexpired(current)
            raise
        self._cancellations[request.quote_id] = data
        return replace(self._state(data, path), attempts=attempts)

    def _check(self, request: RefundRequest, state: RefundState) -> None:
        if state.order_id != request.order_id or state.currency != request.currency or state.amount != request.amount:
            raise ApiError(
                f"order cancellation {state.id} refunds {fmt(state.amount, state.currency)} {state.currency} "
                f"for order {state.order_id}; refundctl would refund {fmt(request.amount, request.currency)} "
                f"{request.currency} for order {request.order_id}: not confirmed",
                error_type="quote_mismatch",
            )

    def _check_unexpired(self, cancellation: dict[str, Any]) -> None:
        expires = _instant(cancellation.get("expires_at"))
        if expires is not None and expires - EXPIRY_MARGIN <= self._clock():
            raise QuoteRejected(
                f"order cancellation {cancellation.get('id')} expired at {expires.isoformat()}: not confirmed",
                error_type="cancellation_expired",
            )

    async def _get(self, cancellation_id: str) -> dict[str, Any]:
        data, _ = await self._call("GET", f"/air/order_cancellations/{urlquote(cancellation_id, safe='')}")
        self._cancellations[cancellation_id] = data
        return data

    async def get_refund(self, refund_id: str) -> RefundState:
        """A cancellation's state: confirmed is succeeded, expired unconfirmed is failed, else pending."""
        data, attempts = await self._call("GET", f"/air/order_cancellations/{urlquote(refund_id, safe='')}")
        return replace(self._state(data, f"order cancellation {refund_id}"), attempts=attempts)

    def _state(self, data: dict[str, Any], where: str) -> RefundState:
        currency, amount = data.get("refund_currency"), data.get("refund_amount")
        if amount is None:
            raise ApiError(
                f"{where}: Duffel could not get a refund amount from the airline (refund_amount is null)",
                error_type="refund_amount_unknown",
            )
        try:
            value = parse_amount(amount, str(currency))
            expires = _instant(data.get("expires_at"))
            ident, order_id = str(data["id"]), str(data["order_id"])
        except (KeyError, ValueError) as exc:
            raise ApiError(f"{where}: malformed order cancellation ({exc})") from None
        status: RefundStatus = "pending"
        reason = None
        if data.get("confirmed_at"):
            status = "succeeded"
        elif expires is not None and expires <= self._clock():
            status, reason = "failed", f"expired at {expires.isoformat()} before it was confirmed"
        return RefundState(ident, order_id, value, str(currency), status, reason, data)
