"""From a decision to the plan the journal keeps: each leg's key and amount, the currency, the due date."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from refundctl.engine import Decision
from refundctl.money import ZERO, fmt
from refundctl.submit.journal import Plan, PlatformPlan


def _key(prefix: str, namespace: str, order_id: str, amount: str, currency: str, policy_digest: str) -> str:
    material = "\x1f".join((namespace, order_id, amount, currency, policy_digest))
    return prefix + hashlib.sha256(material.encode()).hexdigest()[:48]


def idempotency_key(order_id: str, amount: str, currency: str, policy_digest: str) -> str:
    """The supplier leg's key: the same refund gets the same key on a retry, a rerun or another machine.

    ``amount`` is the canonical string (exact minor unit), so ``10.5`` and
    ``10.50`` cannot produce two keys for one refund.
    """
    return _key("rfk_", "refundctl/v1", order_id, amount, currency, policy_digest)


def platform_key(order_id: str, amount: str, currency: str, policy_digest: str) -> str:
    """The platform leg's key: derived as the supplier leg's, in its own namespace, so never equal to it."""
    return _key("pfk_", "refundctl/platform/v1", order_id, amount, currency, policy_digest)


def shares(decision: Decision) -> tuple[Decimal, Decimal]:
    """(supplier, platform): who funds the refund; a decision without ``funded_by`` is the supplier's."""
    platform = decision.funded_by.get("platform", ZERO)
    return decision.refund - platform, platform


def plan_for(decision: Decision, policy_digest: str, payment_reference: str | None = None) -> Plan:
    """The plan of a submittable decision: a supplier leg, and a platform leg for a platform-funded share.

    ``due_by`` is the regulation's deadline; without one the journal sets it when the first leg
    leaves (the service level counts from submission). ``payment_reference`` is the order's
    payment, which the platform leg is refunded against.
    """
    cur = decision.currency
    supplier, platform = shares(decision)
    return Plan(
        order_id=decision.order_id,
        idempotency_key=idempotency_key(decision.order_id, fmt(supplier, cur), cur, policy_digest),
        amount=supplier,
        currency=cur,
        outcome=decision.outcome,
        reason=decision.reason,
        waivers=decision.waivers,
        due_by=decision.due_by,
        due_by_provisional=decision.due_by_provisional and decision.due_by is not None,
        platform=None
        if platform <= ZERO
        else PlatformPlan(
            platform_key(decision.order_id, fmt(platform, cur), cur, policy_digest), platform, payment_reference
        ),
    )
