"""Re-allocate a decision's amounts when a waiver or regulation overrides the fare rules.

An override never invents money: it moves parts of penalty or non-refundable hits
to refund, hit by hit, so ``refund + penalty + non_refundable == paid`` still holds
and every refunded amount keeps a funder (``supplier`` or ``platform``). What the
traveller has already used (flown segments, used ancillaries, a stay) is never
refunded by an override.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal

from refundctl.engine.decision import Decision, Outcome, RuleHit
from refundctl.money import ZERO, quantize
from refundctl.orders.model import Charge, FlightOrder, Order
from refundctl.policy.model import Funder, PolicySet, WaiverEffect

UNPRICED = "unpriced"  # the rule id of amounts no fare rule priced (manual review)


@dataclass(frozen=True, slots=True)
class Grant:
    """What one waiver or regulation does to a decision."""

    id: str
    policy: str  # its file, relative to the policy directory
    effect: WaiverEffect
    funded_by: Funder
    up_to: Decimal | None = None  # in the order's currency (checked by the caller)


@dataclass(frozen=True, slots=True)
class Line:
    hit: RuleHit
    funder: Funder = "supplier"  # meaningful for refund hits only


def components(order: Order) -> dict[str, Decimal]:
    """What was paid, by component, under the names the fare-rule ledger uses."""
    out: dict[str, Decimal] = {}

    def add(name: str, amount: Decimal) -> None:
        out[name] = out.get(name, ZERO) + amount

    if isinstance(order, FlightOrder):
        add("base", order.fare.base)
        charges = (*(("tax", t) for t in order.fare.taxes), *(("fee", f) for f in order.fare.fees))
        for what, charge in charges:
            add(f"{what}:{charge.code}", charge.amount)
        for a in order.ancillaries:
            add(f"ancillary:{a.code}", a.amount)
    else:
        add("rooms", order.stay.room_charges)
        for what, charge in (*(("tax", t) for t in order.taxes), *(("fee", f) for f in order.fees)):
            add(f"{what}:{charge.code}", charge.amount)
    return out


def consumption(order: Order) -> dict[str, Decimal] | None:
    """What the traveller has used, by component; None when it cannot be priced.

    Partly flown orders need every segment's base; taxes and fees are used in
    proportion to the flown base, rounded per line as the fare rules round them.
    """
    if not isinstance(order, FlightOrder):
        return components(order) if order.status == "stayed" else {}
    flown = [i for i, s in enumerate(order.segments) if s.status == "flown"]
    if len(flown) == len(order.segments):
        return components(order)
    used = {f"ancillary:{a.code}": ZERO for a in order.ancillaries}
    for a in order.ancillaries:
        used[f"ancillary:{a.code}"] += a.amount if a.used else ZERO
    part = share(order, flown)
    if part is None:
        return None
    return _plus(used, part)


def share(order: FlightOrder, indexes: Collection[int]) -> dict[str, Decimal] | None:
    """The base, taxes and fees that belong to these segments; None when not every segment has a base.

    Taxes and fees follow the segments' share of the base, rounded per line (ROUND_HALF_UP).
    """
    if not indexes:
        return {}
    bases = [s.base for s in order.segments]
    full = sum((b for b in bases if b is not None), ZERO)
    if None in bases or full != order.fare.base or not full:
        return None
    part = sum((s.base for i, s in enumerate(order.segments) if i in indexes and s.base is not None), ZERO)
    out = {"base": part}
    lines: tuple[tuple[str, Charge], ...] = (
        *(("tax", t) for t in order.fare.taxes),
        *(("fee", f) for f in order.fare.fees),
    )
    for what, charge in lines:
        rest = quantize(charge.amount * (full - part) / full, order.currency)
        name = f"{what}:{charge.code}"
        out[name] = out.get(name, ZERO) + charge.amount - rest
    return out


def held(order: FlightOrder, used: dict[str, Decimal], refunded: Collection[int], reimbursed: Collection[int],
         ancillaries_only: bool) -> dict[str, Decimal] | None:  # fmt: skip
    """What a regulation's refund may not touch: what was used, and the unflown segments it does not refund.

    ``refunded``: the segments whose unused parts it refunds; ``reimbursed``: flown segments it
    reimburses all the same (an abandoned journey); ``ancillaries_only``: it refunds unused
    ancillaries and nothing else (14 CFR 260.4). None when the split needs segment bases the
    order lacks.
    """
    if ancillaries_only:
        paid = components(order)
        return {k: (used.get(k, ZERO) if k.startswith("ancillary:") else v) for k, v in paid.items()}
    others = [i for i, s in enumerate(order.segments) if s.status != "flown" and i not in refunded]
    kept, back = share(order, others), share(order, list(reimbursed))
    if kept is None or back is None:
        return None
    return {k: v - back.get(k, ZERO) for k, v in _plus(used, kept).items()}


def _plus(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, Decimal]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, ZERO) + v
    return out


def lines_of(decision: Decision, order: Order) -> list[Line]:
    """The decision's hits as lines; whatever no hit accounts for becomes an ``unpriced`` hit."""
    lines = [Line(hit) for hit in decision.rules if hit.effect != "compensation"]
    if sum((line.hit.amount for line in lines), ZERO) == decision.paid:
        return lines  # fully priced (possibly as one "all" component, e.g. a hotel that did not honour it)
    priced: dict[str, Decimal] = {}
    for line in lines:
        priced[line.hit.component] = priced.get(line.hit.component, ZERO) + line.hit.amount
    missing = []
    for component, paid in components(order).items():
        rest = paid - priced.get(component, ZERO)
        if rest > ZERO:
            note = f"not priced by a fare rule: {decision.reason}" if decision.reason else "not priced by a fare rule"
            hit = RuleHit(UNPRICED, decision.policy or "", component, "non_refundable", rest, note)
            missing.append(Line(hit))
    return missing + lines


