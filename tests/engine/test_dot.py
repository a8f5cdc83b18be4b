"""US DOT refunds (refundctl/engine/dot.py) against the published rule.

14 CFR 260.2 "significant change of flight itinerary": departure "three hours or
more (for domestic itineraries) and six hours or more (for international itineraries)
earlier", arrival that much later, another origin or destination airport, more
connection points. 260.6: refunds within 7 business days (credit card) or 20 calendar
days (other payments).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.support.builders import decide_dict
from tests.support.policies import segment, trip
from tests.support.regulations import AS_OF


def changed(origin: str, destination: str, dep: str, arr: str, new_dep: str, new_arr: str, **f: Any) -> dict[str, Any]:
    return segment(origin, destination, dep, arr, status="changed", changed_departs_at=new_dep,
                   changed_arrives_at=new_arr, **f)  # fmt: skip


DOMESTIC = ("JFK", "LAX", "2026-12-01T08:00:00-05:00", "2026-12-01T11:30:00-08:00")
INTERNATIONAL = ("JFK", "LHR", "2026-12-01T18:00:00-05:00", "2026-12-02T06:00:00+00:00")


@pytest.mark.parametrize(
    ("route", "new_dep", "new_arr", "applies"),
    [
        (DOMESTIC, "2026-12-01T08:00:00-05:00", "2026-12-01T14:30:00-08:00", True),  # arrives 3 h later
        (DOMESTIC, "2026-12-01T08:00:00-05:00", "2026-12-01T14:29:00-08:00", False),  # 2 h 59 later
        (DOMESTIC, "2026-12-01T05:00:00-05:00", "2026-12-01T08:30:00-08:00", True),  # departs 3 h earlier
        (DOMESTIC, "2026-12-01T10:59:00-05:00", "2026-12-01T14:29:00-08:00", False),  # later departure, 2 h 59
        (INTERNATIONAL, "2026-12-01T18:00:00-05:00", "2026-12-02T11:59:00+00:00", False),  # 5 h 59 later
        (INTERNATIONAL, "2026-12-01T18:00:00-05:00", "2026-12-02T12:00:00+00:00", True),  # 6 h later
        (INTERNATIONAL, "2026-12-01T12:00:00-05:00", "2026-12-02T00:00:00+00:00", True),  # departs 6 h earlier
        (INTERNATIONAL, "2026-12-01T14:00:00-05:00", "2026-12-02T02:00:00+00:00", False),  # 4 h: domestic only
    ],
)
def test_dot_significant_change_thresholds(route: tuple[str, ...], new_dep: str, new_arr: str, applies: bool) -> None:
    d = decide_dict(trip(changed(*route, new_dep, new_arr)), AS_OF)
    assert d.regulations == (("us-dot-2024",) if applies else ())
    assert d.refund == (Decimal("1200.00") if applies else Decimal("50.00"))


@pytest.mark.parametrize(
    "fields",
    [{"changed_to": "BUR"}, {"changed_from": "EWR"}, {"added_connections": 1}],
)
def test_dot_other_airports_or_more_connections_are_significant(fields: dict[str, Any]) -> None:
    seg = changed(*DOMESTIC, DOMESTIC[2], DOMESTIC[3], **fields)
    assert decide_dict(trip(seg), AS_OF).regulations == ("us-dot-2024",)


def test_dot_cancelled_segment_is_refunded_in_full_by_the_supplier() -> None:
    d = decide_dict(trip(segment(*DOMESTIC, status="cancelled")), AS_OF)
    assert (d.outcome, d.refund, d.penalty, d.non_refundable) == ("full", Decimal("1200.00"), 0, 0)
    assert d.funded_by == {"supplier": Decimal("1200.00")}
    assert d.compensation == ()
    # 7 business days from Wed 2026-11-25: Thanksgiving (26th) and the weekends are skipped.
    assert d.due_by == date(2026, 12, 7)


def test_dot_refund_excludes_used_ancillaries() -> None:
    order = trip(segment(*DOMESTIC, status="cancelled"))
    order["ancillaries"] = [{"code": "lounge", "amount": "100.00", "used": True}]
    d = decide_dict(order, AS_OF)
    assert (d.refund, d.non_refundable) == (Decimal("1100.00"), Decimal("100.00"))


def test_dot_due_date_for_other_payments_is_20_calendar_days() -> None:
    d = decide_dict(trip(segment(*DOMESTIC, status="cancelled"), payment_method="alipay"), AS_OF)
    assert d.due_by == date(2026, 12, 15)


def test_dot_does_not_apply_when_the_change_was_accepted_outside_the_us_or_before_it_was_in_force() -> None:
    accepted = trip(segment(*DOMESTIC, status="cancelled"), change_accepted=True, ancillaries=[])
    assert decide_dict(accepted, AS_OF).regulations == ()
    cancelled_in_china = segment("PVG", "PEK", "2026-12-01T08:00:00+08:00", "2026-12-01T10:15:00+08:00",
                                 status="cancelled")  # fmt: skip
    assert decide_dict(trip(cancelled_in_china), AS_OF).regulations == ()
    assert decide_dict(trip(segment(*DOMESTIC, status="cancelled")), "2024-10-27T12:00:00Z").regulations == ()


def test_dot_covers_carriers_without_a_fare_policy() -> None:
    order = trip(segment(*DOMESTIC, status="cancelled", carrier="XX"), supplier="XX")
    d = decide_dict(order, AS_OF)
    assert (d.outcome, d.refund) == ("full", Decimal("1200.00"))
