"""UK 261, Canada's APPR and China's 2021 passenger service rules, each at its boundaries.

Each test cites its provision. The example order (class V, saver) pays 1200.00 CNY: base
1000.00, taxes CN 50.00 and YQ 30.00, fee 20.00, an unused bag 100.00; the fare rules alone
refund 50.00 (taxes except YQ). Decision date 2026-11-25 unless a test says otherwise.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.engine.workdays import due_date
from refundctl.orders.parse import parse_order
from refundctl.policy import PolicySet
from refundctl.policy.loader import load_policies
from refundctl.policy.model import Due
from tests.support.builders import decide_dict
from tests.support.policies import policy_copy, segment, trip

AS_OF = "2026-11-25T12:00:00Z"
FULL, FARE_ONLY = Decimal("1200.00"), Decimal("50.00")


def seg(origin: str, destination: str, departs: str, arrives: str, **fields: Any) -> dict[str, Any]:
    """A segment with UTC times given as "2026-12-10T09:00"."""
    return segment(origin, destination, f"{departs}:00Z", f"{arrives}:00Z", **fields)


def comp(order: dict[str, Any], policies: PolicySet | None = None, as_of: str = AS_OF) -> list[tuple[str, str]]:
    d = decide_dict(order, as_of, policies).to_dict()
    return [(f"{c['amount']} {c['currency']}", c["regulation"]) for c in d["compensation"]]


def explained(order: dict[str, Any], tmp_path: Path, *args: str) -> str:
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps(order) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(order["id"]), "--orders", str(path), "--as-of", AS_OF, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@cache
def variant(**attributes: str) -> PolicySet:
    """The shipped policies with Zephyr Air (ZA) given carrier attributes, e.g. appr_carrier_size="small"."""
    directory = policy_copy(Path(tempfile.mkdtemp(prefix="refundctl-variant-")) / "p")
    path = directory / "airlines" / "zephyr-air.toml"
    extra = "".join(f"{k} = {v}\n" for k, v in sorted(attributes.items()))
    path.write_text(path.read_text(encoding="utf-8").replace("eu_carrier = false\n", f"eu_carrier = false\n{extra}"))
    return load_policies(directory)


# UK 261 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("km", "amount"), [(1500.0, "220.00"), (1500.001, "350.00"), (3500.0, "350.00"), (3500.001, "520.00")]
)
def test_uk261_band_edges_at_1500_and_3500_km(monkeypatch: pytest.MonkeyPatch, km: float, amount: str) -> None:
    """UK 261 Art. 7(1)(a)-(c) in GBP: 1,500 km or less 220, to 3,500 km 350, beyond 520 (LHR departure)."""
    monkeypatch.setattr("refundctl.engine.eu261.distance_km", lambda a, b: km)
    order = trip(seg("LHR", "JFK", "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled"))
    assert comp(order) == [(f"{amount} GBP", "uk-261")]


@pytest.mark.parametrize(("notified", "amount"), [("2026-11-26T09:00:00Z", []),
                                                  ("2026-11-26T09:00:01Z", [("220.00 GBP", "uk-261")])])  # fmt: skip
def test_uk261_told_exactly_14_days_ahead_owes_no_compensation(notified: str, amount: list[Any]) -> None:
    """UK 261 Art. 5(1)(c)(i): told at least two weeks before departure: none; 1 s less: GBP 220 (LHR-CDG)."""
    order = trip(seg("LHR", "CDG", "2026-12-10T09:00", "2026-12-10T10:15", status="cancelled"),
                 cancellation_notified_at=notified)  # fmt: skip
    assert comp(order) == amount


@pytest.mark.parametrize(
    ("origin", "destination", "carrier", "regulations"),
    [
        ("LHR", "JFK", "ZA", ["uk-261", "us-dot-2024"]),  # 3(1)(a): any carrier departing GB
        ("JER", "LHR", "ZA", []),  # Jersey is not the UK [interpretation]: no 3(1)(a), and ZA is neither carrier
        ("JER", "CDG", "BA", ["uk-261"]),  # no 3(1)(a), but 3(1)(b)(ii): to France on a UK carrier
        ("JFK", "LHR", "ZA", ["us-dot-2024"]),  # 3(1)(b)(i): neither a UK nor a Community carrier
        ("JFK", "LHR", "AF", ["uk-261", "us-dot-2024"]),  # 3(1)(b)(i): a Community carrier
        ("JFK", "CDG", "BA", ["uk-261", "us-dot-2024"]),  # 3(1)(b)(ii): to a Member State on a UK carrier
        ("CDG", "JFK", "BA", ["eu-261", "us-dot-2024"]),  # UK 3(1)(b) needs arrival in the UK or a Member State
        ("JFK", "OSL", "BA", ["us-dot-2024"]),  # Norway is not a Member State [interpretation]
    ],
)
def test_uk261_scope(origin: str, destination: str, carrier: str, regulations: list[str]) -> None:
    """UK 261 Art. 3(1)(a), 3(1)(b)(i)-(ii); SI 2019/278 reg. 8(3): UK and Community carriers."""
    order = trip(seg(origin, destination, "2026-12-10T09:00", "2026-12-10T17:00", status="cancelled",
                     carrier=carrier))  # fmt: skip
    assert list(decide_dict(order, AS_OF).regulations) == regulations


@pytest.mark.parametrize(
    ("origin", "destination", "paid_by"),
    [("LHR", "CDG", ("220.00 GBP", "uk-261")), ("CDG", "LHR", ("250.00 EUR", "eu-261"))],
)
def test_uk_and_eu_261_on_one_flight_refund_once_and_compensate_by_departure(
    origin: str, destination: str, paid_by: tuple[str, str]
) -> None:
    """UK and EU 261 Art. 3(1)(b): both listed, refund once, earliest due date, one compensation by departure."""
    order = trip(seg(origin, destination, "2026-12-10T09:00", "2026-12-10T10:15", status="cancelled",
                     carrier="AF"))  # fmt: skip
    d = decide_dict(order, AS_OF)
    assert list(d.regulations) == ["eu-261", "uk-261"]
    assert d.refund == FULL and d.due_by == date(2026, 12, 2)
    assert comp(order) == [paid_by]


def test_uk261_is_not_in_force_before_2021() -> None:
    """SI 2019/278 reg. 1(3), in force on exit day: from 2021-01-01 at decision-date granularity [interpretation]."""
    order = trip(seg("LHR", "JFK", "2020-12-10T09:00", "2020-12-10T17:00", status="cancelled"))
    order["booked_at"] = "2020-11-01T10:00:00+08:00"
    assert "uk-261" not in decide_dict(order, "2020-12-31T23:59:59Z").regulations
    assert "uk-261" in decide_dict(order, "2021-01-01T00:00:00Z").regulations


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


# China --------------------------------------------------------------------------------------

CN_DUE = Due(7, True, "CN", timezone="Asia/Shanghai", published_through=2026)


def test_china_working_days_count_the_adjusted_saturday_after_chinese_new_year() -> None:
    """CAAC 2021 (7 working days) and the State Council's 2026 schedule: 02-15 to 02-23 off, 02-14 and 02-28 worked."""
    assert due_date(CN_DUE, date(2026, 2, 12)) == date(2026, 2, 28)
    assert due_date(CN_DUE, date(2026, 2, 11)) == date(2026, 2, 27)
    weekdays_only = Due(7, True, None)  # every weekend skipped: what a China deadline must not be
    assert due_date(weekdays_only, date(2026, 2, 12)) == date(2026, 2, 23)


