"""The platform leg before anything is sent: can it be sent, and is real money leaving the platform.

- :func:`unsendable`: with a payments provider, an order whose platform share has no
  ``payment_reference``, or an amount the provider cannot represent exactly, is not sent at
  all (neither leg), and is reported with the reason.
- :func:`platform_totals`: the platform's share per currency, for the live-key confirmation.
- :func:`manual_lines`: the stderr summary of the platform legs left to be paid by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from refundctl.adapters import PaymentRefundRequest, payments_provider
from refundctl.money import fmt
from refundctl.submit.fates import Fate, manual_totals
from refundctl.submit.journal import Plan


def unsendable(plans: Mapping[str, Plan], provider: str | None) -> dict[str, str]:
    """Order id -> why its platform leg cannot be sent through ``provider`` (None: paid by hand, always fine)."""
    if provider is None:
        return {}
    check = payments_provider(provider).check
    out: dict[str, str] = {}
    for order_id, plan in plans.items():
        leg = plan.platform
        if leg is None:
            continue
        share = f"the platform's share {fmt(leg.amount, plan.currency)} {plan.currency}"
        if leg.payment_reference is None:
            out[order_id] = f"{share} needs the order's payment_reference to refund through {provider}; nothing sent"
            continue
        try:
            check(PaymentRefundRequest(order_id, leg.payment_reference, leg.amount, plan.currency, "", ""))
        except ValueError as exc:
            out[order_id] = f"{share}: {exc}"
    return out


def platform_totals(plans: Iterable[Plan]) -> str:
    """``1290.00 CNY, 15.000 KWD``: the platform's share per currency."""
    totals: dict[str, Decimal] = {}
    for plan in plans:
        if plan.platform is not None:
            totals[plan.currency] = totals.get(plan.currency, Decimal(0)) + plan.platform.amount
    return ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(totals.items())) or "nothing"


def manual_lines(fates: Iterable[Fate]) -> list[str]:
    """One stderr line per currency of platform legs to be paid by hand."""
    return [
        f"refundctl: {count} platform leg(s) journaled manual (no --payments provider): {fmt(total, cur)} {cur} "
        "to pay by hand"
        for cur, (count, total) in sorted(manual_totals(fates).items())
    ]
