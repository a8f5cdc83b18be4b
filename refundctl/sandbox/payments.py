"""The sandbox's payment provider: Stripe's Refunds API in test mode, under ``/stripe``.

The platform refunds its own share of a refund here, against the order's original
payment (its ``payment_reference``: a PaymentIntent ``pi_...`` or a Charge ``ch_...``,
captured for what the order paid). As Stripe does (https://docs.stripe.com/api/refunds):
``POST /stripe/v1/refunds`` takes a form-encoded body (``payment_intent`` or ``charge``,
``amount`` in the smallest unit, ``reason``, ``metadata[...]``) and an optional
``Idempotency-Key``; a key's first answer is replayed (``Idempotent-Replayed: true``), a key
in use answers 409 and a key reused with other parameters 400 ``idempotency_error``. No
payment is refunded beyond what it captured. Refunds stay ``pending`` for ``settle_after``
seconds, then end ``succeeded`` (or ``failed`` at the ``--failure-rate``). Errors are
``{"error": {"type", "code", "message", "param"}}``. Authentication (a ``Bearer`` secret key
of its own) and the fault flags are the sandbox's, through the same gate.
Refunds and bound keys live in memory, or with ``--state`` in its SQLite file too
(:mod:`refundctl.sandbox.payments_state`), so a restarted sandbox replays them.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from refundctl.adapters.stripe_units import UnrepresentableAmount, stripe_unit, to_minor
from refundctl.orders.model import Order
from refundctl.sandbox.faults import Faults
from refundctl.sandbox.payments_state import KeyRow, PaymentsState, RefundRow
from refundctl.sandbox.problems import dumps, json_response

PREFIX = "/stripe"
MAX_KEY = 255
REASONS = ("duplicate", "fraudulent", "requested_by_customer")
FAILURE_REASON = "expired_or_canceled_card"
# The gate's error kinds, as Stripe writes them: (type, code).
GATE_ERRORS = {
    "unauthorized": ("invalid_request_error", None),
    "rate_limited": ("invalid_request_error", "rate_limit"),
    "invalid_request": ("invalid_request_error", None),  # the guard's, for every route
    "request_too_large": ("invalid_request_error", None),
}
LIVE: tuple[str, ...] = ("pending", "requires_action", "succeeded")  # statuses that hold captured money


class StripeProblem(Exception):
    def __init__(
        self, status: int, error_type: str, message: str, *, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "code": code, "message": message, "param": param}}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response(self.body, self.status, headers)


def stripe_answer(status: int, error_type: str, message: str, headers: dict[str, str]) -> Response:
    """The gate's errors (401, 429, injected 5xx) in Stripe's shape."""
    kind, code = GATE_ERRORS.get(error_type, ("api_error", None))
    return StripeProblem(status, kind, message, code=code).response(headers)


def _invalid(message: str, *, code: str, param: str | None = None) -> StripeProblem:
    return StripeProblem(400, "invalid_request_error", message, code=code, param=param)


@dataclass(frozen=True, slots=True)
class Payment:
    reference: str
    order_id: str
    currency: str  # lowercase, as Stripe writes it
    captured: int  # smallest unit


@dataclass(frozen=True, slots=True)
class StripeRefund:
    id: str
    payment: Payment
    amount: int
    created_at: datetime
    settles_at: datetime
    final_status: Literal["succeeded", "failed"]
    reason: str | None
    metadata: dict[str, str]

    def status_at(self, now: datetime) -> str:
        return self.final_status if now >= self.settles_at else "pending"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        status = self.status_at(now)
        is_intent = self.payment.reference.startswith("pi_")
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "currency": self.payment.currency,
            "payment_intent": self.payment.reference if is_intent else None,
            "charge": None if is_intent else self.payment.reference,
            "created": int(self.created_at.timestamp()),
            "metadata": self.metadata,
            "reason": self.reason,
            "status": status,
            "failure_reason": FAILURE_REASON if status == "failed" else None,
        }


@dataclass(frozen=True, slots=True)
class _Saved:
    fingerprint: str
    status: int
    body: bytes


class PaymentLedger:
    """Payments, their refunds and idempotency keys; one lock makes check-then-store atomic.

    With a ``state``, what was stored before a restart is read back, and every refund and
    bound key is written through to it before it is answered."""

    def __init__(self, payments: Iterable[Payment], state: PaymentsState | None = None) -> None:
        self.payments = {p.reference: p for p in payments}
        self.refunds: dict[str, StripeRefund] = {}  # insertion order is creation order
        self._saved: dict[str, _Saved] = {}
        self._inflight: dict[str, str] = {}
        self.lock = threading.RLock()
        self._state = state
        if state is not None:
            for row in state.refunds():
                # The payment as captured when refunded, should the sandbox now serve other orders.
                payment = self.payments.get(row.reference) or Payment(
                    row.reference, row.order_id, row.currency, row.captured
                )
                status: Literal["succeeded", "failed"] = "failed" if row.final_status == "failed" else "succeeded"
                self.refunds[row.id] = StripeRefund(
                    row.id, payment, row.amount, row.created_at, row.settles_at, status, row.reason, row.metadata
                )
            self._saved = {k.key: _Saved(k.fingerprint, k.status, k.body) for k in state.bound_keys()}

    def refunds_of(self, reference: str) -> list[StripeRefund]:
        with self.lock:
            return [r for r in self.refunds.values() if r.payment.reference == reference]

    def claim(self, key: str, fingerprint: str) -> _Saved | None:
        """None once claimed; the saved answer to replay; StripeProblem if in use or reused."""
        with self.lock:
            saved = self._saved.get(key)
            pending = self._inflight.get(key)
            if (saved and saved.fingerprint != fingerprint) or (pending and pending != fingerprint):
                raise StripeProblem(
                    400,
                    "idempotency_error",
                    f"Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                )
            if saved:
                return saved
            if pending:
                raise StripeProblem(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key; try again later.",
                    code="idempotency_key_in_use",
                )
            self._inflight[key] = fingerprint
            return None

    def add(self, refund: StripeRefund, key: str | None, answer: _Saved) -> None:
        """Store the refund and bind its key to the answer, both or neither; call under :attr:`lock`."""
        if self._state is not None:
            p = refund.payment
            row = RefundRow(
                refund.id, p.reference, p.order_id, p.currency, p.captured, refund.amount, refund.created_at,
                refund.settles_at, refund.final_status, refund.reason, refund.metadata,
            )  # fmt: skip
            self._state.save(row, None if key is None else KeyRow(key, answer.fingerprint, answer.status, answer.body))
        self.refunds[refund.id] = refund
        if key is not None:
            self._saved[key] = answer

    def settle(self, key: str | None, saved: _Saved | None) -> None:
        """Bind the key to its first answer unless :meth:`add` did (or free it: a request that never began
        binds nothing)."""
        if key is None:
            return
        with self.lock:
            self._inflight.pop(key, None)
            if saved is not None and key not in self._saved:
                if self._state is not None:
                    self._state.save(None, KeyRow(key, saved.fingerprint, saved.status, saved.body))
                self._saved[key] = saved


def payments_of(orders: Iterable[Order]) -> list[Payment]:
    """The payment behind each order with a ``payment_reference``, captured for what the order paid."""
    out = []
    for order in orders:
        reference = order.common.payment_reference
        if reference is None:
            continue
        try:
            captured = to_minor(order.paid, order.currency)
        except UnrepresentableAmount:
            continue  # Stripe could never have captured it
        out.append(Payment(reference, order.id, order.currency.lower(), captured))
    return out


class PaymentsApi:
    def __init__(
        self, ledger: PaymentLedger, faults: Faults, settle_after: float, clock: Callable[[], datetime]
    ) -> None:
        self.ledger = ledger
        self.faults = faults
        self.settle_after = settle_after
        self.clock = clock

    async def create_refund(self, request: Request) -> Response:
        body = await request.body()  # at most MAX_BODY bytes: the guard refuses more, for every route
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError):
            raise _invalid(
                "the body must be form-encoded (application/x-www-form-urlencoded)", code="parameter_invalid_string"
            ) from None
        form = dict(pairs)
        fields = self._fields(form)
        key = request.headers.get("idempotency-key")
        if key is not None and not 0 < len(key) <= MAX_KEY:
            raise _invalid(f"Idempotency-Key: 1 to {MAX_KEY} characters", code="parameter_invalid_string")
        fingerprint = "" if key is None else hashlib.sha256(repr(sorted(pairs)).encode()).hexdigest()
        if key is not None:
            saved = self.ledger.claim(key, fingerprint)
            if saved is not None:
                return Response(
                    saved.body, saved.status, {"Idempotent-Replayed": "true"}, media_type="application/json"
                )
        answer: _Saved | None = None
        try:
            # Stripe saves the first answer of a request whose execution began, errors included.
            try:
                answer = await self._refund(*fields, key, fingerprint)
            except StripeProblem as problem:
                answer = _Saved(fingerprint, problem.status, dumps(problem.body))
        finally:
            self.ledger.settle(key, answer)
        assert answer is not None
        return Response(answer.body, answer.status, media_type="application/json")

    @staticmethod
    def _fields(form: dict[str, str]) -> tuple[str, str, int, str | None, dict[str, str]]:
        """Parameters as Stripe checks them before executing: (reference field, reference, amount, reason, metadata)."""
        known = {"payment_intent", "charge", "amount", "reason"}
        for name in form:
            if name not in known and not (name.startswith("metadata[") and name.endswith("]")):
                raise _invalid(f"Received unknown parameter: {name}", code="parameter_unknown", param=name)
        given = [f for f in ("payment_intent", "charge") if form.get(f)]
        if len(given) != 1:
            raise _invalid("One of payment_intent or charge is required", code="parameter_missing", param="charge")
        text = form.get("amount")
        if text is None or not text.isascii() or not text.isdigit() or int(text) <= 0:
            raise _invalid(f"Invalid positive integer: {text!r}", code="parameter_invalid_integer", param="amount")
        reason = form.get("reason")
        if reason is not None and reason not in REASONS:
            raise _invalid(
                f"Invalid reason: must be one of {', '.join(REASONS)}", code="parameter_invalid_string", param="reason"
            )
        metadata = {name[len("metadata[") : -1]: value for name, value in form.items() if name.startswith("metadata[")}
        return given[0], form[given[0]], int(text), reason, metadata

    async def _refund(
        self,
        field: str,
        reference: str,
        amount: int,
        reason: str | None,
        metadata: dict[str, str],
        key: str | None,
        fingerprint: str,
    ) -> _Saved:
        """The refund's answer, stored with the refund and bound to ``key`` in one step."""
        payment = self.ledger.payments.get(reference)
        if payment is None or not reference.startswith("pi_" if field == "payment_intent" else "ch_"):
            raise _invalid(f"No such {field}: '{reference}'", code="resource_missing", param=field)
        step = stripe_unit(payment.currency).step
        if amount % step:
            raise _invalid(
                f"Invalid amount: {payment.currency.upper()} amounts must be a multiple of {step}",
                code="amount_invalid",
                param="amount",
            )
        # The latency is spent before the balance is checked, as a real provider's processing is.
        await self.faults.delay()
        now = self.clock()
        with self.ledger.lock:
            refunded = sum(r.amount for r in self.ledger.refunds_of(reference) if r.status_at(now) in LIVE)
            left = payment.captured - refunded
            if left <= 0:
                raise _invalid(f"Charge for {reference} has already been refunded.", code="charge_already_refunded")
            if amount > left:
                raise _invalid(
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                    code="amount_too_large",
                    param="amount",
                )
            refund = StripeRefund(
                id=f"re_{secrets.token_hex(12)}",
                payment=payment,
                amount=amount,
                created_at=now,
                settles_at=now + timedelta(seconds=self.settle_after),
                final_status="failed" if self.faults.refund_fails() else "succeeded",
                reason=reason,
                metadata=metadata,
            )
            answer = _Saved(fingerprint, 200, dumps(refund.to_dict(refund.created_at)))
            self.ledger.add(refund, key, answer)
        return answer

    async def get_refund(self, request: Request) -> Response:
        await self.faults.delay()
        refund = self.ledger.refunds.get(request.path_params["refund_id"])
        if refund is None:
            raise StripeProblem(
                404,
                "invalid_request_error",
                f"No such refund: '{request.path_params['refund_id']}'",
                code="resource_missing",
                param="id",
            )
        return json_response(refund.to_dict(self.clock()))

    async def list_refunds(self, request: Request) -> Response:
        """Newest first, ``limit`` (1-100, default 10) at a time after ``starting_after``, as Stripe pages."""
        query = request.query_params
        given = [f for f in ("payment_intent", "charge") if query.get(f)]
        limit_text = query.get("limit", "10")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise _invalid("limit: expected an integer from 1 to 100", code="parameter_invalid_integer", param="limit")
        await self.faults.delay()
        with self.ledger.lock:
            refunds = list(reversed(self.ledger.refunds.values()))
        for name in given:
            refunds = [r for r in refunds if r.payment.reference == query[name]]
        after = query.get("starting_after")
        if after:
            ids = [r.id for r in refunds]
            refunds = refunds[ids.index(after) + 1 :] if after in ids else []
        page = refunds[: int(limit_text)]
        now = self.clock()
        return json_response(
            {
                "object": "list",
                "url": "/v1/refunds",
                "has_more": len(refunds) > len(page),
                "data": [r.to_dict(now) for r in page],
            }
        )


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StripeProblem)
    return exc.response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "resource_missing" if exc.status_code == 404 else None
    return StripeProblem(exc.status_code, "invalid_request_error", str(exc.detail), code=code).response(
        dict(exc.headers or {})
    )


async def _crash(request: Request, exc: Exception) -> Response:
    return StripeProblem(500, "api_error", "the sandbox failed; this is a bug in refundctl").response()


def create_payments_app(
    ledger: PaymentLedger, faults: Faults, settle_after: float, clock: Callable[[], datetime]
) -> Starlette:
    """The Stripe-like routes, to mount at :data:`PREFIX` behind a gate with :func:`stripe_answer`."""
    api = PaymentsApi(ledger, faults, settle_after, clock)
    return Starlette(
        routes=[
            Route("/v1/refunds", api.create_refund, methods=["POST"]),
            Route("/v1/refunds", api.list_refunds, methods=["GET"]),
            Route("/v1/refunds/{refund_id}", api.get_refund),
        ],
        exception_handlers={StripeProblem: _problem, HTTPException: _http_exception, Exception: _crash},
    )
