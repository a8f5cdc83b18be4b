"""Supplier adapters behind one Protocol (:class:`~refundctl.adapters.base.Supplier`).

``ADAPTERS`` maps the name used in ``--adapter`` and config profiles to the
class, ``PAYMENTS`` the name used in ``--payments`` to a payment provider
(:class:`~refundctl.adapters.payments.PaymentProvider`); every class is built from a
:class:`~refundctl.adapters.base.Connection`.
"""

from __future__ import annotations

from collections.abc import Callable

from refundctl.adapters.base import Connection, Quote, RefundRequest, RefundState, Supplier
from refundctl.adapters.duffel import DuffelAdapter
from refundctl.adapters.payments import PaymentProvider, PaymentRefundRequest
from refundctl.adapters.sandbox import SandboxAdapter
from refundctl.adapters.stripe import StripeAdapter
from refundctl.errors import ConfigError, QuoteRejected  # re-exported: adapters raise it

ADAPTERS: dict[str, Callable[[Connection], Supplier]] = {
    "sandbox": SandboxAdapter,
    "duffel": DuffelAdapter,
}

PAYMENTS: dict[str, type[PaymentProvider]] = {
    "stripe": StripeAdapter,
}


def open_adapter(name: str, connection: Connection) -> Supplier:
    try:
        factory = ADAPTERS[name]
    except KeyError:
        raise ConfigError(f"unknown adapter {name!r} (known: {', '.join(sorted(ADAPTERS))})") from None
    return factory(connection)


def payments_provider(name: str) -> type[PaymentProvider]:
    try:
        return PAYMENTS[name]
    except KeyError:
        raise ConfigError(f"unknown payments provider {name!r} (known: {', '.join(sorted(PAYMENTS))})") from None


def open_payments(name: str, connection: Connection) -> PaymentProvider:
    return payments_provider(name)(connection)


__all__ = [
    "ADAPTERS",
    "PAYMENTS",
    "Connection",
    "PaymentProvider",
    "PaymentRefundRequest",
    "Quote",
    "QuoteRejected",
    "RefundRequest",
    "RefundState",
    "Supplier",
    "open_adapter",
    "open_payments",
    "payments_provider",
]
