"""The seam between the submit pipeline and the platform's payment provider.

A refund's platform-funded share (a goodwill code, a platform-funded waiver) is not the
supplier's to pay: it goes back to the traveller from the platform's own account, as a
refund against the order's original payment (``payment_reference``). Each provider
adapter owns its wire format, units, error mapping and retries, and raises only
``refundctl.errors`` exceptions, as supplier adapters do.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from refundctl.adapters.base import Connection, RefundState


@dataclass(frozen=True, slots=True)
class PaymentRefundRequest:
    order_id: str
    payment_reference: str  # the payment refunded against: a Stripe PaymentIntent (pi_...) or Charge (ch_...)
    amount: Decimal
    currency: str
    idempotency_key: str
    decision: str  # the decision the leg belongs to (its supplier-leg key): both legs of one refund share it


class PaymentProvider(Protocol):
    """A payment provider's refunds API, as the pipeline sees it."""

    def __init__(self, connection: Connection) -> None: ...

    @staticmethod
    def check(request: PaymentRefundRequest) -> None:
        """Raise ValueError if ``request`` cannot be sent exactly (e.g. an amount with no exact minor unit).

        Static, so that a run can refuse an order before anything of it is sent.
        """

    async def refund(self, request: PaymentRefundRequest) -> RefundState: ...

    async def find_refund(self, request: PaymentRefundRequest) -> RefundState | None:
        """The refund an earlier run created for ``request`` (by its key), if the provider holds one."""

    async def get_refund(self, refund_id: str) -> RefundState: ...

    async def aclose(self) -> None: ...
