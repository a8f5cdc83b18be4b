"""The sandbox refund API: Starlette routes behind a gate that authenticates and injects faults.

Error answers and request bodies are ``problems``' job; authentication and faults are the ``gate``'s;
headers and body size, for every route, the ``guard``'s.

The quote source is injected (``Quoter``), so the API does not depend on how
refunds are decided; the CLI wires in the project's own engine and policies.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from refundctl.money import ZERO, parse_amount, quantize
from refundctl.orders.model import Order
from refundctl.sandbox import payments
from refundctl.sandbox.faults import FaultConfig, Faults
from refundctl.sandbox.gate import Answer, Dropper, Gate
from refundctl.sandbox.guard import Guard
from refundctl.sandbox.payments import PaymentLedger, create_payments_app
from refundctl.sandbox.problems import (
    EXCEPTION_HANDLERS,
    ApiProblem,
    body_fields,
    dumps,
    json_response,
)
from refundctl.sandbox.store import QuoteRecord, RefundRecord, SavedResponse, Store
from refundctl.validate import string

Quoter = Callable[[Order, datetime], tuple[Decimal, str]]
"""The refund offered for an order at an instant: (amount, currency)."""

Clock = Callable[[], datetime]

MAX_KEY = 255
QUOTE_FIELDS = frozenset({"order_id"})
REFUND_FIELDS = frozenset({"order_id", "amount", "currency", "quote_id", "reason", "waivers"})


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise ValueError("expected a list of strings")
    return value


def _decimal_string(value: object) -> str:
    """Parsed once the order's currency is known."""
    if not isinstance(value, str):
        raise ValueError('expected a decimal string such as "12.50"')
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    token: str
    faults: FaultConfig = field(default_factory=FaultConfig)
    quote_skew: Decimal = ZERO  # percent added to every quote (negative quotes less)
    quote_ttl: float = 900.0  # seconds
    settle_after: float = 2.0  # seconds a refund stays pending
    payments_token: str = ""  # the payments API's own secret key (served when create_app gets a ledger)


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
        body = await body_fields(request, QUOTE_FIELDS)
        order = self._order(body.get("order_id", string, ""))  # a problem raises first
        await self.faults.delay()
        now = self.clock()
        amount, currency = self._offer(order, now)
        quote = QuoteRecord(
            id=f"q_{secrets.token_hex(12)}",
            order_id=order.id,
            amount=amount,
            currency=currency,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.quote_ttl),
        )
        self.store.add_quote(quote)
        return json_response(quote.to_dict(), 201)

    def _offer(self, order: Order, now: datetime) -> tuple[Decimal, str]:
        """What the supplier owes now under its own rules (``--quote-skew`` applied): its quotes and its cap."""
        amount, currency = self.quoter(order, now)
        return max(ZERO, quantize(amount * (1 + self.settings.quote_skew / 100), currency)), currency

    async def create_refund(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key", "").strip()
        if not key:
            raise ApiProblem(400, "missing_idempotency_key", "the Idempotency-Key header is required")
        if len(key) > MAX_KEY:
            raise ApiProblem(400, "invalid_request", f"Idempotency-Key: at most {MAX_KEY} characters")
        fields = await body_fields(request, REFUND_FIELDS)
        order_id = fields.get("order_id", string, "")  # the defaults: never, a problem raises first
        currency = fields.get("currency", string, "")
        quote_id = fields.get("quote_id", string, required=False)
        reason = fields.get("reason", string, required=False)
        waivers: list[str] = fields.get("waivers", _strings, [], required=False)
        amount = fields.get("amount", _decimal_string, "")
        body = fields.data

        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        state, saved = self.store.claim(key, fingerprint)
        if saved is not None:
            return Response(saved.body, saved.status, {"Idempotent-Replayed": "true"}, media_type="application/json")
        if state == "reused":
            raise ApiProblem(422, "idempotency_key_reused", "this Idempotency-Key was used with another request body")
        if state == "in_use":
            raise ApiProblem(409, "idempotency_key_in_use", "a request with this Idempotency-Key is being processed")
        try:
            refund = self._new_refund(order_id, currency, amount, quote_id, reason, tuple(waivers))
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
        if quote_id is None:
            # A supplier pays what it owes, never a platform-funded waiver on top: a refund above its own
            # obligation is refused, as a real supplier would (a quote is a promise and is honoured below).
            owed, _ = self._offer(order, now)
            if amount > owed:
                raise ApiProblem(
                    422,
                    "amount_exceeds_obligation",
                    f"amount {amount_text} is above the {owed} the supplier owes for order {order_id!r} under its "
                    "own fare rules and the regulations",
                )
        else:
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


@functools.cache
def openapi_document() -> bytes:
    """The API's OpenAPI document, read on first request rather than at import."""
    return resources.files("refundctl.sandbox").joinpath("openapi.json").read_bytes()


async def _openapi(request: Request) -> Response:
    return Response(openapi_document(), media_type="application/json")


def create_app(
    orders: Iterable[Order],
    store: Store,
    quoter: Quoter,
    settings: SandboxSettings,
    *,
    dropper: Dropper | None = None,
    clock: Clock = utcnow,
    ledger: PaymentLedger | None = None,
) -> ASGIApp:
    """The sandbox ASGI app; without a ``dropper`` the drop fault is off, without a ``ledger`` the payments API."""
    faults = Faults(settings.faults)
    api = SandboxApi(orders, store, quoter, settings, faults, clock)
    routes: list[BaseRoute] = [
        Route("/openapi.json", _openapi),
        Route("/v1/orders/{order_id}", api.get_order),
        Route("/v1/refund_quotes", api.create_quote, methods=["POST"]),
        Route("/v1/refunds", api.create_refund, methods=["POST"]),
        Route("/v1/refunds", api.list_refunds, methods=["GET"]),
        Route("/v1/refunds/{refund_id}", api.get_refund),
    ]
    if ledger is not None:
        # The payment provider's API beside the supplier's, with its own key and the same faults.
        routes.append(Mount(payments.PREFIX, create_payments_app(ledger, faults, settings.settle_after, clock)))
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    gated: ASGIApp = Gate(app, settings.token, faults, dropper)
    answers: dict[str, Answer] = {}
    if ledger is not None:
        if not settings.payments_token:
            raise ValueError("the payments API needs its own secret key (SandboxSettings.payments_token)")
        prefix = f"{payments.PREFIX}/"
        gated = Gate(
            gated, settings.payments_token, faults, dropper, prefix=f"{prefix}v1/", answer=payments.stripe_answer
        )
        answers[prefix] = payments.stripe_answer
    return Guard(gated, answers)
