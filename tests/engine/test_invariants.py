"""Property tests over generated orders, waivers and regulations included.

For every order: refund + penalty + non_refundable == paid; funded_by adds up to the
refund; every amount is exact in the currency's minor unit (CNY 2, JPY 0, KWD 3, EUR 2).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from refundctl.engine import Decision, decide
from refundctl.money import quantize
from refundctl.orders.parse import parse_order
from tests.support.policies import extra_policies

CARRIERS = {"ZA": "CNY", "SK": "JPY", "GW": "KWD", "AE": "EUR", "XX": "CNY"}  # XX has no fare policy
HOTELS = {"HARBOR-SHA": ("CNY", "Asia/Shanghai"), "KYOTO-INN": ("JPY", "Asia/Tokyo")}
AIRPORTS = ["PEK", "PVG", "JFK", "LAX", "LHR", "FRA", "CDG", "MAD", "HND", "KWI", "RUN", "WUH"]
START = datetime(2020, 1, 1, tzinfo=UTC)


def money(currency: str, top: int = 500_000) -> st.SearchStrategy[str]:
    digits = {"JPY": 0, "KWD": 3}.get(currency, 2)
    return st.integers(0, top).map(lambda n: str(Decimal(n).scaleb(-digits)))


def instant(lo: int = 0, hi: int = 7 * 365 * 24) -> st.SearchStrategy[datetime]:
    return st.integers(lo, hi).map(lambda h: START + timedelta(hours=h, minutes=17 * h % 60))


@st.composite
def flights(draw: st.DrawFn, airports: tuple[str, ...] = tuple(AIRPORTS),
            statuses: tuple[str, ...] = ("scheduled", "flown", "cancelled", "changed")) -> dict[str, Any]:  # fmt: skip
    carrier = draw(st.sampled_from(sorted(CARRIERS)))
    cur = CARRIERS[carrier]
    n = draw(st.integers(1, 3))
    booked = draw(instant())
    segments = []
    departs = booked + timedelta(hours=draw(st.integers(1, 2000)))
    for _ in range(n):
        origin, destination = draw(st.sampled_from(airports)), draw(st.sampled_from(airports))
        status = draw(st.sampled_from(statuses))
        arrives = departs + timedelta(hours=draw(st.integers(1, 14)))
        seg: dict[str, Any] = {"from": origin, "to": destination, "carrier": carrier, "flight": f"{carrier}1",
                               "departs_at": departs.isoformat(), "arrives_at": arrives.isoformat(),
                               "status": status}  # fmt: skip
        if status == "changed":
            shift = timedelta(minutes=draw(st.integers(-600, 600)))
            seg.update(
                changed_departs_at=(departs + shift).isoformat(), changed_arrives_at=(arrives + shift).isoformat()
            )
        seg["extraordinary_circumstances"] = draw(st.booleans())
        segments.append(seg)
        departs = arrives + timedelta(hours=draw(st.integers(1, 100)))
    bases = [draw(money(cur, 300_000)) for _ in segments]
    base = str(sum(Decimal(b) for b in bases))
    if draw(st.booleans()):
        for seg, b in zip(segments, bases, strict=True):
            seg["base"] = b
    charge = st.fixed_dictionaries({"code": st.sampled_from(["CN", "YQ", "US", "XT"]), "amount": money(cur, 50_000)})
    return {
        "id": "P-1", "kind": "flight", "supplier": carrier, "currency": cur, "booked_at": booked.isoformat(),
        "channel": "app", "payment_method": draw(st.sampled_from(["card", "alipay"])),
        "traveler_tags": draw(st.lists(st.sampled_from(["medical-worker", "media", "teacher"]), max_size=2)),
        "waiver_codes": draw(st.lists(st.just("GW-FEE"), max_size=1)),
        "evidence": draw(st.lists(st.just({"waiver": "frontline-2020", "reference": "R"}), max_size=1)),
        "fare": {"class": draw(st.sampled_from(["Y", "M", "V", "Q"])), "base": base,
                 "taxes": draw(st.lists(charge, max_size=3)), "fees": draw(st.lists(charge, max_size=2))},
        "ancillaries": draw(st.lists(st.fixed_dictionaries(
            {"code": st.sampled_from(["bag", "seat"]), "amount": money(cur, 50_000), "used": st.booleans()}),
            max_size=2)),
        "segments": segments,
        "change_accepted": draw(st.booleans()),
        "cancellation_notified_at": draw(st.none() | instant().map(datetime.isoformat)),
    }  # fmt: skip


@st.composite
def hotels(draw: st.DrawFn) -> dict[str, Any]:
    supplier = draw(st.sampled_from(sorted(HOTELS)))
    cur, zone = HOTELS[supplier]
    nights = draw(st.integers(1, 4))
    booked = draw(instant())
    check_in = (booked + timedelta(days=draw(st.integers(0, 60)))).date()
    return {
        "id": "P-2", "kind": "hotel", "supplier": supplier, "currency": cur, "booked_at": booked.isoformat(),
        "channel": "app", "payment_method": "card",
        "traveler_tags": draw(st.lists(st.sampled_from(["police", "teacher"]), max_size=1)),
        "waiver_codes": draw(st.lists(st.just("GW-FEE"), max_size=1)),
        "evidence": draw(st.lists(st.just({"waiver": "frontline-2020", "reference": "R"}), max_size=1)),
        "stay": {"check_in": check_in.isoformat(), "nights": nights, "rooms": draw(st.integers(1, 3)), "timezone": zone,
                 "rate_plan": draw(st.sampled_from(["flex", "semi", "advance"])),
                 "nightly": [draw(money(cur, 200_000)) for _ in range(nights)]},
        "taxes": draw(st.lists(st.fixed_dictionaries({"code": st.just("VAT"), "amount": money(cur, 30_000)}),
                               max_size=2)),
        "fees": [],
        "status": draw(st.sampled_from(["confirmed", "stayed", "not_honored", "cancelled_by_hotel"])),
    }  # fmt: skip


def check(decision: Decision) -> None:
    cur = decision.currency
    assert decision.refund + decision.penalty + decision.non_refundable == decision.paid
    assert sum(decision.funded_by.values(), Decimal(0)) == decision.refund
    amounts = [decision.refund, decision.penalty, decision.non_refundable, *decision.funded_by.values()]
    amounts += [h.amount for h in decision.rules if h.effect != "compensation"]
    for amount in amounts:
        assert amount >= 0
        assert amount == quantize(amount, cur), (amount, cur)
    for compensation in decision.compensation:
        assert compensation.currency == {"eu-261": "EUR", "uk-261": "GBP", "ca-appr": "CAD"}[compensation.regulation]
        assert compensation.journey and all(i >= 0 for i in compensation.journey)
    # One compensation per journey (EU/UK 261 Art. 3(1)(b), CTA s. 86.11(3)).
    journeys = [c.journey for c in decision.compensation]
    assert len(journeys) == len(set(journeys))
    if decision.outcome == "needs_evidence":
        assert not decision.submittable and decision.refund_with_evidence == decision.refund
    by_effect = {e: sum((h.amount for h in decision.rules if h.effect == e), Decimal(0))
                 for e in ("refund", "penalty", "non_refundable")}  # fmt: skip
    if decision.rules and decision.outcome != "manual_review":
        assert by_effect == {"refund": decision.refund, "penalty": decision.penalty,
                             "non_refundable": decision.non_refundable}  # fmt: skip


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(order=st.one_of(flights(), hotels()), hours=st.integers(0, 8 * 365 * 24))
def test_amounts_add_up_for_every_order(order: dict[str, Any], hours: int) -> None:
    parsed, problems = parse_order(order)
    assert parsed is not None, problems
    decision = decide(parsed, extra_policies(), START + timedelta(hours=hours))
    check(decision)
    event(f"outcome {decision.outcome}")
    event(f"waivers {decision.waivers}, regulations {decision.regulations}")
    assert decision.to_dict() == decide(parsed, extra_policies(), START + timedelta(hours=hours)).to_dict()


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    order=flights(airports=("JFK", "LAX", "FRA", "CDG", "ATH", "RUN"), statuses=("cancelled", "changed", "scheduled")),
    hours=st.integers(5 * 365 * 24, 8 * 365 * 24),
)
def test_amounts_add_up_under_regulations(order: dict[str, Any], hours: int) -> None:
    parsed, problems = parse_order(order)
    assert parsed is not None, problems
    decision = decide(parsed, extra_policies(), START + timedelta(hours=hours))
    check(decision)
    event(f"regulations {decision.regulations}, compensations {len(decision.compensation)}")
