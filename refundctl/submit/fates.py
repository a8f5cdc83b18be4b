"""What became of each order, as output rows and a summary per fate and currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from refundctl.engine import Decision
from refundctl.money import fmt
from refundctl.submit.journal import Entry

COLUMNS = (
    "order_id",
    "fate",
    "outcome",
    "currency",
    "decided",
    "amount",
    "quote",
    "refund_id",
    "status",
    "attempts",
    "note",
)
# The fates where the order's refund is not (yet) with the supplier.
UNDONE = frozenset({"rejected", "quote_mismatch", "failed", "planned", "sent"})


@dataclass(frozen=True, slots=True)
class Fate:
    order_id: str
    fate: str  # accepted | rejected | quote_mismatch | failed | not_eligible | would_send | planned | sent
    outcome: str
    currency: str
    decided: Decimal
    amount: Decimal | None  # what was (or would be) sent
    quote: Decimal | None
    refund_id: str | None
    status: str | None
    attempts: int
    idempotency_key: str | None
    note: str

    def to_row(self) -> dict[str, Any]:
        cur = self.currency
        return {
            "order_id": self.order_id,
            "fate": self.fate,
            "outcome": self.outcome,
            "currency": cur,
            "decided": fmt(self.decided, cur),
            "amount": None if self.amount is None else fmt(self.amount, cur),
            "quote": None if self.quote is None else fmt(self.quote, cur),
            "refund_id": self.refund_id,
            "status": self.status,
            "attempts": self.attempts,
            "idempotency_key": self.idempotency_key,
            "note": self.note,
        }


def fate_of_decision(decision: Decision, *, would_send: str | None = None) -> Fate:
    """An order that is not sent: not eligible, or (``would_send`` = its key) a dry run."""
    return Fate(
        order_id=decision.order_id,
        fate="would_send" if would_send else "not_eligible",
        outcome=decision.outcome,
        currency=decision.currency,
        decided=decision.refund,
        amount=decision.refund if would_send else None,
        quote=None,
        refund_id=None,
        status=None,
        attempts=0,
        idempotency_key=would_send,
        note="" if would_send else (decision.reason or f"outcome {decision.outcome} is not submitted"),
    )


def fate_of_entry(entry: Entry, note: str = "") -> Fate:
    """The fate a journal row records."""
    fate = "quote_mismatch" if entry.state == "rejected" and entry.error_type == "quote_mismatch" else entry.state
    return Fate(
        order_id=entry.order_id,
        fate=fate,
        outcome=entry.plan.outcome,
        currency=entry.plan.currency,
        decided=entry.plan.amount,
        amount=entry.sent_amount,
        quote=entry.quote_amount,
        refund_id=entry.refund_id,
        status=entry.refund_status,
        attempts=entry.attempts,
        idempotency_key=entry.plan.idempotency_key,
        note="; ".join(part for part in (note, entry.error or "") if part),
    )


def summarize(fates: Iterable[Fate]) -> list[dict[str, Any]]:
    """One row per (fate, currency): how many orders and the total decided refund."""
    counts: dict[tuple[str, str], int] = {}
    totals: dict[tuple[str, str], Decimal] = {}
    for f in fates:
        key = (f.fate, f.currency)
        counts[key] = counts.get(key, 0) + 1
        totals[key] = totals.get(key, Decimal(0)) + (f.amount if f.amount is not None else f.decided)
    return [
        {"fate": fate, "currency": cur, "orders": counts[(fate, cur)], "total": fmt(totals[(fate, cur)], cur)}
        for fate, cur in sorted(counts)
    ]