def apply(lines: list[Line], grant: Grant, paid: dict[str, Decimal], used: dict[str, Decimal],
          flat_fee_rules: frozenset[str]) -> tuple[list[Line], Decimal]:  # fmt: skip
    """The lines after ``grant``, and how much it moved to refund.

    Lines are taken from the last one back: the ledger records what was used
    first (flown share, used ancillaries), so the penalty and the rule's own
    non-refundable parts are waived before anything that was used.
    """
    room: dict[str, Decimal] = {}
    for component, amount in paid.items():
        refunded = sum((ln.hit.amount for ln in lines if ln.hit.component == component and ln.hit.effect == "refund"),
                       ZERO)  # fmt: skip
        room[component] = max(ZERO, amount - used.get(component, ZERO) - refunded)
    cap = grant.up_to
    moved = ZERO
    out: list[Line] = []
    for line in reversed(lines):
        hit = line.hit
        take = ZERO
        if _waivable(hit, grant.effect, flat_fee_rules):
            take = min(hit.amount, room.get(hit.component, ZERO), hit.amount if cap is None else cap - moved)
        if take <= ZERO:
            out.append(line)
            continue
        moved += take
        room[hit.component] -= take
        note = f"{grant.id} waives {take} of the {hit.effect.replace('_', '-')} set by {hit.rule}"
        out.append(Line(RuleHit(grant.id, grant.policy, hit.component, "refund", take, note), grant.funded_by))
        if hit.amount > take:
            out.append(Line(replace(hit, amount=hit.amount - take)))
    out.reverse()
    return out, moved


def _waivable(hit: RuleHit, effect: WaiverEffect, flat_fee_rules: frozenset[str]) -> bool:
    if effect == "full-refund":
        return hit.effect in ("penalty", "non_refundable")
    if effect == "waive-penalties":
        return hit.effect == "penalty"
    return hit.effect == "penalty" and hit.rule in flat_fee_rules


def flat_fee_rules(order: Order, policies: PolicySet) -> frozenset[str]:
    """Rule ids of the windows of this order's fare rule that charge a flat amount (a refund fee)."""
    is_flight = isinstance(order, FlightOrder)
    policy = policies.for_supplier("airline" if is_flight else "hotel", order.common.supplier)
    if policy is None:
        return frozenset()
    code = order.fare.fare_class if isinstance(order, FlightOrder) else order.stay.rate_plan
    rule = policy.rule_for(code)
    if rule is None:
        return frozenset()
    windows = (*rule.windows, *((rule.no_show,) if rule.no_show else ()))
    return frozenset(f"{policy.id}/{rule.id}/{w.id}" for w in windows if w.penalty.amount is not None)


def totals(lines: list[Line]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Amounts by effect, and refunds by funder."""
    by_effect = {"refund": ZERO, "penalty": ZERO, "non_refundable": ZERO}
    funded: dict[str, Decimal] = {"supplier": ZERO}
    for line in lines:
        by_effect[line.hit.effect] += line.hit.amount
        if line.hit.effect == "refund":
            funded[line.funder] = funded.get(line.funder, ZERO) + line.hit.amount
    return by_effect, funded


def outcome_of(refund: Decimal, paid: Decimal) -> Outcome:
    return "full" if refund == paid else "none" if refund == ZERO else "partial"
