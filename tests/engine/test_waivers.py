"""Waiver policies: conditions at their boundaries, effects, funding, evidence, the winner, bad files."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.engine.waivers import NOT_MET, mismatches
from refundctl.errors import PolicyError
from refundctl.orders.parse import parse_order
from refundctl.policy.loader import SHIPPED, load_policies
from tests.support.builders import decide_dict, flight, hotel, shipped_policies, with_fare

AFTER = "2026-11-25T12:00:00Z"  # the frontline trips are long past: the fare rules keep most of it
FRONTLINE_EVIDENCE = [{"waiver": "frontline-2020", "reference": "HOSP-1"}]


def frontline(**overrides: Any) -> dict[str, Any]:
    """A medical worker's trip PEK-WUH on 2020-02-02, booked 2020-01-20, with evidence."""
    seg = {
        "from": "PEK", "to": "WUH", "carrier": "ZA", "flight": "ZA2201", "status": "scheduled",
        "departs_at": "2020-02-02T09:00:00+08:00", "arrives_at": "2020-02-02T11:20:00+08:00",
    }  # fmt: skip
    order = flight(
        id="FL-1",
        booked_at="2020-01-20T09:30:00+08:00",
        traveler_tags=["medical-worker"],
        evidence=FRONTLINE_EVIDENCE,
        segments=[seg],
    )
    order.update(overrides)
    return order


def departing(order: dict[str, Any], departs_at: str) -> dict[str, Any]:
    order["segments"][0]["departs_at"] = departs_at
    order["segments"][0]["arrives_at"] = departs_at
    return order


def test_frontline_refunds_everything_and_the_platform_funds_what_the_fare_rule_keeps() -> None:
    d = decide_dict(frontline(), AFTER)
    # Class M after departure: the fare rule keeps the whole base (100%), the fee and the bag.
    assert (d.outcome, d.refund, d.penalty, d.non_refundable) == ("full", Decimal("1200.00"), 0, 0)
    assert d.funded_by == {"supplier": Decimal("80.00"), "platform": Decimal("1120.00")}  # taxes came back anyway
    assert d.waivers == ("frontline-2020",)
    assert d.submittable
    assert {h.rule for h in d.rules if h.effect == "refund"} == {"zephyr-air/standard/taxes", "frontline-2020"}


@pytest.mark.parametrize(
    ("booked_at", "applies"),
    [
        ("2020-01-23T23:59:59+08:00", True),
        ("2020-01-24T00:00:00+08:00", False),  # "before" is exclusive
        ("2020-01-23T16:00:00Z", False),  # the same instant in UTC
        ("2020-01-23T15:59:59Z", True),
    ],
)
def test_frontline_booking_cutoff(booked_at: str, applies: bool) -> None:
    d = decide_dict(frontline(booked_at=booked_at), AFTER)
    assert d.waivers == (("frontline-2020",) if applies else ())


@pytest.mark.parametrize(
    ("departs_at", "applies"),
    [
        ("2020-01-21T00:05:00+08:00", True),  # first day, inclusive
        ("2020-01-20T23:55:00+08:00", False),
        ("2020-03-31T23:55:00+08:00", True),  # last day, inclusive
        ("2020-04-01T00:05:00+08:00", False),
        ("2020-03-31T16:05:00Z", False),  # 2020-04-01 00:05 at PEK: the local date counts
        ("2020-01-20T16:05:00Z", True),  # 2020-01-21 00:05 at PEK
    ],
)
def test_frontline_travel_dates_are_local_and_inclusive(departs_at: str, applies: bool) -> None:
    d = decide_dict(departing(frontline(booked_at="2020-01-10T00:00:00+08:00"), departs_at), AFTER)
    assert d.waivers == (("frontline-2020",) if applies else ())


def test_frontline_needs_one_of_the_tags() -> None:
    assert decide_dict(frontline(traveler_tags=["teacher"]), AFTER).waivers == ()
    assert decide_dict(frontline(traveler_tags=["teacher", "media"]), AFTER).waivers == ("frontline-2020",)


def test_frontline_covers_hotels_by_check_in_date() -> None:
    order = hotel(booked_at="2020-01-20T10:00:00+08:00", traveler_tags=["police"], evidence=FRONTLINE_EVIDENCE)
    order["stay"].update(check_in="2020-03-31", rate_plan="advance")
    d = decide_dict(order, AFTER)
    assert (d.outcome, d.refund, d.funded_by["platform"]) == ("full", Decimal("1060.00"), Decimal("1060.00"))


def test_without_evidence_the_order_waits_with_the_amounts_it_would_get() -> None:
    d = decide_dict(frontline(evidence=[]), AFTER)
    assert d.outcome == "needs_evidence"
    assert d.refund_with_evidence == d.refund == Decimal("1200.00")
    assert not d.submittable
    assert "evidence required" in (d.reason or "")
    other = [{"waiver": "goodwill-fee", "reference": "X"}]  # evidence for another waiver does not count
    assert decide_dict(frontline(evidence=other), AFTER).outcome == "needs_evidence"


def test_used_ancillaries_and_flown_segments_are_not_refunded() -> None:
    order = frontline(ancillaries=[{"code": "bag", "amount": "100.00", "used": True},
                                   {"code": "seat", "amount": "30.00", "used": False}])  # fmt: skip
    d = decide_dict(order, AFTER)
    assert d.refund == Decimal("1130.00")
    assert d.non_refundable == Decimal("100.00")
    assert d.refund + d.penalty + d.non_refundable == d.paid


def goodwill(**fare: Any) -> dict[str, Any]:
    return with_fare(flight(id="GW-1", waiver_codes=["GW-FEE"]), **fare)


