"""The platform's refunds through Stripe's Refunds API (https://docs.stripe.com/api/refunds), test mode or live.

Wire format (API version pinned by ``Stripe-Version``): ``POST /v1/refunds`` form-encoded with
``payment_intent`` (``pi_...``) or ``charge`` (``ch_...``) from the order's ``payment_reference``,
``amount`` as an integer in Stripe's smallest unit (:mod:`refundctl.adapters.stripe_units`),
``metadata[order_id]``, ``metadata[decision]`` and ``metadata[idempotency_key]``, under the
leg's ``Idempotency-Key``. Refund objects carry ``status`` ``pending``, ``requires_action``,
``succeeded``, ``failed`` or ``canceled``; errors are ``{"error": {"type", "code", "message",
"param"}}``.

Retries follow stripe-python's ``_should_retry``: the server's ``Stripe-Should-Retry`` header
first (``false``: final, ``true``: retry), then connection errors, 409 (an idempotency key in
use by a request still running) and every 5xx; and 429 as well (stripe-python retries a 429
only when that header says so; Stripe's rate-limit guide asks clients to back off and retry,
and here a 429 also pauses the run's shared rate limiter). Everything else is final. Waits are
this project's exponential backoff with jitter (``Retry-After`` honoured), as for suppliers.

Stripe forgets an idempotency key after 24 hours, so a leg resumed from the journal is looked
up first (``find_refund``: the payment's refunds, by ``metadata[idempotency_key]``) and only
resent if Stripe holds none: a rerun days later cannot pay twice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast
from urllib.parse import quote as urlquote

import httpx

from refundctl.adapters.base import Connection, RefundState, RefundStatus, error_object, refuse_if_unauthorized
from refundctl.adapters.payments import PaymentRefundRequest
from refundctl.adapters.stripe_units import from_minor, to_minor
from refundctl.client import redact, send_with_retry
from refundctl.errors import ApiError, AuthError

STRIPE_API = "https://api.stripe.com"
STRIPE_VERSION = "2024-06-20"
STATUSES = ("pending", "requires_action", "succeeded", "failed", "canceled")
LIST_PAGES = 20  # refunds of one payment looked through at most (100 per page)


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        raise ApiError(f"Stripe {response.request.url.path}: an answer that is not JSON") from None


def should_retry(response: httpx.Response) -> bool:
    """stripe-python's rule (the server's Stripe-Should-Retry header wins; else 409 and 5xx retry), plus 429."""
    advice = response.headers.get("Stripe-Should-Retry")
    if advice in ("true", "false"):
        return bool(advice == "true")
    return response.status_code in (409, 429) or response.status_code >= 500


def describe(response: httpx.Response) -> str:
    """`` (invalid_request_error/charge_already_refunded: message; request req_...)``, or ``""``."""
    error = error_object(response)
    if not error:
        return ""
    kind = "/".join(str(error[k]) for k in ("type", "code") if error.get(k))
    request_id = response.headers.get("Request-Id")
    return f" ({kind or 'error'}: {error.get('message', '')}{f'; request {request_id}' if request_id else ''})"


def payment_field(reference: str) -> str:
    """The form field that names the payment: a PaymentIntent or a Charge."""
    if reference.startswith("pi_"):
        return "payment_intent"
    if reference.startswith("ch_"):
        return "charge"
    raise ValueError(f"payment_reference {reference!r} is neither a PaymentIntent (pi_...) nor a Charge (ch_...)")


class StripeAdapter:
    """The platform's refunds through Stripe (see the module's docstring)."""

    def __init__(self, connection: Connection, client: httpx.AsyncClient | None = None) -> None:
        self._conn = connection
        self._client = client or connection.open_client()
        self._client.headers.update({"Stripe-Version": STRIPE_VERSION})
        self._base = connection.base_url.rstrip("/")
        self._policy = connection.retry_policy(retryable=should_retry, describe=describe)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _redact(self, text: str) -> str:
        return redact(text, self._conn.token)

    @staticmethod
    def check(request: PaymentRefundRequest) -> None:
        payment_field(request.payment_reference)
        to_minor(request.amount, request.currency)

    def _form(self, request: PaymentRefundRequest) -> dict[str, str]:
        return {
            payment_field(request.payment_reference): request.payment_reference,
            "amount": str(to_minor(request.amount, request.currency)),
            "metadata[order_id]": request.order_id,
            "metadata[decision]": request.decision,
            "metadata[idempotency_key]": request.idempotency_key,
        }

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, int]:
        """One logical request with retries; raises for every error answer."""
        response, attempts = await send_with_retry(
            lambda: self._client.request(
                method, httpx.URL(self._base + path), data=form, params=params, headers=headers
            ),
            self._policy,
            self._conn.limiter,
            label=f"Stripe {method} {path}",
            token=self._conn.token,
        )
        refuse_if_unauthorized(response, "Stripe refused the key", describe(response), self._conn.token)
        if response.status_code >= 400:
            error = error_object(response)
            raise ApiError(
                self._redact(f"Stripe {method} {path}: HTTP {response.status_code}{describe(response)}"),
                status=response.status_code,
                error_type=error.get("code") or error.get("type"),
            )
        return response, attempts

    async def refund(self, request: PaymentRefundRequest) -> RefundState:
        try:
            response, attempts = await self._call(
                "POST", "/v1/refunds", form=self._form(request), headers={"Idempotency-Key": request.idempotency_key}
            )
        except ApiError as exc:
            if exc.error_type != "idempotency_error" or isinstance(exc, AuthError):
                raise
            # Our key is the leg itself, so another body under it was an earlier refundctl (another
            # version) sending this very leg: that refund is ours if it is for this amount.
            found = await self.find_refund(request)
            if found is None or found.amount != request.amount:
                raise
            return replace(found, existing=True)
        state = self._refund(_json(response), "/v1/refunds")
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        return replace(state, attempts=attempts, existing=replayed)

    async def find_refund(self, request: PaymentRefundRequest) -> RefundState | None:
        params = {payment_field(request.payment_reference): request.payment_reference, "limit": "100"}
        for _ in range(LIST_PAGES):
            response, _ = await self._call("GET", "/v1/refunds", params=params)
            body = _json(response)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(body, dict) or not isinstance(data, list):
                raise ApiError("Stripe GET /v1/refunds: the answer has no data list")
            for item in data:
                metadata = item.get("metadata") if isinstance(item, dict) else None
                if isinstance(metadata, dict) and metadata.get("idempotency_key") == request.idempotency_key:
                    return replace(self._refund(item, "/v1/refunds"), existing=True)
            if not body.get("has_more") or not data:
                return None
            params["starting_after"] = str(data[-1].get("id"))
        raise ApiError(f"Stripe GET /v1/refunds: more than {LIST_PAGES * 100} refunds of {request.payment_reference}")

    async def get_refund(self, refund_id: str) -> RefundState:
        path = f"/v1/refunds/{urlquote(refund_id, safe='')}"
        response, attempts = await self._call("GET", path)
        return replace(self._refund(_json(response), path), attempts=attempts)

    @staticmethod
    def _refund(body: object, path: str) -> RefundState:
        if not isinstance(body, dict):
            raise ApiError(f"Stripe {path}: a refund that is not a JSON object")
        status = body.get("status")
        if status not in STATUSES:
            raise ApiError(f"Stripe {path}: refund with unknown status {status!r}")
        given = body.get("metadata")
        metadata: dict[str, Any] = given if isinstance(given, dict) else {}
        units = body.get("amount")
        if isinstance(units, bool) or not isinstance(units, int):
            raise ApiError(f"Stripe {path}: malformed refund (amount {units!r} is not an integer)")
        try:
            currency = str(body["currency"]).upper()
            return RefundState(
                id=str(body["id"]),
                order_id=str(metadata.get("order_id", "")),
                amount=from_minor(units, currency),
                currency=currency,
                status=cast(RefundStatus, status),
                failure_reason=body.get("failure_reason"),
                raw=body,
            )
        except (KeyError, ValueError) as exc:
            raise ApiError(f"Stripe {path}: malformed refund ({type(exc).__name__}: {exc})") from None
