"""The engine against the shipped policies: every rule, both sides of every boundary, zones, rounding, currencies."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.engine import Decision
from refundctl.policy import PolicySet
from refundctl.policy.loader import load_policies
from tests.support.builders import decide_dict, flight, hotel, with_fare, with_stay

DEPARTS = "2026-12-01T08:00:00+08:00"  # the example flight; 2026-12-01T00:00:00Z


def amounts(d: Decision) -> tuple[str, str, str, str]:
    """(outcome, refund, penalty, non_refundable) as the JSON contract writes them; checks they add up."""
    assert d.refund + d.penalty + d.non_refundable == d.paid, d
    out = d.to_dict()
    return (out["outcome"], out["refund"], out["penalty"], out["non_refundable"])


def next_change(d: Decision) -> tuple[str, str] | None:
    nxt = d.to_dict()["next_change"]
    return None if nxt is None else (nxt["at"], nxt["refund"])


def hits(d: Decision) -> list[tuple[str, str, str, str]]:
    return [(h["rule"], h["component"], h["effect"], h["amount"]) for h in d.to_dict()["rules"]]


def fare_class(code: str, **overrides: Any) -> dict[str, Any]:
    return with_fare(flight(**overrides), **{"class": code})


def policy_dir(tmp_path: Path, text: str) -> PolicySet:
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    return load_policies(tmp_path)


# ---- Zephyr Air, standard (M, H): 10% / 30% / 100%, min 50 -------------------------------------


@pytest.mark.parametrize(
    ("as_of", "refund", "penalty", "nxt"),
    [
        ("2026-11-02T08:00:00+08:00", "980.00", "100.00", ("2026-11-24T00:00:00Z", "780.00")),
        ("2026-11-24T08:00:00+08:00", "980.00", "100.00", ("2026-11-24T00:00:00Z", "780.00")),  # exactly 168 h
        ("2026-11-24T08:00:01+08:00", "780.00", "300.00", ("2026-11-30T22:00:00Z", "80.00")),  # 1 s later
        ("2026-12-01T06:00:00+08:00", "780.00", "300.00", ("2026-11-30T22:00:00Z", "80.00")),  # exactly 2 h
        ("2026-12-01T06:00:01+08:00", "80.00", "1000.00", None),  # 1 s later
        ("2026-12-01T08:00:00+08:00", "80.00", "1000.00", None),  # departure
        ("2026-12-02T08:00:00+08:00", "80.00", "1000.00", None),  # after departure
    ],
)
def test_standard_windows(as_of: str, refund: str, penalty: str, nxt: tuple[str, str] | None) -> None:
    d = decide_dict(flight(), as_of)
    # Taxes CN 50 + YQ 30 come back; the service fee 20 and the bag 100 do not.
    assert amounts(d) == ("partial", refund, penalty, "120.00")
    assert next_change(d) == nxt
    assert d.policy == "airlines/zephyr-air.toml"


def test_standard_itemises_every_component() -> None:
    d = decide_dict(fare_class("H"), "2026-11-25T08:00:00+08:00")
    assert hits(d) == [
        ("zephyr-air/standard/168h-to-2h", "base", "penalty", "300.00"),
        ("zephyr-air/standard/168h-to-2h", "base", "refund", "700.00"),
        ("zephyr-air/standard/taxes", "tax:CN", "refund", "50.00"),
        ("zephyr-air/standard/taxes", "tax:YQ", "refund", "30.00"),
        ("zephyr-air/standard/fees", "fee:service", "non_refundable", "20.00"),
        ("zephyr-air/standard/ancillaries", "ancillary:bag", "non_refundable", "100.00"),
    ]


@pytest.mark.parametrize(
    ("base", "as_of", "penalty"),
    [
        ("300.00", "2026-11-02T08:00:00+08:00", "50.00"),  # 10% would be 30.00
        ("499.90", "2026-11-02T08:00:00+08:00", "50.00"),  # 49.99
        ("500.00", "2026-11-02T08:00:00+08:00", "50.00"),  # exactly the minimum
        ("500.10", "2026-11-02T08:00:00+08:00", "50.01"),
        ("100.00", "2026-11-25T08:00:00+08:00", "50.00"),  # 30% would be 30.00
        ("40.00", "2026-11-02T08:00:00+08:00", "40.00"),  # never more than the base itself
    ],
)
def test_standard_minimum_penalty(base: str, as_of: str, penalty: str) -> None:
    d = decide_dict(with_fare(flight(), base=base), as_of)
    assert d.to_dict()["penalty"] == penalty
    assert d.refund == Decimal(base) - Decimal(penalty) + Decimal("80.00")


@pytest.mark.parametrize(
    ("base", "as_of", "penalty"),
    [
        ("1000.15", "2026-11-25T08:00:00+08:00", "300.05"),  # 300.045: half-up (half-even gives 300.04)
        ("1234.55", "2026-11-02T08:00:00+08:00", "123.46"),  # 123.455
        ("1234.54", "2026-11-02T08:00:00+08:00", "123.45"),  # 123.454
        ("1000.01", "2026-11-25T08:00:00+08:00", "300.00"),  # 300.003
    ],
)
def test_percent_penalty_rounds_half_up(base: str, as_of: str, penalty: str) -> None:
    assert decide_dict(with_fare(flight(), base=base), as_of).to_dict()["penalty"] == penalty


@pytest.mark.parametrize(
    ("departs_at", "as_of"),
    [
        (DEPARTS, "2026-11-24T00:00:00Z"),
        ("2026-12-01T00:00:00Z", "2026-11-24T08:00:00+08:00"),
        ("2026-11-30T16:00:00-08:00", "2026-11-23T19:00:00-05:00"),
    ],
)
def test_same_instant_in_any_offset_is_the_same_boundary(departs_at: str, as_of: str) -> None:
    order = flight()
    order["segments"][0]["departs_at"] = departs_at
    order["segments"][0]["arrives_at"] = "2026-12-01T10:15:00+08:00"
    d = decide_dict(order, as_of)
    assert amounts(d) == ("partial", "980.00", "100.00", "120.00")  # exactly 168 h: still 10%
    assert next_change(d) == ("2026-11-24T00:00:00Z", "780.00")
    later = decide_dict(order, as_of.replace(":00Z", ":01Z").replace(":00+", ":01+").replace(":00-0", ":01-0"))
    assert later.to_dict()["refund"] == "780.00"


# ---- Zephyr Air, flex (Y, B): 20 per ticket before departure, 200 as a no-show -----------------


@pytest.mark.parametrize("code", ["Y", "B"])
def test_flex_before_departure(code: str) -> None:
    d = decide_dict(fare_class(code), "2026-11-02T08:00:00+08:00")
    assert amounts(d) == ("partial", "1060.00", "20.00", "120.00")
    assert next_change(d) == ("2026-12-01T00:00:00Z", "880.00")
    assert ("zephyr-air/flex/before-departure", "base", "penalty", "20.00") in hits(d)


def test_flex_at_departure_is_still_before_departure() -> None:
    d = decide_dict(fare_class("Y"), DEPARTS)
    assert amounts(d) == ("partial", "1060.00", "20.00", "120.00")


def test_flex_no_show_one_second_after_departure() -> None:
    d = decide_dict(fare_class("Y"), "2026-12-01T08:00:01+08:00")
    assert amounts(d) == ("partial", "880.00", "200.00", "120.00")
    assert next_change(d) is None
    assert ("zephyr-air/flex/no-show", "base", "penalty", "200.00") in hits(d)


def test_flex_fee_is_per_ticket_not_per_segment() -> None:
    order = fare_class("Y")
    second = dict(order["segments"][0], **{"from": "PEK", "to": "PVG", "flight": "ZA124"})
    second.update(departs_at="2026-12-03T08:00:00+08:00", arrives_at="2026-12-03T10:15:00+08:00")
    order["segments"].append(second)
    assert decide_dict(order, "2026-11-02T08:00:00+08:00").to_dict()["penalty"] == "20.00"


def test_flat_fee_policy_on_an_order_in_another_currency_goes_to_review() -> None:
    d = decide_dict(fare_class("Y", currency="USD"), "2026-11-02T08:00:00+08:00")
    assert d.outcome == "manual_review"
    assert d.reason == "the penalty is 20.00 CNY but the order is in USD"
    assert amounts(d) == ("manual_review", "0.00", "0.00", "1200.00")


def test_minimum_in_another_currency_goes_to_review() -> None:
    d = decide_dict(flight(currency="USD"), "2026-11-02T08:00:00+08:00")
    assert d.outcome == "manual_review"
    assert d.reason is not None and "CNY" in d.reason and "USD" in d.reason


# ---- Zephyr Air, saver (V, Q): base kept, taxes back except YQ ---------------------------------


@pytest.mark.parametrize("code", ["V", "Q"])
@pytest.mark.parametrize("as_of", ["2026-11-02T08:00:00+08:00", "2026-12-02T08:00:00+08:00"])
def test_saver(code: str, as_of: str) -> None:
    d = decide_dict(fare_class(code), as_of)
    assert amounts(d) == ("partial", "50.00", "0.00", "1150.00")
    assert next_change(d) is None
    assert hits(d) == [
        ("zephyr-air/saver/not-refundable", "base", "non_refundable", "1000.00"),
        ("zephyr-air/saver/taxes", "tax:CN", "refund", "50.00"),
        ("zephyr-air/saver/taxes", "tax:YQ", "non_refundable", "30.00"),
        ("zephyr-air/saver/fees", "fee:service", "non_refundable", "20.00"),
        ("zephyr-air/saver/ancillaries", "ancillary:bag", "non_refundable", "100.00"),
    ]


def test_yq_is_refundable_outside_saver() -> None:
    d = decide_dict(fare_class("Y"), "2026-11-02T08:00:00+08:00")
    assert ("zephyr-air/flex/taxes", "tax:YQ", "refund", "30.00") in hits(d)


def test_used_ancillary_is_not_refunded_either() -> None:
    order = flight(ancillaries=[{"code": "bag", "amount": "100.00", "used": True}])
    d = decide_dict(order, "2026-11-02T08:00:00+08:00")
    assert ("zephyr-air/standard/ancillaries", "ancillary:bag", "non_refundable", "100.00") in hits(d)


# ---- partly flown, all flown, uncovered ------------------------------------------------------


def two_segments(first_status: str = "flown", bases: tuple[str | None, str | None] = ("400.00", "600.00")) -> dict:
    order = flight()
    out = dict(order["segments"][0], status=first_status)
    back = dict(order["segments"][0], **{"from": "PEK", "to": "PVG", "flight": "ZA124"})
    back.update(departs_at="2026-12-05T08:00:00+08:00", arrives_at="2026-12-05T10:15:00+08:00", status="scheduled")
    for seg, base in zip((out, back), bases, strict=True):
        if base is not None:
            seg["base"] = base
    order["segments"] = [out, back]
    return order


def test_partly_flown_is_priced_on_the_unflown_base() -> None:
    # 72 h before the return leg (the anchor now): 30% of the unflown 600.00.
    d = decide_dict(two_segments(), "2026-12-02T08:00:00+08:00")
    assert amounts(d) == ("partial", "468.00", "180.00", "552.00")
    assert hits(d)[:3] == [
        ("zephyr-air/standard/flown", "base", "non_refundable", "400.00"),
        ("zephyr-air/standard/168h-to-2h", "base", "penalty", "180.00"),
        ("zephyr-air/standard/168h-to-2h", "base", "refund", "420.00"),
    ]
    # Taxes: only the unflown share (600/1000) comes back.
    assert ("zephyr-air/standard/taxes", "tax:CN", "refund", "30.00") in hits(d)
    assert ("zephyr-air/standard/taxes", "tax:YQ", "refund", "18.00") in hits(d)
    assert next_change(d) == ("2026-12-04T22:00:00Z", "48.00")


def test_partly_flown_minimum_applies_to_the_unflown_base() -> None:
    # 10% of the unflown 300.00 is 30.00; the minimum is 50.00.
    d = decide_dict(two_segments(bases=("700.00", "300.00")), "2026-11-20T08:00:00+08:00")
    assert d.to_dict()["penalty"] == "50.00"


def test_partly_flown_without_segment_bases_goes_to_review() -> None:
    d = decide_dict(two_segments(bases=("400.00", None)), "2026-12-02T08:00:00+08:00")
    assert amounts(d) == ("manual_review", "0.00", "0.00", "1200.00")
    assert d.reason == "partly flown, and not every segment carries its base fare"


def test_partly_flown_with_bases_not_adding_up_goes_to_review() -> None:
    d = decide_dict(two_segments(bases=("400.00", "500.00")), "2026-12-02T08:00:00+08:00")
    assert d.outcome == "manual_review"
    assert d.reason == "segment bases add up to 900.00, not the fare base 1000.00"


def test_unflown_trip_ignores_missing_segment_bases() -> None:
    d = decide_dict(two_segments(first_status="scheduled", bases=(None, None)), "2026-11-25T08:00:00+08:00")
    assert amounts(d) == ("partial", "780.00", "300.00", "120.00")


def test_all_flown() -> None:
    order = flight()
    order["segments"][0]["status"] = "flown"
    d = decide_dict(order, "2026-12-02T08:00:00+08:00")
    assert amounts(d) == ("none", "0.00", "0.00", "1200.00")
    assert hits(d) == [("zephyr-air/standard/flown", "all", "non_refundable", "1200.00")]


def test_uncovered_carrier() -> None:
    d = decide_dict(flight(supplier="XX"), "2026-11-25T08:00:00+08:00")
    assert amounts(d) == ("manual_review", "0.00", "0.00", "1200.00")
    assert d.reason == "no airline policy covers carrier XX"
    assert d.policy is None


def test_unknown_fare_class() -> None:
    d = decide_dict(fare_class("Z"), "2026-11-25T08:00:00+08:00")
    assert d.outcome == "manual_review"
    assert d.reason == "airlines/zephyr-air.toml has no fare rule for class Z"


def test_uncovered_hotel() -> None:
    d = decide_dict(hotel(supplier="OTHER-HOTEL"), "2026-11-25T08:00:00+08:00")
    assert amounts(d) == ("manual_review", "0.00", "0.00", "1060.00")
    assert d.reason == "no hotel policy covers hotel OTHER-HOTEL"


def test_unknown_rate_plan() -> None:
    d = decide_dict(with_stay(hotel(), rate_plan="nonref"), "2026-11-25T08:00:00+08:00")
    assert d.outcome == "manual_review"
    assert d.reason == "hotels/harbor-hotel.toml has no rule for rate plan nonref"


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(AssertionError, match="offset"):
        decide_dict(flight(), "2026-11-25T08:00:00")


# ---- Harbor Hotel flex: free until 18:00 Shanghai the day before, then the first night ----------


@pytest.mark.parametrize(
    "as_of",
    ["2026-12-09T18:00:00+08:00", "2026-12-09T10:00:00Z", "2026-12-09T05:00:00-05:00", "2026-11-02T10:00:00+08:00"],
)
def test_flex_free_until_1800_shanghai_inclusive(as_of: str) -> None:
    d = decide_dict(hotel(), as_of)
    assert amounts(d) == ("full", "1060.00", "0.00", "0.00")
    assert next_change(d) == ("2026-12-09T10:00:00Z", "530.00")


@pytest.mark.parametrize(
    "as_of",
    [
        "2026-12-09T18:00:01+08:00",
        "2026-12-09T10:00:01Z",
        "2026-12-10T14:00:00+08:00",  # check-in time
        "2026-12-11T09:00:00+08:00",  # no-show
    ],
)
def test_flex_first_night_after_the_deadline_and_for_no_show(as_of: str) -> None:
    d = decide_dict(hotel(), as_of)
    # The first night 500.00 is kept, and the VAT in proportion: 60.00 * 500/1000 = 30.00 back.
    assert amounts(d) == ("partial", "530.00", "530.00", "0.00")
    assert next_change(d) is None


def test_flex_deadline_follows_the_hotel_zone_not_the_guest() -> None:
    order = with_stay(hotel(), timezone="America/New_York")
    assert decide_dict(order, "2026-12-09T18:00:00+08:00").outcome == "full"
    assert decide_dict(order, "2026-12-09T18:00:01+08:00").outcome == "partial"


def test_flex_first_night_of_each_room() -> None:
    order = with_stay(hotel(), rooms=2, nightly=["500.00", "600.00"])
    order["taxes"] = [{"code": "VAT", "amount": "120.00"}]
    d = decide_dict(order, "2026-12-10T08:00:00+08:00")
    # Rooms 2200.00; penalty 2 x 500.00; VAT back 120.00 * 1200/2200 = 65.4545.. -> 65.45.
    assert amounts(d) == ("partial", "1265.45", "1054.55", "0.00")
    assert ("harbor-hotel/flex/first-night", "rooms", "penalty", "1000.00") in hits(d)
    assert ("harbor-hotel/flex/taxes", "tax:VAT", "refund", "65.45") in hits(d)


def test_flex_fees_are_kept() -> None:
    d = decide_dict(hotel(fees=[{"code": "service", "amount": "15.00"}]), "2026-11-02T10:00:00+08:00")
    assert amounts(d) == ("partial", "1060.00", "0.00", "15.00")


# ---- Harbor Hotel semi: free until 72 h before 14:00 check-in, then 50% -------------------------


def semi(**stay: Any) -> dict[str, Any]:
    return with_stay(hotel(), rate_plan="semi", **stay)


@pytest.mark.parametrize("as_of", ["2026-12-07T14:00:00+08:00", "2026-12-07T06:00:00Z"])
def test_semi_free_until_72h_inclusive(as_of: str) -> None:
    d = decide_dict(semi(), as_of)
    assert amounts(d) == ("full", "1060.00", "0.00", "0.00")
    assert next_change(d) == ("2026-12-07T06:00:00Z", "530.00")


@pytest.mark.parametrize("as_of", ["2026-12-07T14:00:01+08:00", "2026-12-10T14:00:00+08:00", "2026-12-12T00:00:00Z"])
def test_semi_half_after_72h(as_of: str) -> None:
    d = decide_dict(semi(), as_of)
    assert amounts(d) == ("partial", "530.00", "530.00", "0.00")
    assert next_change(d) is None


def test_semi_taxes_rounded_per_line() -> None:
    order = semi()
    order["taxes"] = [{"code": "VAT", "amount": "0.05"}, {"code": "CITY", "amount": "0.03"}]
    d = decide_dict(order, "2026-12-09T14:00:00+08:00")
    # 50% of each line: 0.025 -> 0.03 and 0.015 -> 0.02, not 50% of the sum (0.04).
    assert ("harbor-hotel/semi/taxes", "tax:VAT", "refund", "0.03") in hits(d)
    assert ("harbor-hotel/semi/taxes", "tax:CITY", "refund", "0.02") in hits(d)
    assert amounts(d) == ("partial", "500.05", "500.03", "0.00")


def test_percent_policy_prices_an_order_in_another_currency() -> None:
    d = decide_dict(semi() | {"currency": "USD"}, "2026-12-09T14:00:00+08:00")
    assert amounts(d) == ("partial", "530.00", "530.00", "0.00")
    assert d.currency == "USD"


# ---- Harbor Hotel advance, statuses ------------------------------------------------------------


@pytest.mark.parametrize("as_of", ["2026-11-02T10:00:00+08:00", "2026-12-11T10:00:00+08:00"])
def test_advance_is_not_refundable(as_of: str) -> None:
    d = decide_dict(with_stay(hotel(), rate_plan="advance"), as_of)
    assert amounts(d) == ("none", "0.00", "0.00", "1060.00")
    assert hits(d) == [
        ("harbor-hotel/advance/not-refundable", "rooms", "non_refundable", "1000.00"),
        ("harbor-hotel/advance/taxes", "tax:VAT", "non_refundable", "60.00"),
    ]
    assert next_change(d) is None


@pytest.mark.parametrize("status", ["not_honored", "cancelled_by_hotel"])
@pytest.mark.parametrize("plan", ["flex", "advance"])
def test_hotel_failures_refund_everything(status: str, plan: str) -> None:
    order = with_stay(hotel(status=status, fees=[{"code": "service", "amount": "15.00"}]), rate_plan=plan)
    d = decide_dict(order, "2026-12-11T10:00:00+08:00")
    assert amounts(d) == ("full", "1075.00", "0.00", "0.00")
    assert d.reason is None


def test_stayed() -> None:
    d = decide_dict(hotel(status="stayed"), "2026-12-13T10:00:00+08:00")
    assert amounts(d) == ("none", "0.00", "0.00", "1060.00")
    assert hits(d) == [("harbor-hotel/stayed", "all", "non_refundable", "1060.00")]


# ---- other currencies and zones, via policies written for the test ------------------------------

YEN_AIR = """
[policy]
id = "yen-air"
kind = "airline"
carriers = ["YA"]
currency = "JPY"

