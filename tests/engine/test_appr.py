"""Canada's Air Passenger Protection Regulations (APPR, refundctl/engine/appr.py), each at its boundaries.

Each test cites its provision (the example trip: tests/support/regulations.py).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.orders.parse import parse_order
from tests.support.builders import decide_dict
from tests.support.policies import trip
from tests.support.regulations import AS_OF, FARE_ONLY, FULL, comp, explained, seg, variant

# Canada APPR ---------------------------------------------------------------------------------


def yyz(arrived: str | None = None, **fields: Any) -> dict[str, Any]:
    """YYZ-YVR on AC (a large carrier in the carriers file), 08:00-12:00 UTC on 2026-12-10."""
    extra = {"status": "flown", "actual_arrives_at": f"2026-12-10T{arrived}:00Z"} if arrived else {}
    return seg("YYZ", "YVR", "2026-12-10T08:00", "2026-12-10T12:00", carrier="AC", **{**extra, **fields})


@pytest.mark.parametrize(
    ("arrived", "large", "small"),
    [("14:59", None, None), ("15:00", "400.00", "125.00"), ("17:59", "400.00", "125.00"),
     ("18:00", "700.00", "250.00"), ("20:59", "700.00", "250.00"), ("21:00", "1000.00", "500.00")],
)  # fmt: skip
def test_appr_compensation_bands_at_3_6_and_9_hours(arrived: str, large: str | None, small: str | None) -> None:
    """APPR s. 19(1)(a)-(b): 3 h, 6 h, 9 h or more at the destination (closed at the bottom), by carrier size."""
    assert comp(trip(yyz(arrived))) == ([(f"{large} CAD", "ca-appr")] if large else [])
    on_za = trip({**yyz(arrived), "carrier": "ZA"})
    assert comp(on_za, variant(appr_carrier_size='"small"')) == ([(f"{small} CAD", "ca-appr")] if small else [])


def test_appr_compensation_on_a_carrier_of_unknown_size_goes_to_review() -> None:
    """APPR s. 1(2): the size decides the amount; ZA has none: manual review, never a guess."""
    d = decide_dict(trip({**yyz("15:00"), "carrier": "ZA"}), AS_OF)
    assert d.outcome == "manual_review" and "size of ZA" in (d.reason or "")


@pytest.mark.parametrize(("notified", "owed"), [("2026-11-26T08:00:00Z", True), ("2026-11-26T07:59:59Z", False)])
def test_appr_told_exactly_14_days_ahead_is_still_compensated(notified: str, owed: bool) -> None:
    """APPR 12(3)(d): informed 14 days or less before departure: owed at exactly 14 days (unlike EU/UK 261)."""
    order = trip(yyz(status="cancelled"), cancellation_notified_at=notified)
    assert comp(order) == ([("400.00 CAD", "ca-appr")] if owed else [])  # refunded: the flat 19(2) amount


@pytest.mark.parametrize(("rebooked", "refund"), [("2026-12-12T08:00", FARE_ONLY), ("2026-12-12T08:01", FULL)])
def test_appr_outside_control_refund_only_without_rerouting_within_48_hours(rebooked: str, refund: Decimal) -> None:
    """APPR 18(1), 18(1.1): a re-routing departing exactly 48 h after the original is "within": no refund."""
    order = trip(yyz(status="cancelled", disruption_cause="outside_control"),
                 rerouting={"departs_at": f"{rebooked}:00Z", "arrives_at": f"{rebooked[:-5]}23:00:00Z"})  # fmt: skip
    d = decide_dict(order, AS_OF)
    assert d.refund == refund and d.compensation == ()  # s. 10: never compensation
    assert ("ca-appr" in d.regulations) == (refund == FULL)


def test_appr_outside_control_without_any_rerouting_offered_refunds() -> None:
    """APPR 18(1.1): no confirmed reservation offered: refund at the passenger's choice, due in 30 days (18.2(2))."""
    d = decide_dict(trip(yyz(status="cancelled", extraordinary_circumstances=True)), AS_OF)
    assert (d.refund, d.due_by, d.compensation) == (FULL, date(2026, 12, 25), ())


@pytest.mark.parametrize(("departs", "refund"), [("10:59", FARE_ONLY), ("11:00", FULL)])
def test_appr_a_delay_of_three_hours_gives_a_refund_if_declined(departs: str, refund: Decimal) -> None:
    """APPR 12(2)(c), 17(2)(b): 3 h or more and declined: refund and the flat 19(2) amount; 2 h 59 min: neither."""
    moved = yyz(status="changed", changed_departs_at=f"2026-12-10T{departs}:00Z",
                changed_arrives_at=f"2026-12-10T{departs[:2]}:59:00Z")  # fmt: skip
    d = decide_dict(trip(moved), AS_OF)
    assert d.refund == refund
    # Declined with 2 h 59 min: no refund right, and the arrival (14:59) is under 3 h late.
    assert comp(trip(moved)) == ([("400.00 CAD", "ca-appr")] if refund == FULL else [])


