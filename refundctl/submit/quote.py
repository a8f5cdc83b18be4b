"""The quote check and the re-quote, shared by the submit pipeline and the smoke test.

``--tolerance`` is one-sided: a quote in another currency, or below our decision by
more than the tolerance, is a mismatch and nothing is sent; a quote at or above our
decision is confirmed at the supplier's amount. The customer is never refunded less
than decided without a human looking, and a supplier refunding more costs nobody on our side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

from refundctl.adapters.base import Quote, RefundState
from refundctl.errors import QuoteRejected

B = TypeVar("B")


def quote_matches(quote: Quote, amount: Decimal, currency: str, tolerance: Decimal) -> bool:
    """Whether ``quote`` may be confirmed for a refund of ``amount`` ``currency``."""
    return quote.currency == currency and quote.amount >= amount - tolerance


async def send_requoting(
    send: Callable[[B], Awaitable[RefundState]], body: B, requote: Callable[[], Awaitable[B]] | None
) -> RefundState:
    """Send ``body``; if the supplier no longer honours its quote, send once more under a fresh one.

    Only a refund never created is refused for its quote (a created one is replayed),
    so a fresh quote under the same idempotency key cannot double it. ``requote``
    raises (or its caller stops) when the fresh quote does not match.
    """
    try:
        return await send(body)
    except QuoteRejected:
        if requote is None:
            raise
        return await send(await requote())
