"""Send every planned refund through a supplier, journaling each step before the next.

The pipeline knows only the :class:`~refundctl.adapters.base.Supplier` Protocol:
retries, rate-limit pauses and the wire format live in the adapter and
``refundctl.client``. Per order it (1) fixes the body, asking for a quote first
when the supplier offers quotes, (2) commits ``sent`` with that body, (3) sends
it under the plan's idempotency key, (4) commits the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from refundctl.adapters.base import RefundRequest, RefundState, Supplier
from refundctl.errors import ApiError, AuthError, RetriesExhausted, TransportError
from refundctl.money import fmt
from refundctl.submit.fates import Fate, fate_of_entry
from refundctl.submit.journal import Entry, Journal, Plan
from refundctl.submit.quote import quote_matches, send_requoting

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Settings:
    concurrency: int = 16
    verify_quote: bool = True  # where the supplier offers quotes
    tolerance: Decimal = Decimal(0)  # how far below our decision a quote may be and still be confirmed
    retry_failed: bool = False


class _Mismatch(Exception):
    """The quote did not match: its journal row, already committed as rejected."""

    def __init__(self, entry: Entry) -> None:
        super().__init__(entry.order_id)
        self.entry = entry


@dataclass(frozen=True, slots=True)
class _Body:
    amount: Decimal
    quote_id: str | None
    quote_amount: Decimal | None


class Pipeline:
    def __init__(
        self,
        supplier: Supplier,
        journal: Journal,
        settings: Settings,
        on_fate: Callable[[Fate], None] = lambda fate: None,
    ) -> None:
        self.supplier = supplier
        self.journal = journal
        self.settings = settings
        self.on_fate = on_fate  # called once per order as its fate is known (progress bar)

    @staticmethod
    def is_due(entry: Entry, retry_failed: bool) -> bool:
        """Planned and in-flight rows are (re)sent; failed ones only on request; final ones never."""
        return entry.state in ("planned", "sent") or (entry.state == "failed" and retry_failed)

    def _due(self, entry: Entry) -> bool:
        return self.is_due(entry, self.settings.retry_failed)

    async def run(self, entries: Sequence[Entry]) -> dict[str, Fate]:
        """Send what is due, skip what is done; the fate of every entry by order id.

        Raises AuthError (after every finished step is committed) if the supplier
        refuses the token: nothing else could succeed.
        """
        fates: dict[str, Fate] = {}
        due = [e for e in entries if self._due(e)]
        for entry in entries:
            if not self._due(entry):
                fates[entry.order_id] = self._report(fate_of_entry(entry, _earlier(entry)))

        async def send(entry: Entry) -> None:
            fates[entry.order_id] = self._report(fate_of_entry(await self._process(entry)))

        await for_each(due, self.settings.concurrency, send)
        return fates

    def _report(self, fate: Fate) -> Fate:
        self.on_fate(fate)
        return fate

    async def _process(self, entry: Entry) -> Entry:
        """Take one order as far as it goes; returns its journal row as committed."""
        plan = entry.plan
        try:
            body = await self._body(plan) if entry.sent_amount is None else _stored_body(entry)
            state = await send_requoting(lambda b: self._send(plan, b), body, lambda: self._body(plan))
        except _Mismatch as stop:
            return stop.entry
        except AuthError:
            raise
        except TransportError as exc:
            attempts = exc.attempts if isinstance(exc, RetriesExhausted) else 1
            return self.journal.mark_failed(plan.order_id, error=str(exc), attempts=attempts)
        except ApiError as exc:
            return self.journal.mark_rejected(plan.order_id, error_type=exc.error_type, error=str(exc), attempts=1)
        return self.journal.mark_accepted(
            plan.order_id, refund_id=state.id, status=state.status, answer=state.raw, attempts=state.attempts
        )

    async def _body(self, plan: Plan) -> _Body:
        """What to send: our decision, or the supplier's quote when it is not lower than ours by more than the
        tolerance. A lower quote is recorded as ``quote_mismatch`` and nothing is sent (``_Mismatch``)."""
        if not (self.settings.verify_quote and self.supplier.supports_quotes):
            return _Body(plan.amount, None, None)
        quote = await self.supplier.quote(plan.order_id)
        if not quote_matches(quote, plan.amount, plan.currency, self.settings.tolerance):
            raise _Mismatch(
                self.journal.mark_rejected(
                    plan.order_id,
                    error_type="quote_mismatch",
                    error=f"the supplier quotes {fmt(quote.amount, quote.currency)} {quote.currency}; "
                    f"we decided {fmt(plan.amount, plan.currency)} {plan.currency}",
                    attempts=0,
                    quote_amount=quote.amount if quote.currency == plan.currency else None,
                )
            )
        return _Body(quote.amount, quote.id, quote.amount)

    async def _send(self, plan: Plan, body: _Body) -> RefundState:
        self.journal.mark_sent(plan.order_id, body.amount, body.quote_id, body.quote_amount)
        return await self.supplier.submit_refund(
            RefundRequest(
                order_id=plan.order_id,
                amount=body.amount,
                currency=plan.currency,
                idempotency_key=plan.idempotency_key,
                quote_id=body.quote_id,
                reason=plan.reason,
                waivers=plan.waivers,
            )
        )


async def for_each(items: Sequence[T], concurrency: int, work: Callable[[T], Awaitable[None]]) -> None:
    """``work`` on every item, ``concurrency`` at a time; the first error (an AuthError, or a bug) stops them all."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # one shared iterator: each item goes to exactly one worker
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(items))):
                group.create_task(worker())
    except BaseExceptionGroup as exc:
        raise _first(exc) from None


def _stored_body(entry: Entry) -> _Body:
    """The body already committed as sent: a resend must repeat it byte for byte."""
    assert entry.sent_amount is not None
    return _Body(entry.sent_amount, entry.quote_id, entry.quote_amount)


def _earlier(entry: Entry) -> str:
    if entry.state == "failed":
        return "failed in an earlier run; rerun with --retry-failed to resend with the same key"
    return "earlier run"


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error of a task group (an AuthError, or a bug to report)."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