def test_appr_safety_gives_a_refund_but_no_compensation() -> None:
    """APPR 11(4)(c) -> s. 17: within control but required for safety: refund; s. 19 is for s. 12 only."""
    d = decide_dict(trip(yyz(status="cancelled", disruption_cause="safety")), AS_OF)
    assert (d.refund, d.compensation, list(d.regulations)) == (FULL, (), ["ca-appr"])


def test_appr_abandoned_journey_refunds_the_whole_ticket_flown_parts_included() -> None:
    """APPR 17(2)(a): no longer at the origin and the travel serves no purpose: refund the ticket."""
    out = seg("YVR", "YYZ", "2026-12-08T08:00", "2026-12-08T12:00", carrier="AC", status="flown", base="400.00")
    back = yyz(status="cancelled", base="600.00")
    d = decide_dict(trip(out, back, journey_abandoned=True), AS_OF)
    assert d.refund == FULL
    without = decide_dict(trip(out, back), AS_OF)  # 17(2)(b): the unused portion only
    assert FARE_ONLY < without.refund < FULL - Decimal("400.00")


@pytest.mark.parametrize(
    ("origin", "destination", "paid_by"),
    [("LHR", "YYZ", ("520.00 GBP", "uk-261")), ("YYZ", "LHR", ("400.00 CAD", "ca-appr"))],
)
def test_appr_and_uk261_pay_one_compensation(origin: str, destination: str, paid_by: tuple[str, str],
                                             tmp_path: Path) -> None:  # fmt: skip
    """CTA s. 86.11(3), UK 261 Art. 3(1)(b)(i): one compensation, from the regime applying by departure."""
    order = trip(seg(origin, destination, "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled", carrier="BA"))
    assert comp(order) == [paid_by]
    out = explained(order, tmp_path)
    reason = "CTA s. 86.11(3)" if origin == "LHR" else "Art. 3(1)(b): the arrival limb yields"
    assert f"not paid: {paid_by[1]} applies by departure" in out and reason in out


def test_explain_says_for_each_regime_why_it_applied_or_not_with_the_numbers(tmp_path: Path) -> None:
    """README "Passenger rights": every regulation's verdict, with the measured numbers and the threshold."""
    order = trip(yyz("18:00"), cancellation_notified_at="2026-11-26T08:00:00Z")
    data = json.loads(explained(order, tmp_path, "-o", "json"))
    verdicts = {r["id"]: r for r in data["regulations"]}
    [appr] = verdicts["ca-appr"]["journeys"]
    assert appr["applies"] and appr["compensation"] == {"amount": "700.00", "currency": "CAD",
                                                        "regulation": "ca-appr", "journey": [0]}  # fmt: skip
    numbers = " | ".join(appr["numbers"])
    assert "within the carrier's control (s. 12), from extraordinary_circumstances = false" in numbers
    assert "told 14 days before departure, 14 days or less (12(2)(d), 12(3)(d))" in numbers
    assert "arrived 6 h late at YVR (actual_arrives_at, the door-open moment of s. 1(2)): the 6 h band" in numbers
    assert "AC (Air Canada): appr_carrier_size = large in carriers/carriers.toml: 700.00 CAD" in numbers
    assert verdicts["cn-caac-2021"]["why_not"] == [
        "no segment is operated by a cn_carrier: AC (Air Canada) is licensed in CA (carriers/carriers.toml)"
    ]
    [uk] = verdicts["uk-261"]["journeys"]
    assert uk["why_not"] == ["journey 1 (segment 1, YYZ-YVR) neither departs from nor arrives in the covered countries"]


@pytest.mark.parametrize(("arrives", "amount"), [("20:59", "700.00 CAD"), ("21:00", "1000.00 CAD")])
def test_appr_accepted_rerouting_is_compensated_by_its_arrival_delay(arrives: str, amount: str) -> None:
    """APPR 12(3)(d), 19(1)(a)(iii): re-routed (accepted), 9 h or more late at the destination: CAD 1,000."""
    rerouting = {"departs_at": "2026-12-10T16:00:00Z", "arrives_at": f"2026-12-10T{arrives}:00Z"}
    order = trip(yyz(status="cancelled"), change_accepted=True, rerouting=rerouting)
    d = decide_dict(order, AS_OF)
    assert (d.refund, comp(order)) == (FARE_ONLY, [(amount, "ca-appr")])


def test_appr_compensation_without_a_known_arrival_goes_to_review() -> None:
    """APPR 19(1): the amount depends on the arrival; accepted, with no re-routing times: review, never a guess."""
    d = decide_dict(trip(yyz(status="cancelled"), change_accepted=True), AS_OF)
    assert d.outcome == "manual_review" and "arrival at YVR is not known" in (d.reason or "")


def test_an_unknown_disruption_cause_is_a_located_record_error() -> None:
    """APPR ss. 10-12 know three categories; anything else is refused with its field, never guessed."""
    _, problems = parse_order(trip(yyz(status="cancelled", disruption_cause="weather")))
    assert [(p.path, p.message) for p in problems] == [
        ("segments[0].disruption_cause", "expected one of within_control, safety, outside_control, got 'weather'")
    ]
