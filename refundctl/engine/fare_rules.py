"""Decide an order by its supplier's own rules: fare rules for flights, rate plans for hotels.

Both kinds share one shape: a charge (unflown base fare, or room charges) on which
the window in force at ``as_of`` sets a penalty; taxes, fees and ancillaries follow
the rule's refundability. ``next_change`` comes from replaying the later windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from refundctl.engine.decision import Decision, NextChange
from refundctl.engine.ledger import Ledger
from refundctl.engine.windows import Unpriceable, penalty_amount, schedule, window_at
from refundctl.money import ZERO, quantize
from refundctl.orders.model import Charge
from refundctl.policy.model import Policy, Refundability, Rule, Window


@dataclass(slots=True)  # not frozen: one per order (frozen dataclasses cost twice as much to build)
class Basis:
    """What the rule prices: the order reduced to the parts windows act on."""

    order_id: str
    kind: str
    currency: str
    paid: Decimal
    charge: Decimal  # the refundable base: unflown base fare, or room charges
    charge_component: str  # "base" or "rooms"
    consumed: Decimal  # the part of the base already used (flown segments)
    first_nights: Callable[[int], Decimal]  # hotels: price of the first n nights of every room
    taxes: tuple[Charge, ...]
    fees: tuple[Charge, ...]
    ancillaries: tuple[tuple[str, Decimal, bool], ...]  # (code, amount, used)
    anchor: datetime


@dataclass(frozen=True, slots=True)
class _Names:
    """The rule ids and notes of one policy's rule, built once rather than for every order."""

    windows: dict[str, tuple[str, str]]  # window id -> (rule id, note)
    flown: str
    not_refundable: str
    taxes: str
    fees: str
    ancillaries: str


_NAMES: dict[int, tuple[Policy, Rule, _Names]] = {}  # by id(rule); the policy and rule kept alive and compared


def _names(policy: Policy, rule: Rule) -> _Names:
    known = _NAMES.get(id(rule))
    if known is not None and known[0] is policy and known[1] is rule:
        return known[2]
    if len(_NAMES) > 1024:  # suppliers' own rules (submit --fetch) make a new rule per order
        _NAMES.clear()
    prefix = f"{policy.id}/{rule.id}"
    windows = {w.id: (f"{prefix}/{w.id}", f"penalty {w.penalty.describe()}")
               for w in (*rule.windows, *((rule.no_show,) if rule.no_show else ()))}  # fmt: skip
    names = _Names(windows, f"{prefix}/flown", f"{prefix}/not-refundable", f"{prefix}/taxes", f"{prefix}/fees",
                   f"{prefix}/ancillaries")  # fmt: skip
    _NAMES[id(rule)] = (policy, rule, names)
    return names


def decide_by_rule(policy: Policy, rule: Rule, basis: Basis, as_of: datetime) -> Decision:
    plan = schedule(rule, basis.anchor) if rule.refundable else []
    current = window_at(plan, as_of) if plan else -1
    names = _names(policy, rule)
    ledger = _ledger(policy, rule, names, basis, plan[current][0] if plan else None)
    refund = ledger.totals["refund"]
    # From window to window only the charge's penalty changes, unless a tax or fee is refunded in
    # proportion to the refunded charge: then each later window is priced whole (its totals only).
    proportional = "proportional" in (rule.taxes.mode, rule.fees.mode)
    next_change = None
    for j in range(current + 1, len(plan)):
        if proportional:
            later = _ledger(policy, rule, names, basis, plan[j][0], hits=False).totals["refund"]
        else:
            later = refund + _kept(plan[current][0], basis) - _kept(plan[j][0], basis)
        if later != refund:
            end = plan[j - 1][1]
            assert end is not None  # only the last window is open-ended
            next_change = NextChange(end, later)
            break
    return ledger.decision(basis.paid, next_change)


def _ledger(
    policy: Policy, rule: Rule, names: _Names, basis: Basis, window: Window | None, *, hits: bool = True
) -> Ledger:
    """The ledger of ``window`` (None: the rule refunds nothing); without ``hits`` only its totals are kept."""
    cur = basis.currency
    ledger = Ledger(basis.order_id, basis.kind, cur, policy.file, hits=hits)
    ledger.add(names.flown, "base", "non_refundable", basis.consumed, "segments already flown")
    if window is None:
        ledger.add(names.not_refundable, basis.charge_component, "non_refundable", basis.charge,
                   "the rule does not refund the base")  # fmt: skip
    else:
        kept = _kept(window, basis)
        rule_id, note = names.windows[window.id]
        ledger.split(rule_id, basis.charge_component, basis.charge, kept, "penalty", note)
    refunded_charge = ledger.totals["refund"]
    full_base = basis.charge + basis.consumed
    for tax in basis.taxes:
        _taxed(ledger, names.taxes, "tax", tax, rule.taxes, refunded_charge, basis, full_base)
    for fee in basis.fees:
        _taxed(ledger, names.fees, "fee", fee, rule.fees, refunded_charge, basis, full_base)
    for code, amount, used in basis.ancillaries:
        if rule.ancillaries == "unused" and not used:
            ledger.add(names.ancillaries, f"ancillary:{code}", "refund", amount, "unused ancillary")
        else:
            note = "used" if used else "ancillaries are not refundable under this rule"
            ledger.add(names.ancillaries, f"ancillary:{code}", "non_refundable", amount, note)
    return ledger


def _kept(window: Window, basis: Basis) -> Decimal:
    """The penalty ``window`` keeps of the charge."""
    nights = window.penalty.nights or 0
    try:
        return penalty_amount(window.penalty, basis.charge, basis.first_nights(nights) if nights else ZERO,
                              basis.currency)  # fmt: skip
    except Unpriceable as exc:
        raise RuleError(str(exc)) from None


def _taxed(
    ledger: Ledger,
    rule_id: str,
    what: str,
    line: Charge,
    refundability: Refundability,
    refunded_charge: Decimal,
    basis: Basis,
    full_base: Decimal,
) -> None:
    """One tax or fee line: kept, refunded in full, or in proportion to the refunded charge."""
    component = f"{what}:{line.code}"
    if not refundability.refunds(line.code):
        ledger.add(rule_id, component, "non_refundable", line.amount, f"{line.code} is not refundable")
        return
    if refundability.mode == "proportional":
        share = quantize(line.amount * refunded_charge / full_base, basis.currency) if full_base else ZERO
        ledger.split(rule_id, component, line.amount, line.amount - share, "penalty",
                     "refunded in proportion to the refunded charge, rounded per line")  # fmt: skip
        return
    if basis.consumed:
        # Partly flown: only the unflown share of the tax comes back.
        share = quantize(line.amount * basis.charge / full_base, basis.currency) if full_base else ZERO
        ledger.split(rule_id, component, line.amount, line.amount - share, "non_refundable",
                     "share of segments already flown")  # fmt: skip
        return
    ledger.add(rule_id, component, "refund", line.amount)


class RuleError(Exception):
    """The rule applies but cannot price this order; the order goes to manual review."""
