"""From a decision to the plan the journal keeps: key, amount, currency, due date."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from refundctl.engine import Decision
from refundctl.money import fmt
from refundctl.submit.journal import Plan


def idempotency_key(order_id: str, amount: str, currency: str, policy_digest: str) -> str:
    """The same refund gets the same key on a retry, a rerun or another machine.

    ``amount`` is the canonical string (exact minor unit), so ``10.5`` and
    ``10.50`` cannot produce two keys for one refund.
    """
    material = "\x1f".join(("refundctl/v1", order_id, amount, currency, policy_digest))
    return "rfk_" + hashlib.sha256(material.encode()).hexdigest()[:48]


def plan_for(decision: Decision, policy_digest: str, default_due: date) -> Plan:
    """The plan of a submittable decision; ``default_due`` applies when no regulation sets a deadline."""
    amount = fmt(decision.refund, decision.currency)
    return Plan(
        order_id=decision.order_id,
        idempotency_key=idempotency_key(decision.order_id, amount, decision.currency, policy_digest),
        amount=decision.refund,
        currency=decision.currency,
        outcome=decision.outcome,
        reason=decision.reason,
        waivers=decision.waivers,
        due_by=decision.due_by or default_due,
    )


def default_due(as_of: date, service_level_days: int) -> date:
    return as_of + timedelta(days=service_level_days)
