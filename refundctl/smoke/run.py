"""The smoke test: one order through the whole path against a live supplier API.

Steps: fetch the order, decide it, ask the supplier's quote and check it against the
decision as submit does (``refundctl.submit.quote``), submit (only when asked to
commit), then track the refund until it is final or the wait runs out. Each step is
timed; the first failing one stops the run and says what kind of failure it was, which picks the exit code.

Suppliers that know their own refund rule for an order (Duffel's order conditions)
offer ``order_policy``; that policy decides carriers no policy file covers
(``refundctl.engine.supplier_rules``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, TypeVar

from refundctl.adapters import Connection, open_adapter
from refundctl.adapters.base import Quote, RefundRequest, RefundState, Supplier
from refundctl.client import Exchange, ExchangeLog
from refundctl.engine import Decision
from refundctl.engine.supplier_rules import decide_with_supplier_rules
from refundctl.errors import (
    ApiError,
    AuthError,
    ExitCode,
    InputError,
    MismatchError,
    OrderError,
    Problem,
    TimeoutExpired,
)
from refundctl.money import fmt
from refundctl.orders.model import Order
from refundctl.orders.parse import parse_order
from refundctl.policy import PolicySet
from refundctl.submit.plan import idempotency_key, shares
from refundctl.submit.quote import quote_matches, send_requoting

T = TypeVar("T")
FailureKind = Literal["input", "auth", "supplier", "mismatch", "timeout"]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    status: Literal["ok", "failed", "skipped"]
    seconds: float
    detail: str
    failure: FailureKind | None = None
    exchange: Exchange | None = None
    exit_code: ExitCode = ExitCode.OK  # the failure's, from the shared error tree


@dataclass(frozen=True, slots=True)
class SmokeSettings:
    order_id: str
    policies: PolicySet
    as_of: datetime | None = None  # None: now
    commit: bool = False
    wait: float = 120.0  # seconds to track the refund until it is final
    poll: float = 0.5  # first interval between polls; doubles up to 5 s
    tolerance: Decimal = Decimal(0)  # how far below the decision the quote may be (one-sided, as in submit)


@dataclass
class SmokeResult:
    steps: list[Step] = field(default_factory=list)

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    @property
    def exit_code(self) -> ExitCode:
        step = self.failed
        return ExitCode.OK if step is None else step.exit_code


STOPS = (ApiError, MismatchError, TimeoutExpired, InputError)  # what ends a run with a failed step


def _kind(exc: Exception) -> FailureKind:
    if isinstance(exc, AuthError):
        return "auth"
    if isinstance(exc, MismatchError):
        return "mismatch"
    if isinstance(exc, TimeoutExpired):
        return "timeout"
    if isinstance(exc, InputError):
        return "input"
    return "supplier"


class SmokeRun:
    def __init__(
        self,
        supplier: Supplier,
        settings: SmokeSettings,
        log: ExchangeLog | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.supplier = supplier
        self.settings = settings
        self.log = log
        self.clock = clock
        self.sleep = sleep
        self.result = SmokeResult()

    async def _step(self, name: str, action: Callable[[], Awaitable[tuple[T, str]]]) -> T:
        """Run one step, time it, record it; on failure record the last exchange and stop."""
        started = self.clock()
        seen = len(self.log.exchanges) if self.log else 0
        try:
            value, detail = await action()
        except STOPS as exc:
            kind = _kind(exc)
            exchange = self.log.exchanges[-1] if self.log and len(self.log.exchanges) > seen else None
            message = self.log.redact(str(exc)) if self.log else str(exc)
            elapsed = self.clock() - started
            self.result.steps.append(Step(name, "failed", elapsed, message, kind, exchange, exc.exit_code))
            raise
        self.result.steps.append(Step(name, "ok", self.clock() - started, detail))
        return value

    def _skip(self, name: str, why: str) -> None:
        self.result.steps.append(Step(name, "skipped", 0.0, why))

    async def run(self) -> SmokeResult:
        with contextlib.suppress(*STOPS):  # recorded by _step
            await self._run()
        return self.result

    async def _run(self) -> None:
        order = await self._step("fetch", self._fetch)
        decision, digest = await self._step("decide", lambda: self._decide(order))
        quote = None
        if self.supplier.supports_quotes:
            quote = await self._step("quote", lambda: self._quote(decision))
        else:
            self._skip("quote", "the supplier offers no quotes")
        if not self.settings.commit:
            self._skip("submit", "not committed (pass --commit to submit the refund)")
            self._skip("track", "nothing submitted")
            return
        if not decision.submittable:
            self._skip("submit", f"nothing to refund ({decision.outcome})")
            self._skip("track", "nothing submitted")
            return
        state = await self._step("submit", lambda: self._submit(decision, quote, digest))
        await self._step("track", lambda: self._track(state))

    async def _fetch(self) -> tuple[Order, str]:
        raw = await self.supplier.fetch_order(self.settings.order_id)
        order, problems = parse_order(raw)
        if order is None:
            listed = "; ".join(f"{p.path}: {p.message}" for p in problems)
            raise ApiError(f"the supplier's order is not a valid refundctl order: {listed}")
        if order.id != self.settings.order_id:
            raise ApiError(f"asked for order {self.settings.order_id}, the supplier sent {order.id}")
        what = f"{order.kind} order {order.id} of {order.common.supplier}, paid {fmt(order.paid, order.currency)}"
        return order, f"{what} {order.currency}"

    async def _decide(self, order: Order) -> tuple[tuple[Decision, str], str]:
        as_of = self.settings.as_of or datetime.now(UTC)
        decision, digest = decide_with_supplier_rules(order, self.settings.policies, self.supplier, as_of)
        if decision.outcome in ("manual_review", "needs_evidence"):
            why = f"refundctl cannot decide it: {decision.outcome}: {decision.reason}"
            raise OrderError([Problem(f"order {order.id}", None, None, why)])
        rules = "; ".join(f"{h.rule} {h.effect} {fmt(h.amount, decision.currency)}" for h in decision.rules)
        notes = sorted({h.note.split("; ", 1)[-1] for h in decision.rules if "; " in h.note})
        detail = f"{decision.outcome}: refund {fmt(decision.refund, decision.currency)} {decision.currency} [{rules}]"
        return (decision, digest), detail + "".join(f" ({n})" for n in notes)

    async def _quote(self, decision: Decision) -> tuple[Quote, str]:
        quote = await self.supplier.quote(decision.order_id)
        owed, _ = shares(decision)  # the supplier quotes its own share, never a platform-funded one
        ours = f"{fmt(owed, decision.currency)} {decision.currency}"
        theirs = f"{fmt(quote.amount, quote.currency)} {quote.currency}"
        if not quote_matches(quote, owed, decision.currency, self.settings.tolerance):
            raise MismatchError(f"the supplier quotes {theirs} (quote {quote.id}); refundctl decided {ours}")
        expires = f", expires {quote.expires_at.isoformat()}" if quote.expires_at else ""
        return quote, f"{theirs} matches the decision (quote {quote.id}{expires})"

    async def _submit(self, decision: Decision, quote: Quote | None, digest: str) -> tuple[RefundState, str]:

        async def send(quoted: Quote | None) -> RefundState:
            return await self.supplier.submit_refund(_request(decision, quoted, digest))

        async def requote() -> Quote | None:
            return (await self._quote(decision))[0]  # a fresh quote, checked again

        state = await send_requoting(send, quote, None if quote is None else requote)
        replayed = " (already submitted)" if state.existing else ""
        return (
            state,
            f"refund {state.id} {state.status}{replayed}, {fmt(state.amount, state.currency)} {state.currency}",
        )

    async def _track(self, state: RefundState) -> tuple[RefundState, str]:
        deadline = self.clock() + self.settings.wait
        interval = self.settings.poll
        polls = 0
        while not state.final:
            left = deadline - self.clock()
            if left <= 0:
                raise TimeoutExpired(f"refund {state.id} still {state.status} after {self.settings.wait:g} s (--wait)")
            await self.sleep(min(interval, left))
            interval = min(interval * 2, 5.0)
            state = await self.supplier.get_refund(state.id)
            polls += 1
        if state.status == "failed":
            raise ApiError(f"refund {state.id} failed: {state.failure_reason or 'no reason given'}")
        return state, f"refund {state.id} {state.status} after {polls} poll(s)"


def _request(decision: Decision, quote: Quote | None, digest: str) -> RefundRequest:
    """The refund to send: the quoted amount (within the tolerance of the supplier's share) under its quote."""
    amount = shares(decision)[0] if quote is None else quote.amount
    key = idempotency_key(decision.order_id, fmt(amount, decision.currency), decision.currency, digest)
    return RefundRequest(decision.order_id, amount, decision.currency, key, None if quote is None else quote.id)


async def run_smoke(supplier: Supplier, settings: SmokeSettings, log: ExchangeLog | None = None) -> SmokeResult:
    return await SmokeRun(supplier, settings, log).run()


def smoke_test(adapter: str, conn: Connection, settings: SmokeSettings) -> SmokeResult:
    """The smoke test through ``adapter``, every HTTP exchange recorded (token redacted) for the report."""
    return asyncio.run(_smoke_test(adapter, conn, settings))


async def _smoke_test(adapter: str, conn: Connection, settings: SmokeSettings) -> SmokeResult:
    log = ExchangeLog(conn.token)
    supplier = open_adapter(adapter, replace(conn, event_hooks=log.hooks()))
    try:
        return await run_smoke(supplier, settings, log)
    finally:
        await supplier.aclose()
