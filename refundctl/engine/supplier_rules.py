"""Deciding with a supplier's own refund rule for an order as the fallback policy.

Suppliers that know an order's own refund rule (Duffel's order conditions) offer
``order_policy``; that policy decides carriers no policy file covers, and every rule
hit it produces says where it came from. Used by ``smoke`` and ``submit --fetch``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Protocol, runtime_checkable

from refundctl.engine.core import decide
from refundctl.engine.decision import Decision
from refundctl.orders.model import Order
from refundctl.policy import Policy, PolicySet


@runtime_checkable
class OrderRules(Protocol):
    """A supplier that states an order's own refund rule (e.g. Duffel's order conditions)."""

    def order_policy(self, order_id: str) -> tuple[Policy | None, str]: ...


def _noted(decision: Decision, policy_file: str | None, note: str) -> Decision:
    """Add ``note`` (where the supplier's rule came from) to every hit of that rule, and to the reason."""
    hits = tuple(
        replace(hit, note=f"{hit.note}; {note}" if hit.note else note) if hit.policy == policy_file else hit
        for hit in decision.rules
    )
    reason = decision.reason
    if reason and (decision.policy == policy_file or decision.outcome == "manual_review"):
        reason = f"{reason} ({note})"
    return replace(decision, rules=hits, reason=reason)


def decide_with_supplier_rules(
    order: Order, policies: PolicySet, supplier: object, as_of: datetime
) -> tuple[Decision, str]:
    """The decision, with the supplier's own rule as fallback; and the policy digest used."""
    if not isinstance(supplier, OrderRules):
        return decide(order, policies, as_of), policies.digest
    policy, note = supplier.order_policy(order.id)
    used = policies if policy is None else policies.with_fallback(policy)
    return _noted(decide(order, used, as_of), None if policy is None else policy.file, note), used.digest
