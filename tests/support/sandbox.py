"""A real sandbox server on a free loopback port, as the ``sandbox`` fixtures start it.

``start_sandbox(**options)`` takes any FaultConfig field (rate_limit, error_rate,
drop_rate, latency_ms, jitter_ms, failure_rate, seed), plus orders (paths), quoter,
state (SQLite path), token, quote_skew, quote_ttl, settle_after and clock. Every
server also serves the payments API (Stripe-like) at ``box.payments_url`` with
``box.payments_headers``, for the orders that carry a ``payment_reference``.

With ``record``, every response the server sends is passed to it as an ``Answered``
(method, path, status, error type): the OpenAPI coverage test reads what the whole
session received.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from refundctl.cli.sandbox import engine_quoter
from refundctl.orders import load_orders
from refundctl.orders.model import Order
from refundctl.sandbox.app import Clock, Quoter, SandboxSettings, create_app, utcnow
from refundctl.sandbox.faults import FaultConfig
from refundctl.sandbox.payments import PREFIX, PaymentLedger, payments_of
from refundctl.sandbox.payments_state import PaymentsState
from refundctl.sandbox.server import SandboxServer, bind, drop_connection
from refundctl.sandbox.store import MemoryStore, SqliteStore, Store

DATA = Path(__file__).parent.parent / "data"
SANDBOX_ORDERS = DATA / "sandbox_orders.json"
SANDBOX_TOKEN = "test-token"
PAYMENTS_TOKEN = "sk_test_sandbox"
REFUND = {"order_id": "ZA-1001", "amount": "100.00", "currency": "CNY"}  # a valid POST /v1/refunds body


class Answered(NamedTuple):
    method: str
    path: str  # as requested, not the route template
    status: int
    error_type: str | None  # the body's error.type, for an error in the sandbox's shape


class ResponseRecorder:
    """ASGI middleware outermost around the sandbox: hands every complete response to ``record``."""

    def __init__(self, app: ASGIApp, record: Callable[[Answered], None]) -> None:
        self.app = app
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        body = bytearray()

        async def sending(message: Message) -> None:
            nonlocal status
            await send(message)
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                if status >= 400:  # error bodies are small; success bodies are not needed
                    body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    self.record(Answered(scope["method"], scope["path"], status, _error_type(bytes(body))))

        await self.app(scope, receive, sending)


def _error_type(body: bytes) -> str | None:
    try:
        kind = json.loads(body)["error"]["type"]
    except (ValueError, KeyError, TypeError):
        return None
    return kind if isinstance(kind, str) else None


@dataclass
class RunningSandbox:
    base_url: str
    token: str
    orders: dict[str, Order]
    store: Store
    server: SandboxServer
    ledger: PaymentLedger  # the payments API's refunds (Stripe-like, under PREFIX)
    payments_state: PaymentsState | None = None  # the ledger's SQLite, with a state file

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def payments_url(self) -> str:
        return self.base_url + PREFIX

    @property
    def payments_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {PAYMENTS_TOKEN}"}

    def stop(self) -> None:
        """Stop serving and close the store; returns once both are done."""
        self.server.stop()
        self.store.close()
        if self.payments_state is not None:
            self.payments_state.close()


class SandboxFactory(Protocol):
    def __call__(
        self,
        *,
        orders: Sequence[Path | str] = ...,
        quoter: Quoter | None = ...,
        state: Path | None = ...,
        token: str = ...,
        quote_skew: Decimal | str = ...,
        quote_ttl: float = ...,
        settle_after: float = ...,
        clock: Clock = ...,
        **faults: Any,
    ) -> RunningSandbox: ...


def start_sandbox(
    *,
    orders: Sequence[Path | str] = (SANDBOX_ORDERS,),
    quoter: Quoter | None = None,
    state: Path | None = None,
    token: str = SANDBOX_TOKEN,
    quote_skew: Decimal | str = "0",
    quote_ttl: float = 900.0,
    settle_after: float = 0.5,
    clock: Clock = utcnow,
    record: Callable[[Answered], None] | None = None,
    **faults: Any,
) -> RunningSandbox:
    loaded = load_orders([str(p) for p in orders])
    store: Store = SqliteStore(state) if state else MemoryStore()
    settings = SandboxSettings(
        token=token,
        faults=FaultConfig(**faults),
        quote_skew=Decimal(quote_skew),
        quote_ttl=quote_ttl,
        settle_after=settle_after,
        payments_token=PAYMENTS_TOKEN,
    )
    payments_state = PaymentsState(state) if state else None
    ledger = PaymentLedger(payments_of(loaded), payments_state)
    quote = quoter or engine_quoter(None)
    app = create_app(loaded, store, quote, settings, dropper=drop_connection, clock=clock, ledger=ledger)
    server = SandboxServer(app if record is None else ResponseRecorder(app, record), bind("127.0.0.1", 0))
    server.start()
    return RunningSandbox(server.base_url, token, {o.id: o for o in loaded}, store, server, ledger, payments_state)
