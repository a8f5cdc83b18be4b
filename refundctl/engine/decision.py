"""The decision: what an order gets back, and which rule produced each amount.

``Decision.to_dict`` is the stable JSON contract (amounts as strings in the
currency's minor unit, instants as UTC ISO 8601 with ``Z``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from refundctl.money import ZERO, fmt, formatter
from refundctl.times import iso_utc

Outcome = Literal["full", "partial", "none", "manual_review", "needs_evidence"]
Effect = Literal["refund", "penalty", "non_refundable", "compensation"]
SUBMITTABLE: frozenset[str] = frozenset({"full", "partial"})


@dataclass(slots=True)  # not frozen: several per decision, and frozen ones cost twice as much to build
class RuleHit:
    """One amount and the rule (or window, waiver, regulation) that produced it."""

    rule: str  # e.g. "zephyr-air/standard/168h-2h"
    policy: str  # the policy file, relative to the policy directory
    component: str  # "base", "tax:YQ", "fee:service", "ancillary:bag", "rooms", "compensation"
    effect: Effect
    amount: Decimal
    note: str = ""
    currency: str | None = None  # set only when not the order's currency (EU 261 compensation in EUR)

    def to_dict(self, money: Callable[[Decimal], str]) -> dict[str, Any]:
        """``money`` formats an amount in the decision's currency (``refundctl.money.formatter``)."""
        if self.currency is None:
            return {"rule": self.rule, "policy": self.policy, "component": self.component, "effect": self.effect,
                    "amount": money(self.amount), "note": self.note}  # fmt: skip
        return {"rule": self.rule, "policy": self.policy, "component": self.component, "effect": self.effect,
                "amount": fmt(self.amount, self.currency), "note": self.note, "currency": self.currency}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NextChange:
    """After ``at`` the refund drops to ``refund``; cancelling at or before ``at`` keeps today's."""

    at: datetime
    refund: Decimal


@dataclass(frozen=True, slots=True)
class Compensation:
    amount: Decimal
    currency: str
    regulation: str
    journey: tuple[int, ...]  # the journey's segment indexes (0-based, as in the order's ``segments``)

    def to_dict(self) -> dict[str, Any]:
        return {"amount": fmt(self.amount, self.currency), "currency": self.currency,
                "regulation": self.regulation, "journey": list(self.journey)}  # fmt: skip


@dataclass(slots=True)  # not frozen: one or two per order on the hot path (nothing mutates it)
class Decision:
    order_id: str
    kind: str
    outcome: Outcome
    currency: str
    paid: Decimal
    refund: Decimal
    penalty: Decimal
    non_refundable: Decimal
    rules: tuple[RuleHit, ...]
    policy: str | None = None
    reason: str | None = None
    next_change: NextChange | None = None
    funded_by: dict[str, Decimal] = field(default_factory=dict)
    waivers: tuple[str, ...] = ()
    regulations: tuple[str, ...] = ()
    due_by: date | None = None
    due_by_provisional: bool = False  # due_by rests on a holiday calendar not yet officially published
    compensation: tuple[Compensation, ...] = ()  # one per journey and regulation, paid apart from the refund
    # What the order would receive once evidence is attached (outcome needs_evidence).
    refund_with_evidence: Decimal | None = None
    # Other waivers whose conditions the order also met; the winner is in ``waivers``.
    also_matched: tuple[str, ...] = ()

    def compensation_totals(self) -> dict[str, str]:
        """Compensation summed per currency (currencies in alphabetical order), amounts as strings."""
        totals: dict[str, Decimal] = {}
        for c in self.compensation:
            totals[c.currency] = totals.get(c.currency, ZERO) + c.amount
        return {cur: fmt(amount, cur) for cur, amount in sorted(totals.items())}

    @property
    def submittable(self) -> bool:
        return self.outcome in SUBMITTABLE and self.refund > ZERO

    def to_dict(self) -> dict[str, Any]:
        cur = self.currency
        money = formatter(cur)
        nxt = self.next_change
        return {
            "order_id": self.order_id,
            "kind": self.kind,
            "outcome": self.outcome,
            "currency": cur,
            "paid": money(self.paid),
            "refund": money(self.refund),
            "penalty": money(self.penalty),
            "non_refundable": money(self.non_refundable),
            "funded_by": {k: money(v) for k, v in sorted(self.funded_by.items())},
            "policy": self.policy,
            "reason": self.reason,
            "waivers": list(self.waivers),
            "regulations": list(self.regulations),
            "also_matched": list(self.also_matched),
            "due_by": self.due_by.isoformat() if self.due_by else None,
            "due_by_provisional": self.due_by_provisional,
            "compensation": [c.to_dict() for c in self.compensation],
            "refund_with_evidence": None if self.refund_with_evidence is None else money(self.refund_with_evidence),
            "next_change": None if nxt is None else {"at": iso_utc(nxt.at), "refund": money(nxt.refund)},
            "rules": [r.to_dict(money) for r in self.rules],
        }
