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
    held,
    lines_of,
    outcome_of,
    totals,
)
from refundctl.engine.decision import Decision, Outcome, RuleHit
from refundctl.engine.ledger import manual_review
from refundctl.engine.regulations import assess_all, one_compensation
from refundctl.engine.verdicts import Assessment, Verdict
from refundctl.engine.waivers import grant, has_evidence, mismatches
from refundctl.money import ZERO
from refundctl.orders.model import FlightOrder, Order
from refundctl.policy.model import PolicySet, Waiver


@dataclass(slots=True)  # not frozen: built for every order (nothing mutates it)
class WaiverCheck:
    waiver: Waiver
    why_not: tuple[str, ...]  # empty: the order meets every condition
    moved: Decimal = ZERO  # how much more it would refund than the regulations and fare rules
    evidence: bool = True  # the order carries the evidence it needs (or it needs none)
    winner: bool = False


@dataclass(slots=True)  # not frozen: built for every order (nothing mutates it)
class Trace:
    fare: Decision  # the supplier's own rules alone
    regulations: tuple[Assessment, ...]
    waivers: tuple[WaiverCheck, ...]
    final: Decision


def apply_overrides(
    order: Order, policies: PolicySet, as_of: datetime, fare: Decision, *, every_reason: bool = True
) -> Trace:
    assessments = assess_all(order, policies, as_of)
    # Most orders are out of every regulation's scope: nothing to share out, date or grant.
    applying = [a for a in assessments if a.applies]
    if applying:
        assessments = one_compensation(assessments)
    trace = _granted(order, policies, assessments, fare, every_reason, bool(applying))
    return _with_deadlines(trace) if applying else trace


def _with_deadlines(t: Trace) -> Trace:
    """Deadline-only regulations (a voluntary refund under CAAC) date the final refund, if there is one."""
    dated = [a for a in t.regulations if a.applies and a.deadline_only]
    if not dated:
        return t
    if t.final.refund <= ZERO:
        why = ("no refund is due, so it sets no deadline",)
        regulations = tuple(replace(a, why_not=why) if a.applies and a.deadline_only else a for a in t.regulations)
        return replace(t, regulations=regulations)
    final = t.final
    dues = [d for d in (final.due_by, *(a.due_by for a in dated)) if d is not None]
    provisional = final.due_by_provisional or any(a.due_provisional for a in dated)
    ids = tuple(sorted({*final.regulations, *(a.regulation.id for a in dated)}))
    return replace(t, final=replace(final, regulations=ids, due_by=min(dues), due_by_provisional=provisional))


def _granted(order: Order, policies: PolicySet, assessments: tuple[Assessment, ...], fare: Decision,
             every_reason: bool, applying: bool) -> Trace:  # fmt: skip
    """Regulations that refund or compensate, then waivers, on the fare-rule decision.

    ``applying``: whether any regulation applies (most orders: none, and nothing to look for).
    """
    applied = [a for a in assessments if a.applies and not a.deadline_only] if applying else []
    candidates = [(w, mismatches(w, order, every_reason)) for w in policies.waivers_by_id]
    review = "; ".join([a.review for a in assessments if a.review])
    if review:
        # A regulation that cannot be decided (an unknown airport) is never guessed away.
        checks = tuple(WaiverCheck(w, (f"the order goes to manual review: {review}",)) for w, _ in candidates)
        undecided = manual_review(order.id, order.kind, order.currency, order.paid, review, fare.policy)
        return Trace(fare, assessments, checks, _regulated(undecided, applied))
    if not applied and all(why_not for _, why_not in candidates):
        # Most orders meet no override: the fare-rule decision stands, without pricing any allocation.
        return Trace(fare, assessments, tuple([WaiverCheck(w, tuple(why_not)) for w, why_not in candidates]), fare)
    paid = components(order)
    used = consumption(order)
    flat = flat_fee_rules(order, policies)
    lines = lines_of(fare, order)
    unpriced = tuple(WaiverCheck(w, ("what was already flown cannot be priced",)) for w, _ in candidates)
    if used is None:
        # Partly flown without segment bases: what was used cannot be priced, so nothing may be waived.
        return Trace(fare, assessments, unpriced, _unpriceable(order, fare, applied))
    for a in applied:
        if not a.refunds:
            continue
        keep = _held(order, used, a)
        if keep is None:
            return Trace(fare, assessments, unpriced, _unpriceable(order, fare, applied))
        grant = Grant(a.regulation.id, a.regulation.file, "full-refund", "supplier")
        lines, _ = apply(lines, grant, paid, keep, flat)
    checks, lines, winner = _waivers(order, candidates, fare, lines, paid, used, flat, bool(applied))
    if not applied and winner is None:
        return Trace(fare, assessments, checks, fare)
    return Trace(fare, assessments, checks, _decision(order, fare, lines, applied, checks, winner))


