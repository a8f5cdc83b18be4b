"""``decide``: pick the policy and rule for an order, price it, then apply waivers and regulations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial

from refundctl.engine.apply_overrides import Trace, apply_overrides
from refundctl.engine.decision import Decision
from refundctl.engine.fare_rules import Basis, RuleError, decide_by_rule
from refundctl.engine.ledger import Ledger, manual_review
from refundctl.engine.windows import hotel_anchor
from refundctl.money import ZERO
from refundctl.orders.model import FlightOrder, HotelOrder, Order
from refundctl.policy.model import PolicySet


def decide(order: Order, policies: PolicySet, as_of: datetime) -> Decision:
    """The refund ``order`` gets if cancelled at ``as_of`` (an aware datetime)."""
    return trace(order, policies, as_of, every_reason=False).final


def trace(order: Order, policies: PolicySet, as_of: datetime, *, every_reason: bool = True) -> Trace:
    """The fare-rule decision, every waiver and regulation considered, and the final decision.

    ``every_reason`` lists every condition a waiver fails (for ``explain``); without it
    a waiver not met says only that (``waivers.NOT_MET``), which is all a decision needs.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a UTC offset")
    decide_kind = _decide_flight if isinstance(order, FlightOrder) else _decide_hotel
    fare = decide_kind(order, policies, as_of)  # type: ignore[arg-type]
    return apply_overrides(order, policies, as_of, fare, every_reason=every_reason)


def _review(order: Order, reason: str, policy: str | None = None) -> Decision:
    return manual_review(order.id, order.kind, order.currency, order.paid, reason, policy)


def _decide_flight(order: FlightOrder, policies: PolicySet, as_of: datetime) -> Decision:
    supplier = order.common.supplier
    policy = policies.for_supplier("airline", supplier)
    if policy is None:
        return _review(order, f"no airline policy covers carrier {supplier}")
    rule = policy.rule_for(order.fare.fare_class)
    if rule is None:
        return _review(order, f"{policy.file} has no fare rule for class {order.fare.fare_class}", policy.file)
    unflown = [s for s in order.segments if s.status != "flown"]
    paid = order.paid
    if not unflown:
        ledger = Ledger(order.id, "flight", order.currency, policy.file)
        ledger.add(f"{policy.id}/{rule.id}/flown", "all", "non_refundable", paid, "every segment has been flown")
        return ledger.decision(paid)
    consumed = ZERO
    if len(unflown) < len(order.segments):
        bases = [s.base for s in order.segments]
        if any(b is None for b in bases):
            return _review(order, "partly flown, and not every segment carries its base fare", policy.file)
        total = sum((b for b in bases if b is not None), ZERO)
        if total != order.fare.base:
            return _review(order, f"segment bases add up to {total}, not the fare base {order.fare.base}", policy.file)
        consumed = sum((s.base for s in order.segments if s.status == "flown" and s.base is not None), ZERO)
    basis = Basis(
        order_id=order.id,
        kind="flight",
        currency=order.currency,
        paid=paid,
        charge=order.fare.base - consumed,
        charge_component="base",
        consumed=consumed,
        first_nights=_no_nights,
        taxes=order.fare.taxes,
        fees=order.fare.fees,
        ancillaries=tuple((a.code, a.amount, a.used) for a in order.ancillaries),
        anchor=min(s.departs_at for s in unflown),
    )
    try:
        return decide_by_rule(policy, rule, basis, as_of)
    except RuleError as exc:
        return _review(order, str(exc), policy.file)


def _no_nights(_: int) -> Decimal:
    return ZERO


def _first_nights(order: HotelOrder, n: int) -> Decimal:
    return sum(order.stay.nightly[:n], ZERO) * order.stay.rooms


def _decide_hotel(order: HotelOrder, policies: PolicySet, as_of: datetime) -> Decision:
    supplier = order.common.supplier
    policy = policies.for_supplier("hotel", supplier)
    if policy is None:
        return _review(order, f"no hotel policy covers hotel {supplier}")
    paid = order.paid
    ledger = Ledger(order.id, "hotel", order.currency, policy.file)
    if order.status in policy.full_refund_statuses:
        ledger.add(
            f"{policy.id}/status-{order.status}", "all", "refund", paid, f"booking {order.status.replace('_', ' ')}"
        )
        return ledger.decision(paid)
    if order.status == "stayed":
        ledger.add(f"{policy.id}/stayed", "all", "non_refundable", paid, "the stay has taken place")
        return ledger.decision(paid)
    rule = policy.rule_for(order.stay.rate_plan)
    if rule is None:
        return _review(order, f"{policy.file} has no rule for rate plan {order.stay.rate_plan}", policy.file)
    basis = Basis(
        order_id=order.id,
        kind="hotel",
        currency=order.currency,
        paid=paid,
        charge=order.stay.room_charges,
        charge_component="rooms",
        consumed=ZERO,
        first_nights=partial(_first_nights, order),
        taxes=order.taxes,
        fees=order.fees,
        ancillaries=(),
        anchor=hotel_anchor(order, policy),
    )
    try:
        return decide_by_rule(policy, rule, basis, as_of)
    except RuleError as exc:
        return _review(order, str(exc), policy.file)
