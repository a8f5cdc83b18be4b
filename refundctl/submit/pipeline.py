"""Send every planned refund, leg by leg, journaling each step before the next.

The pipeline knows only the :class:`~refundctl.adapters.base.Supplier` and
:class:`~refundctl.adapters.payments.PaymentProvider` Protocols: retries, rate-limit
pauses and wire formats live in the adapters and ``refundctl.client``.

Legs go in a fixed order: **supplier first, the platform after the supplier accepted**,
so the platform never pays its share of a refund the supplier refused (a rejected or
quote-mismatched supplier leg holds the platform leg, still ``planned``). A supplier leg
of zero is ``skipped``. Per leg it (1) fixes the body (for the supplier, asking its quote
first when it offers quotes; the quote is checked against the supplier's share only),
(2) commits ``sent`` with that body, (3) sends it under the leg's own idempotency key,
(4) commits the answer. A platform leg resumed after a lost answer is first looked up at
the provider (its keys expire). Without a payments provider the platform leg is
``manual``. A leg that fails for good is never reversed: the other leg's refund stands,
and the order is reported ``partially_settled`` with both legs' states.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from refundctl.adapters.base import RefundRequest, RefundState, Supplier
from refundctl.adapters.payments import PaymentProvider, PaymentRefundRequest
from refundctl.config import DEFAULT_SERVICE_LEVEL_DAYS
from refundctl.errors import ApiError, AuthError, RetriesExhausted, TransportError
from refundctl.money import fmt
from refundctl.submit.fates import SETTLED, Fate, fate_of_entry
from refundctl.submit.journal import Entry, Journal, LegState, Plan
from refundctl.submit.quote import quote_matches, send_requoting

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Settings:
    concurrency: int = 16
    verify_quote: bool = True  # where the supplier offers quotes
    tolerance: Decimal = Decimal(0)  # how far below our decision a quote may be and still be confirmed
    retry_failed: bool = False  # resend failed legs, and re-quote quote mismatches (with ``tolerance``)
    service_days: int = DEFAULT_SERVICE_LEVEL_DAYS  # an order without a regulation deadline is due this long after
    # its first leg left


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


MANUAL = "no payments provider (--payments): the platform pays this leg by hand; reconcile confirms it"


def retried(leg: LegState) -> bool:
    """A leg ``--retry-failed`` takes up again: failed, or refused for its quote (nothing was sent under it)."""
    return leg.state == "failed" or (leg.state == "rejected" and leg.error_type == "quote_mismatch")


def _leg_due(leg: LegState, retry_failed: bool) -> bool:
    """Planned and in-flight legs are (re)sent; failed and quote-mismatched ones only on request; final ones never."""
    return leg.state in ("planned", "sent") or (retry_failed and retried(leg))


def _platform_due(entry: Entry, retry_failed: bool) -> bool:
    return entry.platform is not None and entry.state in SETTLED and _leg_due(entry.platform, retry_failed)


class Pipeline:
    def __init__(
        self,
        supplier: Supplier,
        journal: Journal,
        settings: Settings,
        on_fate: Callable[[Fate], None] = lambda fate: None,
        payments: PaymentProvider | None = None,
    ) -> None:
        self.supplier = supplier
        self.journal = journal
        self.settings = settings
        self.on_fate = on_fate  # called once per order as its fate is known (progress bar, the stage)
        self.payments = payments  # None: platform legs are paid by hand (manual)
        # Legs this run that got an answer from their API (any answer), and those that got none after every
        # retry: all of them unanswered means the API is unreachable, not that refunds failed one by one.
        self.answered = 0
        self.unanswered = 0

    @staticmethod
    def is_due(entry: Entry, retry_failed: bool) -> bool:
        """Whether any leg of the order is to be sent now (the platform's only once the supplier's settled)."""
        return _leg_due(entry, retry_failed) or _platform_due(entry, retry_failed)

    def _due(self, entry: Entry) -> bool:
        return self.is_due(entry, self.settings.retry_failed)

    async def run(self, entries: Iterable[Entry]) -> None:
        """Send what is due, skip what is done; ``on_fate`` gets the fate of every entry, in the order they end.

        ``entries`` are taken one at a time as workers free up (they may be read from the journal page by
        page). Raises AuthError (after every finished step is committed) if the supplier refuses the token:
        nothing else could succeed.
        """

        async def take(entry: Entry) -> None:
            if self._due(entry):
                self.on_fate(fate_of_entry(await self._process(entry)))
            else:
                self.on_fate(fate_of_entry(entry, _earlier(entry)))

        await for_each(entries, self.settings.concurrency, take)

    async def _process(self, entry: Entry) -> Entry:
        """Take one order's legs as far as they go, supplier first; returns the order as committed."""
        if _leg_due(entry, self.settings.retry_failed):
            entry = await self._supplier_leg(entry)
        if _platform_due(entry, self.settings.retry_failed):
            entry = await self._platform_leg(entry)
        return entry

    async def _supplier_leg(self, entry: Entry) -> Entry:
        plan = entry.plan
        if plan.amount <= 0:
            return self.journal.mark_skipped(plan.order_id)
        try:
            body = await self._body(plan) if entry.sent_amount is None else _stored_body(entry)
            state = await send_requoting(lambda b: self._send(plan, b), body, lambda: self._body(plan))
        except _Mismatch as stop:
            self.answered += 1
            return stop.entry
        except AuthError:
            raise
        except TransportError as exc:
            self.unanswered += 1
            attempts = exc.attempts if isinstance(exc, RetriesExhausted) else 1
            return self.journal.mark_failed(plan.order_id, error=str(exc), attempts=attempts)
        except ApiError as exc:
            self.answered += 1
            return self.journal.mark_rejected(plan.order_id, error_type=exc.error_type, error=str(exc), attempts=1)
        self.answered += 1
        return self.journal.mark_accepted(
            plan.order_id, refund_id=state.id, status=state.status, answer=state.raw, attempts=state.attempts
        )

    async def _platform_leg(self, entry: Entry) -> Entry:
        order_id, leg = entry.order_id, entry.plan.platform
        assert leg is not None and entry.platform is not None
        if self.payments is None:
            if entry.platform.state != "planned":
                return entry  # sent before: only the provider can say whether it was paid, never a person guessing
            return self.journal.mark_manual(order_id, MANUAL, service_days=self.settings.service_days)
        if leg.payment_reference is None:
            return self.journal.mark_rejected(
                order_id,
                error_type="no_payment_reference",
                error="the order has no payment_reference to refund the platform's share against",
                attempts=0,
                payer="platform",
            )
        request = PaymentRefundRequest(
            order_id, leg.payment_reference, leg.amount, entry.plan.currency, leg.idempotency_key,
            entry.plan.idempotency_key,
        )  # fmt: skip
        try:
            self.payments.check(request)
        except ValueError as exc:
            return self.journal.mark_rejected(
                order_id, error_type="unrepresentable_amount", error=str(exc), attempts=0, payer="platform"
            )
        try:
            # Sent before and its answer lost: the provider may hold it, although it may have forgotten the key.
            state = None if entry.platform.state == "planned" else await self.payments.find_refund(request)
            if state is None:
                self.journal.mark_sent(
                    order_id, leg.amount, None, None, payer="platform", service_days=self.settings.service_days
                )
                state = await self.payments.refund(request)
        except AuthError:
            raise
        except TransportError as exc:
            self.unanswered += 1
            attempts = exc.attempts if isinstance(exc, RetriesExhausted) else 1
            return self.journal.mark_failed(order_id, error=str(exc), attempts=attempts, payer="platform")
        except ApiError as exc:
            self.answered += 1
            return self.journal.mark_rejected(
                order_id, error_type=exc.error_type, error=str(exc), attempts=1, payer="platform"
            )
        self.answered += 1
        return self.journal.mark_accepted(
            order_id, refund_id=state.id, status=state.status, answer=state.raw, attempts=state.attempts,
            payer="platform",
        )  # fmt: skip

    async def _body(self, plan: Plan) -> _Body:
        """What to send: the supplier's share, or the supplier's quote when it is not lower than that share by more
        than the tolerance. A lower quote is recorded as ``quote_mismatch`` and nothing is sent (``_Mismatch``)."""
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
        self.journal.mark_sent(
            plan.order_id, body.amount, body.quote_id, body.quote_amount, service_days=self.settings.service_days
        )
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


async def for_each(items: Iterable[T], concurrency: int, work: Callable[[T], Awaitable[None]]) -> None:
    """``work`` on every item, ``concurrency`` at a time; the first error (an AuthError, or a bug) stops them all.

    Items are taken from ``items`` as workers free up, never all at once."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # one shared iterator: each item goes to exactly one worker
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
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
    if retried(entry):
        return "quote mismatch in an earlier run; rerun with --retry-failed (and --tolerance) to re-quote"
    return "earlier run"


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error of a task group (an AuthError, or a bug to report)."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