def test_china_working_days_across_national_day_count_saturday_10_10() -> None:
    """CAAC 2021 and the 2026 schedule: 10-01 to 10-07 off, Saturday 10-10 worked, Sunday 10-11 not."""
    assert due_date(CN_DUE, date(2026, 9, 29)) == date(2026, 10, 14)
    assert due_date(CN_DUE, date(2026, 9, 30)) == date(2026, 10, 15)


def test_us_business_days_are_unchanged_by_the_calendar_mechanism() -> None:
    """14 CFR 374.3: 7 business days skip weekends and US federal holidays (Thanksgiving 2026-11-26)."""
    assert due_date(Due(7, True, "US"), date(2026, 11, 25)) == date(2026, 12, 7)


def mu(**fields: Any) -> dict[str, Any]:
    return seg("PVG", "PEK", "2026-12-10T00:00", "2026-12-10T02:15", carrier="MU", **fields)


@pytest.mark.parametrize(
    ("as_of", "due"), [("2026-09-29T15:59:59Z", "2026-10-14"), ("2026-09-29T16:00:00Z", "2026-10-15")]
)
def test_caac_counts_from_the_beijing_date_of_the_request(as_of: str, due: str) -> None:
    """CAAC 2021 7 working days, Civil Code art. 201 (from the next day), on Beijing dates [interpretation]."""
    order = trip({**mu(), "departs_at": "2026-10-20T00:00:00Z", "arrives_at": "2026-10-20T02:15:00Z"})
    order["booked_at"] = "2026-09-01T10:00:00+08:00"
    d = decide_dict(order, as_of)
    assert d.due_by is not None and d.due_by.isoformat() == due and list(d.regulations) == ["cn-caac-2021"]