def test_goodwill_waives_the_flat_refund_fee() -> None:
    d = decide_dict(goodwill(**{"class": "Y"}), "2026-11-25T12:00:00Z")
    # Flex: 20.00 flat fee before departure; the service fee stays non-refundable.
    assert (d.refund, d.penalty, d.non_refundable) == (Decimal("1080.00"), Decimal("0.00"), Decimal("120.00"))
    assert d.funded_by == {"supplier": Decimal("1060.00"), "platform": Decimal("20.00")}
    assert d.waivers == ("goodwill-fee",)


def test_goodwill_is_capped_at_50_cny() -> None:
    # After departure the flex fare's no-show fee is 200.00: 50.00 of it is waived.
    d = decide_dict(goodwill(**{"class": "Y"}), "2026-12-01T09:00:00+08:00")
    assert (d.penalty, d.funded_by["platform"]) == (Decimal("150.00"), Decimal("50.00"))


def test_goodwill_leaves_percentage_penalties_alone() -> None:
    d = decide_dict(goodwill(), "2026-11-25T12:00:00Z")  # class M, 168 h to 2 h: 30 % penalty
    assert d.waivers == ()
    assert d.penalty == Decimal("300.00")


def test_goodwill_does_not_apply_to_another_currency(tmp_path: Path) -> None:
    order = goodwill(**{"class": "Y"})
    order["currency"] = "JPY"
    with_fare(order, base="100000", taxes=[], fees=[])
    order["ancillaries"] = []
    d = decide_dict(order, "2026-11-25T12:00:00Z")
    assert d.waivers == ()


def test_the_most_favourable_waiver_wins_and_the_others_are_named() -> None:
    d = decide_dict(frontline(waiver_codes=["GW-FEE"]), AFTER)
    assert d.waivers == ("frontline-2020",)
    assert d.also_matched == ("goodwill-fee",)


def test_validate_warns_about_overlapping_waivers_with_both_positions(tmp_path: Path) -> None:
    # The shipped frontline waiver acknowledges its overlap with goodwill-fee: validate is silent.
    assert CliRunner().invoke(cli, ["policy", "validate"]).stderr == ""
    directory = _copy_policies(tmp_path)
    path = directory / "waivers" / "frontline-2020.toml"
    path.write_text(path.read_text().replace('overlaps = ["goodwill-fee"]\n', ""))
    result = CliRunner().invoke(cli, ["policy", "validate", str(directory)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.startswith("warning: ")
    assert f"{path}:15: conditions: waiver 'frontline-2020' overlaps 'goodwill-fee'" in result.stderr
    assert f"{directory / 'waivers' / 'goodwill-fee.toml'}:9" in result.stderr


def test_overlaps_must_name_a_waiver(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    path = directory / "waivers" / "frontline-2020.toml"
    path.write_text(path.read_text().replace('overlaps = ["goodwill-fee"]', 'overlaps = ["goodwill"]'))
    with pytest.raises(PolicyError, match="no waiver has id 'goodwill'"):
        load_policies(directory)


def _copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("tests"))
    return target


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('booked_before = "2020-01-24"', "conditions.booked_before", "expected a TOML date-time with an offset"),
        ("booked_before = 2020-01-24T00:00:00", "conditions.booked_before", "with an offset"),
        ("travel_from = 2020-02-30", None, "invalid TOML"),
        ("travel_from = 2020-01-21T00:00:00Z", "conditions.travel_from", "expected a TOML date"),
        ('order_kinds = ["train"]', "conditions.order_kinds", "expected any of flight, hotel"),
    ],
)
def test_bad_waiver_files_are_reported_with_file_and_line(
    tmp_path: Path, line: str, field: str | None, message: str
) -> None:
    directory = _copy_policies(tmp_path)
    path = directory / "waivers" / "goodwill-fee.toml"
    text = path.read_text().replace('waiver_codes = ["GW-FEE"]', f'waiver_codes = ["GW-FEE"]\n{line}')
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policies(directory)
    [problem] = caught.value.problems
    assert problem.file.endswith("goodwill-fee.toml")
    assert problem.line == 11
    assert problem.field == field
    assert message in problem.message
    result = CliRunner().invoke(cli, ["policy", "validate", str(directory)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "goodwill-fee.toml:11: " in result.stderr


def test_bad_effect_and_duplicate_ids(tmp_path: Path) -> None:
    directory = _copy_policies(tmp_path)
    copy = directory / "waivers" / "again.toml"
    copy.write_text((directory / "waivers" / "goodwill-fee.toml").read_text().replace('"waive-flat-fee"', '"refund"'))
    with pytest.raises(PolicyError) as caught:
        load_policies(directory)
    messages = sorted(str(p) for p in caught.value.problems)
    assert any("again.toml:13: effect.type: expected one of full-refund" in m for m in messages), messages


def test_explain_says_every_condition_failed_and_a_decision_only_that_one_failed() -> None:
    """Every failed condition in words, in the order the waiver file reads (explain); a decision needs
    only whether a waiver is met, so it stops at the first failed one without putting it into words."""
    order, invalid = parse_order(frontline(booked_at="2020-02-01T09:30:00+08:00", traveler_tags=[], id="FL-2"))
    assert order is not None, invalid
    waiver = next(w for w in shipped_policies().waivers_by_id if w.id == "frontline-2020")
    assert mismatches(waiver, order) == [
        "booked 2020-02-01T09:30:00+08:00, not before 2020-01-24T00:00:00+08:00",
        "no traveller tagged civil-servant, media, medical-worker, police",
    ]
    assert mismatches(waiver, order, every_reason=False) == [NOT_MET]
    met, _ = parse_order(frontline())
    assert met is not None
    assert mismatches(waiver, met) == mismatches(waiver, met, every_reason=False) == []
