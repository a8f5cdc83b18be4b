"""Supplier adapters behind one Protocol (:class:`~refundctl.adapters.base.Supplier`).

``ADAPTERS`` maps the name used in ``--adapter`` and config profiles to the
class; every class is built from a :class:`~refundctl.adapters.base.Connection`.
"""

from __future__ import annotations

from collections.abc import Callable

from refundctl.adapters.base import Connection, Quote, RefundRequest, RefundState, Supplier
from refundctl.adapters.duffel import DuffelAdapter
from refundctl.adapters.sandbox import SandboxAdapter
from refundctl.errors import ConfigError, QuoteRejected  # re-exported: adapters raise it

ADAPTERS: dict[str, Callable[[Connection], Supplier]] = {
    "sandbox": SandboxAdapter,
    "duffel": DuffelAdapter,
}


def open_adapter(name: str, connection: Connection) -> Supplier:
    try:
        factory = ADAPTERS[name]
    except KeyError:
        raise ConfigError(f"unknown adapter {name!r} (known: {', '.join(sorted(ADAPTERS))})") from None
    return factory(connection)


__all__ = [
    "ADAPTERS",
    "Connection",
    "Quote",
    "QuoteRejected",
    "RefundRequest",
    "RefundState",
    "Supplier",
    "open_adapter",
]