def _held(order: Order, used: dict[str, Decimal], a: Assessment) -> dict[str, Decimal] | None:
    """What regulation ``a``'s refund may not touch, journey by journey."""
    if not isinstance(order, FlightOrder):
        return used
    refunds = a.refunds
    refunded = {i for v in refunds if v.refund == "unused" for i in v.journey.indexes}
    reimbursed = {i for v in refunds if v.reimburse_flown for i in v.journey.flown}
    return held(order, used, refunded, reimbursed, ancillaries_only=not refunded)


def _unpriceable(order: Order, fare: Decision, applied: list[Assessment]) -> Decision:
    """The regulations' verdicts on an order whose refund cannot be priced: review the refund, keep the rest."""
    if not any(a.refunds for a in applied):
        return _regulated(fare, applied) if applied else fare
    reason = "partly flown, and not every segment carries its base fare: the regulation refund cannot be priced"
    return _regulated(manual_review(order.id, order.kind, order.currency, order.paid, reason, fare.policy), applied)


def _regulated(decision: Decision, applied: list[Assessment], reason: str | None = None) -> Decision:
    """``decision`` with what the regulations decided: which applied, the due date, the compensations.

    ``reason`` replaces the decision's own reason followed by the regulations' (the default).
    """
    if not applied:
        return decision
    compensation = tuple(c for a in applied for c in a.compensations)
    dues = [a.due_by for a in applied if a.due_by is not None]
    provisional = any(a.due_provisional for a in applied if a.due_by is not None)
    hits = (*decision.rules, *(_compensation_hit(a, v) for a in applied for v in a.verdicts
                               if v.applies and v.compensation is not None))  # fmt: skip
    if reason is None:
        reason = "; ".join(r for r in (decision.reason, *(_why(a) for a in applied)) if r)
    return replace(decision, regulations=tuple(a.regulation.id for a in applied), due_by=min(dues) if dues else None,
                   due_by_provisional=provisional, compensation=compensation, rules=hits, reason=reason)  # fmt: skip


def _why(a: Assessment) -> str:
    return f"{a.regulation.id}: {'; '.join(why for v in a.verdicts if v.applies for why in v.why)}"


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
    reasons = [_why(a) for a in applied]
    if winner is not None:
        reasons.append(f"waiver {winner.waiver.id} ({winner.waiver.effect}, funded by {winner.waiver.funded_by})")
    if winner is not None and not winner.evidence:
        outcome = "needs_evidence"
        reasons.append(f'evidence required: add {{"waiver": "{winner.waiver.id}", "reference": ...}} to evidence')
    decision = Decision(
        order_id=fare.order_id,
        kind=fare.kind,
        outcome=outcome,
        currency=fare.currency,
        paid=fare.paid,
        refund=refund,
        penalty=by_effect["penalty"],
        non_refundable=by_effect["non_refundable"],
        rules=tuple(line.hit for line in lines),
        policy=fare.policy,
        reason="; ".join(reasons) or None,
        next_change=None,  # overrides do not follow the fare rule's windows
        funded_by={k: v for k, v in funded.items() if v or k == "supplier"},
        waivers=(winner.waiver.id,) if winner else (),
        refund_with_evidence=refund if outcome == "needs_evidence" else None,
        also_matched=tuple(c.waiver.id for c in checks if not c.why_not and not c.winner),
    )
    return _regulated(decision, applied, decision.reason)


def _compensation_hit(a: Assessment, v: Verdict) -> RuleHit:
    c = v.compensation
    assert c is not None  # only verdicts with a compensation are passed
    note = f"{v.journey.label()}: {v.compensation_note}"
    return RuleHit(c.regulation, a.regulation.file, "compensation", "compensation", c.amount, note, c.currency)
