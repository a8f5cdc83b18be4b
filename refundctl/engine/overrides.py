"""Apply regulations, then waivers, on top of the fare-rule decision; keep a trace for ``explain``.

Order of play: every regulation that covers the order applies (they are law, paid
by the supplier). Then each waiver the order meets is tried on that result; the
one most favourable to the traveller (largest refund) wins, the others are listed
as also matched. A winning waiver that needs evidence the order lacks makes the
outcome ``needs_evidence`` with the amounts the order would receive once it is
attached; ``submit`` never sends those.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from refundctl.engine.allocate import (
    Grant,
    Line,
    apply,
    components,
    consumption,
    flat_fee_rules,
    lines_of,
    outcome_of,
    totals,
)
from refundctl.engine.decision import Compensation, Decision, Outcome, RuleHit
from refundctl.engine.regulations import Assessment, assess
from refundctl.engine.waivers import grant, has_evidence, mismatches
from refundctl.money import ZERO
from refundctl.orders.model import Order
from refundctl.policy.model import PolicySet, Waiver


@dataclass(frozen=True, slots=True)
class WaiverCheck:
    waiver: Waiver
    why_not: tuple[str, ...]  # empty: the order meets every condition
    moved: Decimal = ZERO  # how much more it would refund than the regulations and fare rules
    evidence: bool = True  # the order carries the evidence it needs (or it needs none)
    winner: bool = False


@dataclass(frozen=True, slots=True)
class Trace:
    fare: Decision  # the supplier's own rules alone
    regulations: tuple[Assessment, ...]
    waivers: tuple[WaiverCheck, ...]
    final: Decision


def apply_overrides(
    order: Order, policies: PolicySet, as_of: datetime, fare: Decision, *, every_reason: bool = True
) -> Trace:
    assessments = tuple(assess(r, order, policies, as_of) for r in sorted(policies.regulations, key=lambda r: r.id))
    applied = [a for a in assessments if a.applies]
    candidates = [(w, mismatches(w, order, every_reason)) for w in sorted(policies.waivers, key=lambda w: w.id)]
    if not applied and all(why_not for _, why_not in candidates):
        # Most orders meet no override: the fare-rule decision stands, without pricing any allocation.
        return Trace(fare, assessments, tuple(WaiverCheck(w, tuple(why_not)) for w, why_not in candidates), fare)
    paid = components(order)
    used = consumption(order)
    flat = flat_fee_rules(order, policies)
    lines = lines_of(fare, order)
    if used is None:
        # Partly flown without segment bases: what was used cannot be priced, so nothing may be waived.
        checks = tuple(WaiverCheck(w, ("what was already flown cannot be priced",)) for w in policies.waivers)
        return Trace(fare, assessments, checks, fare)
    for a in applied:
        if a.refund:
            lines, _ = apply(lines, Grant(a.regulation.id, a.regulation.file, "full-refund", "supplier"),
                                      paid, used, flat)  # fmt: skip
    checks, lines, winner = _waivers(order, candidates, fare, lines, paid, used, flat, bool(applied))
    if not applied and winner is None:
        return Trace(fare, assessments, checks, fare)
    return Trace(fare, assessments, checks, _decision(order, fare, lines, applied, checks, winner))


def _waivers(order: Order, candidates: list[tuple[Waiver, list[str]]], fare: Decision, lines: list[Line],
             paid: dict[str, Decimal],
             used: dict[str, Decimal], flat: frozenset[str],
             regulated: bool) -> tuple[tuple[WaiverCheck, ...], list[Line], WaiverCheck | None]:  # fmt: skip
    """Every waiver checked; the lines after the winner (if any); the winner."""
    checks: list[WaiverCheck] = []
    results: dict[str, list[Line]] = {}
    for waiver, why_not in candidates:
        if not why_not and fare.outcome == "manual_review" and not regulated:
            why_not.append("the supplier's own rules could not decide this order, so no funding split is known")
        if why_not:
            checks.append(WaiverCheck(waiver, tuple(why_not)))
            continue
        after, moved = apply(lines, grant(waiver), paid, used, flat)
        results[waiver.id] = after
        checks.append(WaiverCheck(waiver, (), moved, has_evidence(waiver, order)))
    # Most favourable first; on a tie, one that needs no missing evidence, then by id.
    ranked = sorted((c for c in checks if not c.why_not and c.moved > ZERO),
                    key=lambda c: (-c.moved, not c.evidence, c.waiver.id))  # fmt: skip
    if not ranked:
        return tuple(checks), lines, None
    best = ranked[0].waiver.id
    checks = [replace(c, winner=True) if c.waiver.id == best else c for c in checks]
    winner = next(c for c in checks if c.winner)
    return tuple(checks), results[best], winner


def _decision(order: Order, fare: Decision, lines: list[Line], applied: list[Assessment],
              checks: tuple[WaiverCheck, ...], winner: WaiverCheck | None) -> Decision:  # fmt: skip
    by_effect, funded = totals(lines)
    refund = by_effect["refund"]
    outcome: Outcome = outcome_of(refund, order.paid)
    reasons = [f"{a.regulation.id}: {'; '.join(a.why)}" for a in applied]
    if winner is not None:
        reasons.append(f"waiver {winner.waiver.id} ({winner.waiver.effect}, funded by {winner.waiver.funded_by})")
    if winner is not None and not winner.evidence:
        outcome = "needs_evidence"
        reasons.append(f'evidence required: add {{"waiver": "{winner.waiver.id}", "reference": ...}} to evidence')
    compensation = next((a.compensation for a in applied if a.compensation is not None), None)
    hits = [line.hit for line in lines]
    if compensation is not None:
        hits.append(_compensation_hit(compensation, applied))
    dues = [a.due_by for a in applied if a.due_by is not None]
    return Decision(
        order_id=fare.order_id,
        kind=fare.kind,
        outcome=outcome,
        currency=fare.currency,
        paid=fare.paid,
        refund=refund,
        penalty=by_effect["penalty"],
        non_refundable=by_effect["non_refundable"],
        rules=tuple(hits),
        policy=fare.policy,
        reason="; ".join(reasons),
        next_change=None,  # overrides do not follow the fare rule's windows
        funded_by={k: v for k, v in funded.items() if v or k == "supplier"},
        waivers=(winner.waiver.id,) if winner else (),
        regulations=tuple(a.regulation.id for a in applied),
        due_by=min(dues) if dues else None,
        compensation=compensation,
        refund_with_evidence=refund if outcome == "needs_evidence" else None,
        also_matched=tuple(c.waiver.id for c in checks if not c.why_not and not c.winner),
    )


def _compensation_hit(compensation: Compensation, applied: list[Assessment]) -> RuleHit:
    source = next(a for a in applied if a.compensation is compensation)
    return RuleHit(source.regulation.id, source.regulation.file, "compensation", "compensation", compensation.amount,
                   source.compensation_note, compensation.currency)  # fmt: skip
