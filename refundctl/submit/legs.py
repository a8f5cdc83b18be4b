"""The legs before anything is sent: can the platform's be sent, and how much real money is leaving.

- :func:`unsendable`: with a payments provider, an order whose platform share has no
  ``payment_reference``, or an amount the provider cannot represent exactly, is not sent at
  all (neither leg), and is reported with the reason.
- :class:`Due`: the legs a run is about to send, summed per target as they are found, for the
  confirmation and the dry run's estimate.
- :func:`manual_lines`: the stderr summary of the platform legs left to be paid by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from refundctl.adapters import PaymentRefundRequest, payments_provider
from refundctl.money import fmt
from refundctl.submit.journal import Plan


def unsendable(plan: Plan, provider: str | None) -> str | None:
    """Why the order's platform leg cannot be sent through ``provider``, or None (None provider: paid by hand,
    always fine)."""
    leg = plan.platform
    if provider is None or leg is None:
        return None
    share = f"the platform's share {fmt(leg.amount, plan.currency)} {plan.currency}"
    if leg.payment_reference is None:
        return f"{share} needs the order's payment_reference to refund through {provider}; nothing sent"
    try:
        payments_provider(provider).check(
            PaymentRefundRequest(plan.order_id, leg.payment_reference, leg.amount, plan.currency, "", "")
        )
    except ValueError as exc:
        return f"{share}: {exc}"
    return None


def _per_currency(sums: Mapping[str, Decimal]) -> str:
    """``1290.00 CNY, 15.000 KWD``."""
    return ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(sums.items()))


class Sums:
    """Plans summed as they are found (never listed): how many, the supplier legs of more than zero (those sent),
    and how much per currency, in all and of the platform's share."""

    def __init__(self) -> None:
        self.refunds = 0
        self.legs = 0
        self.platform_refunds = 0
        self._amounts: dict[str, Decimal] = {}
        self._platform: dict[str, Decimal] = {}

    def add(self, plan: Plan) -> None:
        self.refunds += 1
        self.legs += plan.amount > 0
        self._amounts[plan.currency] = self._amounts.get(plan.currency, Decimal(0)) + plan.amount
        if plan.platform is not None:
            self.platform_refunds += 1
            self._platform[plan.currency] = self._platform.get(plan.currency, Decimal(0)) + plan.platform.amount

    def totals(self) -> str:
        """The supplier legs' amounts per currency."""
        return _per_currency(self._amounts)

    def platform_totals(self) -> str:
        """The platform's share per currency (``nothing`` without any)."""
        return _per_currency(self._platform) or "nothing"


class Due:
    """The refunds a run is about to send (or would send), summed per target and in all."""

    def __init__(self) -> None:
        self.targets: dict[str, Sums] = {}  # by the target the supplier leg goes through, first found first
        self.all = Sums()

    def add(self, plan: Plan) -> None:
        self.targets.setdefault(plan.target, Sums()).add(plan)
        self.all.add(plan)


def manual_lines(manual: Mapping[str, tuple[int, Decimal]]) -> list[str]:
    """One stderr line per currency of platform legs to be paid by hand (``Tally.manual``)."""
    return [
        f"refundctl: {count} platform leg(s) journaled manual (no --payments provider): {fmt(total, cur)} {cur} "
        "to pay by hand"
        for cur, (count, total) in sorted(manual.items())
    ]