def test_caac_involuntary_refund_has_no_fee_whatever_the_cause() -> None:
    """CAAC 2021 (旅客非自愿退票 ... 不得收取退票费): cancelled by the carrier, not accepted: everything unused back."""
    d = decide_dict(trip(mu(status="cancelled", extraordinary_circumstances=True)), AS_OF)
    assert (d.refund, list(d.regulations), d.due_by) == (FULL, ["cn-caac-2021"], date(2026, 12, 4))


def test_caac_voluntary_refund_keeps_the_fare_rules_amount_and_gets_the_deadline() -> None:
    """CAAC 2021: every refund within 7 working days, voluntary included; the amount is the carrier's own rule."""
    d = decide_dict(trip(mu(status="changed", changed_departs_at="2026-12-10T05:00:00Z",
                            changed_arrives_at="2026-12-10T07:15:00Z"), change_accepted=True), AS_OF)  # fmt: skip
    assert (d.refund, list(d.regulations), d.due_by) == (FARE_ONLY, ["cn-caac-2021"], date(2026, 12, 4))


def test_caac_is_not_listed_without_a_refund(tmp_path: Path) -> None:
    """CAAC 2021: no refund, no refund deadline (a ticket fully flown)."""
    order = trip(mu(status="flown"))
    d = decide_dict(order, AS_OF)
    assert (d.refund, d.regulations, d.due_by) == (Decimal("0.00"), (), None)
    assert "no refund is due, so it sets no deadline" in explained(order, tmp_path)


def test_caac_covers_carriers_under_prc_law_only() -> None:
    """CAAC 2021 Art. 4 (承运人 established under PRC law): ZA is not; a policy variant saying cn_carrier is."""
    order = trip({**mu(status="cancelled"), "carrier": "ZA"})
    assert decide_dict(order, AS_OF).refund == FARE_ONLY
    assert decide_dict(order, AS_OF, variant(cn_carrier="true")).refund == FULL


@pytest.mark.parametrize(("requested", "provisional"), [("2026-12-22T12:00:00+08:00", False),
                                                         ("2026-12-23T12:00:00+08:00", True)])  # fmt: skip
def test_caac_deadline_in_an_unpublished_year_is_provisional(requested: str, provisional: bool,
                                                             tmp_path: Path) -> None:  # fmt: skip
    """CAAC 2021: 7 working days from 12-22 end on 12-31; from 12-23 they reach 2027, whose schedule is unpublished
    (python-holidays' estimate: 2027-01-01 off, so 2027-01-04)."""
    order = trip(mu(status="cancelled"), refund_requested_at=requested)
    d = decide_dict(order, AS_OF).to_dict()
    assert d["due_by_provisional"] is provisional
    assert d["due_by"] == ("2026-12-31" if not provisional else "2027-01-04")
    data = json.loads(explained(order, tmp_path, "-o", "json"))
    [caac] = [r for r in data["regulations"] if r["id"] == "cn-caac-2021"]
    assert caac["due_by_provisional"] is provisional
    text = explained(order, tmp_path)
    assert ("PROVISIONAL" in text) is provisional


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
