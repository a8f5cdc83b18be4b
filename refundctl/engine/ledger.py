"""Allocate every paid component to refund, penalty or non-refundable, rule by rule.

Each component is split exactly (the parts add up to what was paid for it), so
``refund + penalty + non_refundable == paid`` holds by construction.
"""

from __future__ import annotations

from decimal import Decimal

from refundctl.engine.decision import Decision, Effect, NextChange, Outcome, RuleHit
from refundctl.money import ZERO


class Ledger:
    """``hits`` False keeps the totals only (a later window's refund, to find when it changes)."""

    def __init__(self, order_id: str, kind: str, currency: str, policy: str, *, hits: bool = True) -> None:
        self.order_id = order_id
        self.kind = kind
        self.currency = currency
        self.policy = policy
        self.keep = hits
        self.hits: list[RuleHit] = []
        self.totals: dict[Effect, Decimal] = {"refund": ZERO, "penalty": ZERO, "non_refundable": ZERO}

    def add(self, rule: str, component: str, effect: Effect, amount: Decimal, note: str = "") -> None:
        if amount:
            if self.keep:
                self.hits.append(RuleHit(rule, self.policy, component, effect, amount, note))
            self.totals[effect] += amount

    def split(self, rule: str, component: str, total: Decimal, kept: Decimal, kept_as: Effect, note: str = "") -> None:
        """``kept`` of ``total`` goes to ``kept_as``, the rest is refunded."""
        self.add(rule, component, kept_as, kept, note)
        self.add(rule, component, "refund", total - kept, note)

    def decision(self, paid: Decimal, next_change: NextChange | None = None, reason: str | None = None) -> Decision:
        refund = self.totals["refund"]
        outcome: Outcome = "full" if refund == paid else "none" if refund == ZERO else "partial"
        return Decision(
            order_id=self.order_id,
            kind=self.kind,
            outcome=outcome,
            currency=self.currency,
            paid=paid,
            refund=refund,
            penalty=self.totals["penalty"],
            non_refundable=self.totals["non_refundable"],
            rules=tuple(self.hits),
            policy=self.policy,
            reason=reason,
            next_change=next_change,
            funded_by={"supplier": refund},
        )


def manual_review(order_id: str, kind: str, currency: str, paid: Decimal, reason: str, policy: str | None) -> Decision:
    """Undecided: everything paid is held as non-refundable until a person looks."""
    return Decision(
        order_id=order_id,
        kind=kind,
        outcome="manual_review",
        currency=currency,
        paid=paid,
        refund=ZERO,
        penalty=ZERO,
        non_refundable=paid,
        rules=(),
        policy=policy,
        reason=reason,
        funded_by={"supplier": ZERO},
    )
