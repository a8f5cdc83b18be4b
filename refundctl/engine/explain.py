"""Why an order gets what it gets: every policy considered, its windows, amounts and overrides.

``explain`` returns JSON-ready data (the ``-o json`` contract); ``render_text``
turns the same data into plain text for people.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from refundctl.engine.core import trace
from refundctl.engine.geo import airport
from refundctl.engine.journeys import journeys
from refundctl.engine.verdicts import Assessment
from refundctl.engine.windows import hotel_anchor, schedule, window_at
from refundctl.money import ZERO, fmt, quantize, quantum
from refundctl.orders.model import FlightOrder, Order
from refundctl.policy.model import Policy, PolicySet, Rule
from refundctl.times import iso_utc


def explain(order: Order, policies: PolicySet, as_of: datetime) -> dict[str, Any]:
    t = trace(order, policies, as_of)
    return {
        "order_id": order.id,
        "as_of": iso_utc(as_of),
        "fare_rules": _fare_rules(order, policies, as_of, t.fare.to_dict()),
        "journeys": _journeys(order),
        "regulations": [_regulation(a) for a in t.regulations],
        "waivers": [
            {
                "id": c.waiver.id,
                "policy": c.waiver.file,
                "matched": not c.why_not,
                "why_not": list(c.why_not),
                "would_add": fmt(c.moved, order.currency),
                "evidence_present": c.evidence,
                "winner": c.winner,
            }
            for c in t.waivers
        ],
        "decision": t.final.to_dict(),
    }


def _journeys(order: Order) -> list[dict[str, Any]]:
    if not isinstance(order, FlightOrder):
        return []
    return [
        {
            "journey": j.number,
            "segments": list(j.indexes),
            "origin": j.origin,
            "destination": j.destination,
            "departs_at": iso_utc(j.departs_at),
            "arrives_at": iso_utc(j.arrives_at),
        }
        for j in journeys(order.segments)
    ]


def _regulation(a: Assessment) -> dict[str, Any]:
    return {
        "id": a.regulation.id,
        "policy": a.regulation.file,
        "source": a.regulation.source,
        "applies": a.applies,
        "why_not": list(a.why_not),
        "review": a.review or None,
        "due_by": a.due_by.isoformat() if a.due_by else None,
        "due_by_provisional": a.due_provisional,
        "deadline_only": a.deadline_only,
        "notes": list(a.notes),
        "journeys": [
            {
                "journey": v.journey.number,
                "segments": list(v.journey.indexes),
                "applies": v.applies,
                "why": list(v.why),
                "why_not": list(v.why_not),
                "refund": v.refund,
                "reimburse_flown": v.reimburse_flown,
                "compensation": v.compensation.to_dict() if v.compensation else None,
                "numbers": list(v.numbers),
            }
            for v in a.verdicts
        ],
    }


def _zone_of(order: Order, policy: Policy | None) -> ZoneInfo | None:
    if isinstance(order, FlightOrder):
        unflown = [s for s in order.segments if s.status != "flown"] or list(order.segments)
        place = airport(min(unflown, key=lambda s: s.departs_at).origin)
        return ZoneInfo(place.timezone) if place else None
    return ZoneInfo(policy.timezone if policy and policy.timezone else order.stay.timezone)


def _anchor(order: Order, policy: Policy) -> datetime | None:
    if isinstance(order, FlightOrder):
        unflown = [s.departs_at for s in order.segments if s.status != "flown"]
        return min(unflown) if unflown else None
    return hotel_anchor(order, policy)


def _when(instant: datetime | None, zone: ZoneInfo | None) -> dict[str, str] | None:
    if instant is None:
        return None
    local = instant.astimezone(zone) if zone else instant
    return {"utc": iso_utc(instant), "local": local.isoformat(), "zone": str(zone) if zone else "order offset"}


def _fare_rules(order: Order, policies: PolicySet, as_of: datetime, fare: dict[str, Any]) -> dict[str, Any]:
    kind = "airline" if isinstance(order, FlightOrder) else "hotel"
    policy = policies.for_supplier(kind, order.common.supplier)
    code = order.fare.fare_class if isinstance(order, FlightOrder) else order.stay.rate_plan
    rule = policy.rule_for(code) if policy else None
    out: dict[str, Any] = {
        "policy": policy.file if policy else None,
        "rule": f"{policy.id}/{rule.id}" if policy and rule else None,
        "matched": rule is not None,
        "why_not": None if rule else (fare["reason"] or f"no {kind} policy covers {order.common.supplier}"),
        "decision": fare,
        "windows": [],
        "rounding": [],
    }
    if policy is None or rule is None:
        return out
    zone = _zone_of(order, policy)
    anchor = _anchor(order, policy)
    out["anchor"] = _when(anchor, zone)
    if anchor is None or not rule.refundable:
        return out
    plan = schedule(rule, anchor)
    current = window_at(plan, as_of)
    start: datetime | None = None  # the first window runs from booking
    for i, (window, end) in enumerate(plan):
        out["windows"].append({
            "id": f"{policy.id}/{rule.id}/{window.id}",
            "penalty": window.penalty.describe(),
            "after": _when(start, zone),
            "until": _when(end, zone),
            "in_force": i == current,
        })  # fmt: skip
        start = end
    out["rounding"] = _rounding(rule, policy, fare, order.currency)
    return out


def _rounding(rule: Rule, policy: Policy, fare: dict[str, Any], currency: str) -> list[dict[str, str]]:
    """Percentage penalties: the exact product, and the amount rounded to the minor unit."""
    out = []
    for window in (*rule.windows, *((rule.no_show,) if rule.no_show else ())):
        rid = f"{policy.id}/{rule.id}/{window.id}"
        hits = [h for h in fare["rules"] if h["rule"] == rid]
        if window.penalty.percent is None or not hits:
            continue
        charge = sum((Decimal(h["amount"]) for h in hits if h["component"] in ("base", "rooms")), ZERO)
        exact = charge * window.penalty.percent / 100
        out.append({
            "rule": rid,
            "charge": fmt(charge, currency),
            "percent": str(window.penalty.percent),
            "exact": f"{exact:f}",
            "rounded": fmt(quantize(exact, currency), currency),
            "rounding": f"ROUND_HALF_UP to {quantum(currency)} {currency}, then min/max and the charge cap",
        })  # fmt: skip
    return out
