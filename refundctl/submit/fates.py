"""What became of each order, as output rows and a summary per fate and currency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from refundctl.money import fmt
from refundctl.submit.journal import Entry, Plan, Unsubmitted

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
    "supplier_leg",
    "platform_leg",
    "note",
)
# The fates where the order's refund is not (yet) wholly with its payers.
UNDONE = frozenset(
    {"rejected", "quote_mismatch", "failed", "planned", "sent", "manual", "partially_settled", "not_sent"}
)
SETTLED = frozenset({"accepted", "skipped"})  # supplier leg states after which the platform leg goes


@dataclass(frozen=True, slots=True)
class LegFate:
    payer: str  # supplier | platform
    amount: Decimal
    state: str  # the leg's journal state, or would_send
    id: str | None  # the provider's refund id

    def to_dict(self, currency: str) -> dict[str, Any]:
        return {"payer": self.payer, "amount": fmt(self.amount, currency), "state": self.state, "id": self.id}


@dataclass(frozen=True, slots=True)
class Fate:
    order_id: str
    fate: str  # accepted | rejected | quote_mismatch | failed | not_eligible | would_send | planned | sent
    # | manual | paid_by_hand | partially_settled | not_sent
    outcome: str
    currency: str
    decided: Decimal  # the whole refund decided (every leg)
    amount: Decimal | None  # what was (or would be) sent, every leg
    quote: Decimal | None  # the supplier's quote (for the supplier's share)
    refund_id: str | None  # the supplier's refund
    status: str | None
    attempts: int
    idempotency_key: str | None  # the supplier leg's
    note: str
    legs: tuple[LegFate, ...] = ()

    def _leg(self, payer: str) -> str | None:
        leg = next((leg for leg in self.legs if leg.payer == payer), None)
        return None if leg is None else f"{leg.state} {fmt(leg.amount, self.currency)}"

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
            "supplier_leg": self._leg("supplier"),
            "platform_leg": self._leg("platform"),
            "note": self.note,
            "legs": [leg.to_dict(cur) for leg in self.legs],
        }


def planned_legs(plan: Plan, state: str) -> tuple[LegFate, ...]:
    """The legs a plan would send, all in one ``state`` (a dry run's ``would_send``)."""
    legs = [LegFate("supplier", plan.amount, state, None)] if plan.amount > 0 else []
    if plan.platform is not None:
        legs.append(LegFate("platform", plan.platform.amount, state, None))
    return tuple(legs)


def would_send(order: Unsubmitted, plan: Plan) -> Fate:
    """A dry run's fate of an order it would send: the order as decided, with the legs of its plan."""
    return replace(
        fate_of_unsubmitted(order),
        fate="would_send",
        amount=order.decided,
        idempotency_key=plan.idempotency_key,
        note="",
        legs=planned_legs(plan, "would_send"),
    )


def fate_of_unsubmitted(order: Unsubmitted) -> Fate:
    """An order not sent (not eligible, or refused before sending), as decided or as a journal recorded it."""
    return Fate(
        order_id=order.order_id,
        fate=order.fate,
        outcome=order.outcome,
        currency=order.currency,
        decided=order.decided,
        amount=None,
        quote=None,
        refund_id=None,
        status=None,
        attempts=0,
        idempotency_key=None,
        note=order.note or order.reason or f"outcome {order.outcome} is not submitted",
    )


def _order_fate(entry: Entry) -> str:
    """The order's fate from its legs: the supplier's until it settled, then the platform leg's says the rest."""
    supplier = "quote_mismatch" if entry.state == "rejected" and entry.error_type == "quote_mismatch" else entry.state
    platform = entry.platform
    if platform is None or entry.state not in SETTLED:
        return supplier
    if platform.state in ("rejected", "failed") and entry.state == "accepted":
        return "partially_settled"  # the supplier's refund stands: never reversed silently
    return platform.state


def fate_of_entry(entry: Entry, note: str = "") -> Fate:
    """The fate a journal row records."""
    legs = entry.legs
    sent = [leg.sent_amount for leg in legs if leg.sent_amount is not None]
    errors = [f"{leg.payer}: {leg.error}" if entry.platform else leg.error for leg in legs if leg.error]
    return Fate(
        order_id=entry.order_id,
        fate=_order_fate(entry),
        outcome=entry.plan.outcome,
        currency=entry.plan.currency,
        decided=entry.plan.decided,
        amount=sum(sent, Decimal(0)) if sent else None,
        quote=entry.quote_amount,
        refund_id=entry.refund_id,
        status=entry.refund_status,
        attempts=sum(leg.attempts for leg in legs),
        idempotency_key=entry.plan.idempotency_key,
        note="; ".join(part for part in (note, *errors) if part),
        legs=tuple(LegFate(leg.payer, leg.amount, leg.state, leg.refund_id) for leg in legs),
    )


class Tally:
    """Fates counted as they pass (a run's output is streamed, never held): orders and totals per fate and
    currency, platform legs left to be paid by hand per currency, and whether any order is undone."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str], tuple[int, Decimal]] = {}
        self.manual: dict[str, tuple[int, Decimal]] = {}  # currency -> (legs, total) to be paid by hand
        self.undone = False  # some order's refund is not (yet) wholly with its payers

    def add(self, fate: Fate) -> Fate:
        key = (fate.fate, fate.currency)
        count, total = self._sums.get(key, (0, Decimal(0)))
        self._sums[key] = (count + 1, total + (fate.amount if fate.amount is not None else fate.decided))
        for leg in fate.legs:
            if leg.payer == "platform" and leg.state == "manual":
                legs, paid = self.manual.get(fate.currency, (0, Decimal(0)))
                self.manual[fate.currency] = (legs + 1, paid + leg.amount)
        self.undone = self.undone or fate.fate in UNDONE
        return fate

    def rows(self) -> list[dict[str, Any]]:
        """One row per (fate, currency): how many orders and the total decided refund."""
        return [
            {"fate": fate, "currency": cur, "orders": count, "total": fmt(total, cur)}
            for (fate, cur), (count, total) in sorted(self._sums.items())
        ]


def summarize(fates: Iterable[Fate]) -> list[dict[str, Any]]:
    """One row per (fate, currency): how many orders and the total decided refund."""
    tally = Tally()
    for fate in fates:
        tally.add(fate)
    return tally.rows()