[[fares]]
id = "std"
classes = ["M"]

[[fares.windows]]
id = "early"
until = { hours_before = 24 }
penalty = { percent = "30", min = "5000" }

[[fares.windows]]
id = "late"
penalty = { percent = "100" }
"""

DINAR_AIR = """
[policy]
id = "dinar-air"
kind = "airline"
carriers = ["KA"]
currency = "KWD"

[[fares]]
id = "std"
classes = ["M"]

[[fares.windows]]
id = "any"
penalty = { percent = "10", min = "1.500" }
"""

BERLIN = """
[policy]
id = "berlin"
kind = "hotel"
hotels = ["BER-1"]
currency = "EUR"
timezone = "Europe/Berlin"
check_in_time = "14:00"

[[rates]]
id = "semi"
plans = ["semi"]
taxes = { refund = "proportional" }

[[rates.windows]]
id = "free"
until = { hours_before = 72 }
penalty = { percent = "0" }

[[rates.windows]]
id = "half"
penalty = { percent = "50" }

[[rates]]
id = "flex"
plans = ["flex"]

[[rates.windows]]
id = "free"
until = { days_before = 1, at = "18:00" }
penalty = { percent = "0" }

[[rates.windows]]
id = "first-night"
penalty = { nights = 1 }
"""


def money_flight(supplier: str, currency: str, base: str, tax: str) -> dict[str, Any]:
    order = flight(supplier=supplier, currency=currency, ancillaries=[])
    return with_fare(order, base=base, taxes=[{"code": "TX", "amount": tax}], fees=[])


@pytest.mark.parametrize(
    ("base", "as_of", "expected", "nxt"),
    [
        # 30% of 20015 is 6004.5 -> 6005 (half-up; half-even would give 6004)
        ("20015", "2026-11-30T08:00:00+08:00", ("partial", "14510", "6005", "0"), ("2026-11-30T00:00:00Z", "500")),
        # 30% of 10000 is 3000: the minimum 5000 applies
        ("10000", "2026-11-30T08:00:00+08:00", ("partial", "5500", "5000", "0"), ("2026-11-30T00:00:00Z", "500")),
        ("20015", "2026-11-30T08:00:01+08:00", ("partial", "500", "20015", "0"), None),
    ],
)
def test_jpy(tmp_path: Path, base: str, as_of: str, expected: tuple[str, ...], nxt: tuple[str, str] | None) -> None:
    policies = policy_dir(tmp_path, YEN_AIR)
    d = decide_dict(money_flight("YA", "JPY", base, "500"), as_of, policies)
    assert amounts(d) == expected
    assert next_change(d) == nxt
    assert d.to_dict()["paid"] == str(int(base) + 500)


def test_kwd(tmp_path: Path) -> None:
    policies = policy_dir(tmp_path, DINAR_AIR)
    # 10% of 100.125 is 10.0125 -> 10.013 (half-up at the third decimal)
    d = decide_dict(money_flight("KA", "KWD", "100.125", "1.250"), "2026-11-30T08:00:00+08:00", policies)
    assert amounts(d) == ("partial", "91.362", "10.013", "0.000")
    # 10% of 10.000 is 1.000: the minimum 1.500 applies
    d = decide_dict(money_flight("KA", "KWD", "10.000", "1.250"), "2026-11-30T08:00:00+08:00", policies)
    assert amounts(d) == ("partial", "9.750", "1.500", "0.000")


def test_jpy_policy_on_a_cny_order_with_a_minimum_goes_to_review(tmp_path: Path) -> None:
    policies = policy_dir(tmp_path, YEN_AIR)
    d = decide_dict(money_flight("YA", "CNY", "1000.00", "50.00"), "2026-11-02T08:00:00+08:00", policies)
    assert d.outcome == "manual_review"
    assert d.reason == "the penalty limits are in JPY but the order is in CNY"


def berlin(plan: str, check_in: str) -> dict[str, Any]:
    order = hotel(supplier="BER-1", currency="EUR")
    return with_stay(order, rate_plan=plan, check_in=check_in, timezone="Europe/Berlin")


def test_hours_before_count_real_hours_across_a_dst_change(tmp_path: Path) -> None:
    # Clocks go back on 2026-10-25. Check-in 2026-10-26 14:00 CET is 13:00Z; 72 elapsed hours
    # earlier is 2026-10-23 13:00Z (15:00 CEST), not 14:00 CEST wall-clock.
    policies = policy_dir(tmp_path, BERLIN)
    order = berlin("semi", "2026-10-26")
    at_deadline = decide_dict(order, "2026-10-23T13:00:00Z", policies)
    assert at_deadline.outcome == "full"
    assert next_change(at_deadline) == ("2026-10-23T13:00:00Z", "530.00")
    assert decide_dict(order, "2026-10-23T12:30:00Z", policies).outcome == "full"
    assert decide_dict(order, "2026-10-23T13:00:01Z", policies).outcome == "partial"


def test_days_before_at_is_local_wall_clock_across_a_dst_change(tmp_path: Path) -> None:
    # 18:00 local on 2026-10-25 is CET already (+01:00): 17:00Z. This rule refunds all taxes.
    policies = policy_dir(tmp_path, BERLIN)
    order = berlin("flex", "2026-10-26")
    d = decide_dict(order, "2026-10-25T18:00:00+01:00", policies)
    assert d.outcome == "full"
    assert next_change(d) == ("2026-10-25T17:00:00Z", "560.00")
    assert decide_dict(order, "2026-10-25T17:00:01Z", policies).outcome == "partial"
