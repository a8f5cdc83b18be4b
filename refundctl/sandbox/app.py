"""The sandbox refund API: Starlette routes behind a gate that authenticates and injects faults.

The quote source is injected (``Quoter``), so the API does not depend on how
refunds are decided; the CLI wires in the project's own engine and policies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundctl.money import ZERO, parse_amount, quantize
from refundctl.orders.model import Order
from refundctl.sandbox.faults import FaultConfig, Faults
from refundctl.sandbox.store import QuoteRecord, RefundRecord, SavedResponse, Store

Quoter = Callable[[Order, datetime], tuple[Decimal, str]]
"""The refund offered for an order at an instant: (amount, currency)."""

Clock = Callable[[], datetime]
Dropper = Callable[[Scope], bool]
"""Closes the connection of a request without a response; False if it cannot."""

MAX_BODY = 64 * 1024
MAX_KEY = 255
ERROR_TYPES = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
REFUND_FIELDS = frozenset({"order_id", "amount", "currency", "quote_id", "reason", "waivers"})


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    token: str
    faults: FaultConfig = field(default_factory=FaultConfig)
    quote_skew: Decimal = ZERO  # percent added to every quote (negative quotes less)
    quote_ttl: float = 900.0  # seconds
    settle_after: float = 2.0  # seconds a refund stays pending


class ApiProblem(Exception):
    """An error answer: ``{"error": {"type", "message", **extra}}`` with ``status``."""

    def __init__(self, status: int, error_type: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.extra = extra

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response(
            {"error": {"type": self.error_type, "message": str(self), **self.extra}}, self.status, headers
        )


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status, headers, media_type="application/json")


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiProblem(400, "invalid_request", f"request body over {MAX_BODY} bytes")
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiProblem(400, "invalid_request", f"request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiProblem(400, "invalid_request", "request body must be a JSON object")
    return value


def _string(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ApiProblem(400, "invalid_request", f"{name}: expected a non-empty string")
    return value


def _only(body: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ApiProblem(400, "invalid_request", f"unknown field(s): {', '.join(unknown)}")


class SandboxApi:
    """The route handlers and the state they share."""

    def __init__(
        self,
        orders: Iterable[Order],
        store: Store,
        quoter: Quoter,
        settings: SandboxSettings,
        faults: Faults,
        clock: Clock,
    ) -> None:
        self.orders = {order.id: order for order in orders}
        self.store = store
        self.quoter = quoter
        self.settings = settings
        self.faults = faults
        self.clock = clock

    def _order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiProblem(404, "not_found", f"no order {order_id!r}")
        return order

    async def get_order(self, request: Request) -> Response:
        await self.faults.delay()
        return json_response(self._order(request.path_params["order_id"]).raw)

    async def create_quote(self, request: Request) -> Response:
        body = await _json_object(request)
        _only(body, ("order_id",))
        order = self._order(str(_string(body, "order_id", required=True)))
        await self.faults.delay()
        now = self.clock()
        amount, currency = self.quoter(order, now)
        skewed = quantize(amount * (1 + self.settings.quote_skew / 100), currency)
        quote = QuoteRecord(
            id=f"q_{secrets.token_hex(12)}",
            order_id=order.id,
            amount=max(ZERO, skewed),
            currency=currency,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.quote_ttl),
        )
        self.store.add_quote(quote)
        return json_response(quote.to_dict(), 201)

    async def create_refund(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise ApiProblem(400, "missing_idempotency_key", "the Idempotency-Key header is required")
        if len(key) > MAX_KEY:
            raise ApiProblem(400, "invalid_request", f"Idempotency-Key: at most {MAX_KEY} characters")
        body = await _json_object(request)
        _only(body, REFUND_FIELDS)
        order_id = str(_string(body, "order_id", required=True))
        currency = str(_string(body, "currency", required=True))
        quote_id = _string(body, "quote_id", required=False)
        reason = _string(body, "reason", required=False)
        waivers = body.get("waivers", [])
        if not isinstance(waivers, list) or not all(isinstance(w, str) for w in waivers):
            raise ApiProblem(400, "invalid_request", "waivers: expected a list of strings")
        if not isinstance(body.get("amount"), str):
            raise ApiProblem(400, "invalid_request", 'amount: expected a decimal string such as "12.50"')

        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        state, saved = self.store.claim(key, fingerprint)
        if saved is not None:
            return Response(saved.body, saved.status, {"Idempotent-Replayed": "true"}, media_type="application/json")
        if state == "reused":
            raise ApiProblem(422, "idempotency_key_reused", "this Idempotency-Key was used with another request body")
        if state == "in_use":
            raise ApiProblem(409, "idempotency_key_in_use", "a request with this Idempotency-Key is being processed")
        try:
            refund = self._new_refund(order_id, currency, str(body["amount"]), quote_id, reason, tuple(waivers))
            # The latency is spent while the key is claimed, as a real supplier's processing is.
            await self.faults.delay()
            response = SavedResponse(fingerprint, 201, dumps(refund.to_dict(refund.created_at)))
        except BaseException:
            self.store.release(key)
            raise
        blocker = self.store.add_refund(refund, key, response, self.clock())
        if blocker is not None:
            raise ApiProblem(
                409,
                "order_already_refunded",
                f"order {order_id!r} already has refund {blocker.id}",
                refund_id=blocker.id,
            )
        return Response(response.body, 201, media_type="application/json")

    def _new_refund(
        self,
        order_id: str,
        currency: str,
        amount_text: str,
        quote_id: str | None,
        reason: str | None,
        waivers: tuple[str, ...],
    ) -> RefundRecord:
        """Validate the request against the order and quote; the refund to store."""
        order = self._order(order_id)
        if currency != order.currency:
            raise ApiProblem(
                422, "currency_mismatch", f"order {order_id!r} was paid in {order.currency}, not {currency}"
            )
        try:
            amount = parse_amount(amount_text, currency)
        except ValueError as exc:
            raise ApiProblem(400, "invalid_request", f"amount: {exc}") from None
        if amount <= ZERO:
            raise ApiProblem(400, "invalid_request", "amount: a refund must be above zero")
        if amount > order.paid:
            raise ApiProblem(422, "amount_exceeds_paid", f"amount {amount_text} is above the {order.paid} paid")
        now = self.clock()
        if quote_id is not None:
            quote = self.store.get_quote(quote_id)
            if quote is None or quote.order_id != order_id:
                raise ApiProblem(422, "quote_invalid", f"no quote {quote_id!r} for order {order_id!r}")
            if quote.expires_at <= now:
                raise ApiProblem(422, "quote_invalid", f"quote {quote_id!r} expired")
            if quote.amount != amount:
                raise ApiProblem(422, "quote_invalid", f"quote {quote_id!r} is for {quote.amount}, not {amount_text}")
        return RefundRecord(
            id=f"rf_{secrets.token_hex(12)}",
            order_id=order_id,
            amount=amount,
            currency=currency,
            created_at=now,
            settles_at=now + timedelta(seconds=self.settings.settle_after),
            final_status="failed" if self.faults.refund_fails() else "succeeded",
            quote_id=quote_id,
            reason=reason,
            waivers=waivers,
        )

    async def get_refund(self, request: Request) -> Response:
        await self.faults.delay()
        refund = self.store.get_refund(request.path_params["refund_id"])
        if refund is None:
            raise ApiProblem(404, "not_found", f"no refund {request.path_params['refund_id']!r}")
        return json_response(refund.to_dict(self.clock()))

    async def list_refunds(self, request: Request) -> Response:
        order_id = request.query_params.get("order_id")
        if not order_id:
            raise ApiProblem(400, "invalid_request", "the order_id query parameter is required")
        self._order(order_id)
        await self.faults.delay()
        now = self.clock()
        return json_response({"data": [r.to_dict(now) for r in self.store.refunds_for(order_id)]})


_OPENAPI = resources.files("refundctl.sandbox").joinpath("openapi.json").read_bytes()


async def _openapi(request: Request) -> Response:
    return Response(_OPENAPI, media_type="application/json")


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return exc.response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error_type = "not_found" if exc.status_code == 404 else "invalid_request"
    return ApiProblem(exc.status_code, error_type, str(exc.detail)).response(dict(exc.headers or {}))


async def _crash(request: Request, exc: Exception) -> Response:
    return ApiProblem(500, "internal_error", "the sandbox failed; this is a bug in refundctl").response()


class Gate:
    """ASGI middleware for ``/v1``: authentication, then the injected faults in order.

    401 first (an unauthenticated caller learns nothing), then the rate limit, then
    an injected 5xx before anything is processed; a dropped request is processed in
    full and its connection closed instead of answered.
    """

    def __init__(self, app: ASGIApp, token: str, faults: Faults, dropper: Dropper | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.faults = faults
        self.dropper = dropper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            problem = ApiProblem(401, "unauthorized", "missing or wrong bearer token")
            await problem.response({"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        limit = self.faults.rate()
        extra = limit.headers() if limit else {}
        if limit and not limit.allowed:
            problem = ApiProblem(429, "rate_limited", f"over {limit.limit} requests per second")
            await problem.response(extra)(scope, receive, send)
            return
        status = self.faults.error_status()
        if status is not None:
            await ApiProblem(status, ERROR_TYPES[status], "injected fault").response(extra)(scope, receive, send)
            return
        if self.dropper is not None and self.faults.drop():
            await self._drop(scope, receive)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [*message["headers"], *((k.encode(), v.encode()) for k, v in extra.items())]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        async def discard(message: Message) -> None:
            """The response is computed and thrown away: the client never sees it."""

        await self.app(scope, receive, discard)
        assert self.dropper is not None
        if not self.dropper(scope):
            raise RuntimeError("the server cannot drop this connection")
        # Return only once the server has seen the connection close, so it does not
        # try to answer the request itself.
        while (await receive())["type"] != "http.disconnect":
            pass


def create_app(
    orders: Iterable[Order],
    store: Store,
    quoter: Quoter,
    settings: SandboxSettings,
    *,
    dropper: Dropper | None = None,
    clock: Clock = utcnow,
) -> ASGIApp:
    """The sandbox ASGI app; without a ``dropper`` the drop fault is off."""
    faults = Faults(settings.faults)
    api = SandboxApi(orders, store, quoter, settings, faults, clock)
    app = Starlette(
        routes=[
            Route("/openapi.json", _openapi),
            Route("/v1/orders/{order_id}", api.get_order),
            Route("/v1/refund_quotes", api.create_quote, methods=["POST"]),
            Route("/v1/refunds", api.create_refund, methods=["POST"]),
            Route("/v1/refunds", api.list_refunds, methods=["GET"]),
            Route("/v1/refunds/{refund_id}", api.get_refund),
        ],
        exception_handlers={ApiProblem: _problem, HTTPException: _http_exception, Exception: _crash},
    )
    return Gate(app, settings.token, faults, dropper)
