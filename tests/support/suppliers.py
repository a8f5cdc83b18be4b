"""A scripted supplier for pipeline tests: answers from scripts, records every request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from refundctl.adapters.base import Quote, RefundRequest, RefundState


@dataclass
class FakeSupplier:
    """Answers from scripts; records every request."""

    quotes: dict[str, str] = field(default_factory=dict)  # order -> quoted amount
    failures: dict[str, list[Exception]] = field(default_factory=dict)  # order -> errors to raise first
    supports_quotes: bool = True
    sent: list[RefundRequest] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        return {"id": order_id}

    async def quote(self, order_id: str) -> Quote:
        self.quoted.append(order_id)
        return Quote(f"q_{len(self.quoted)}", order_id, Decimal(self.quotes.get(order_id, "10.00")), "CNY", None)

    async def submit_refund(self, request: RefundRequest) -> RefundState:
        self.sent.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001)
            pending = self.failures.get(request.order_id)
            if pending:
                raise pending.pop(0)
            body = {"id": f"rf_{request.order_id}", "status": "pending"}
            return RefundState(f"rf_{request.order_id}", request.order_id, request.amount, "CNY", "pending", None, body)
        finally:
            self.in_flight -= 1

    async def get_refund(self, refund_id: str) -> RefundState:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None
