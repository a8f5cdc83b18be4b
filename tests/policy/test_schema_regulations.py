"""Regulation and carriers files: the journey issue's new keys validated like every policy (file:line: field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from refundctl.errors import PolicyError
from refundctl.policy.loader import SHIPPED, load_policies
from tests.support.policies import policy_copy

EU = (SHIPPED / "regulations" / "eu-261.toml").read_text(encoding="utf-8")
AIRLINE = (SHIPPED / "airlines" / "zephyr-air.toml").read_text(encoding="utf-8")
CARRIERS = """[policy]
id = "carriers"
kind = "carriers"
source = "test"

[[carriers]]
code = "LH"
name = "Lufthansa"
country = "DE"

[[carriers]]
code = "lh"
name = "Lufthansa again"
country = "Germany"

[[carriers]]
code = "LH"
name = "Lufthansa twice"
country = "DE"
"""


def problems(tmp_path: Path, **files: str) -> list[str]:
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    return [str(p) for p in info.value.problems]


def test_shipped_carriers_file_lists_community_and_uk_carriers() -> None:
    carriers = load_policies().carriers
    assert (carriers["LH"].country, carriers["BA"].country, carriers["LX"].country) == ("DE", "GB", "CH")
    assert carriers["FR"].file == "carriers/carriers.toml"
    assert len(carriers) >= 80


def test_carriers_file_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    assert problems(tmp_path, c=CARRIERS) == [
        f"{path}:12: carriers[1].code: expected a 2-character IATA airline designator, got 'lh'",
        f"{path}:14: carriers[1].country: expected an ISO 3166-1 alpha-2 country code, got 'Germany'",
        f"{path}:17: carriers[2].code: carrier 'LH' is already listed at line 6",
    ]


def test_a_carrier_in_two_carriers_files_names_both_places(tmp_path: Path) -> None:
    one = CARRIERS.split('[[carriers]]\ncode = "lh"', maxsplit=1)[0]
    found = problems(tmp_path, a=one, b=one.replace('id = "carriers"', 'id = "more"'))
    assert found == [
        f"{tmp_path / 'b.toml'}:6: carriers.code: carrier 'LH' is already listed at {tmp_path / 'a.toml'}:6"
    ]


def test_regulation_tables_must_fit_the_rule(tmp_path: Path) -> None:
    text = EU.replace("[disruption]", "[booking_window]\nwithin_hours = 24\nbooked_days_before = 7\n\n[ignored]", 1)
    text = text.replace('carriers = ["eu_carrier"]', 'carriers = ["uk_carrier"]')
    path = tmp_path / "eu.toml"
    found = problems(tmp_path, eu=text)
    assert f"{path}: disruption: required for eu-261" in found
    assert any(p.startswith(f"{path}:") and "booking_window: eu-261 does not use [booking_window]" in p for p in found)
    assert any("scope.arrivals[0].carriers: 'uk_carrier' has no [scope.licences] entry (listed: eu_carrier)" in p
               for p in found)  # fmt: skip


def test_rerouting_tiers_need_less_notice_than_the_notice_exemption(tmp_path: Path) -> None:
    text = EU.replace("notice_days = 7\n", "notice_days = 14\n", 1)
    [found] = problems(tmp_path, eu=text)
    assert found.endswith(
        "compensation.rerouting[0].notice_days: expected 0 to 13 (less than compensation.notice_days)"
    )


def test_dot_24_hour_is_cancel_or_hold(tmp_path: Path) -> None:
    [found] = problems(tmp_path, za=AIRLINE.replace('dot_24_hour = "cancel"', 'dot_24_hour = "refund"'))
    assert found == (f"{tmp_path / 'za.toml'}:11: policy.dot_24_hour: expected 'cancel' or 'hold' "
                     "(14 CFR 259.5(b)(4)), got 'refund'")  # fmt: skip


# Issue 11: every number in a regulation file is bounded, with the bound in the message. Before,
# significant_change hours of 1e11 or notice_days of 800,000 validated and then crashed check
# with OverflowError.
BOUNDS = [
    ("us-dot-2024", "domestic_hours = 3\n", "domestic_hours = 100000000000\n", "significant_change.domestic_hours",
     "expected 1 to 8760 hours, got 100000000000"),
    ("us-dot-2024", "international_hours = 6\n", "international_hours = 0\n",
     "significant_change.international_hours", "expected 1 to 8760 hours, got 0"),
    ("us-dot-2024", "days = 7\n", "days = 3651\n", "due.card.days", "expected 0 to 3650 days, got 3651"),
    ("us-dot-24-hour", "within_hours = 24\n", "within_hours = 8761\n", "booking_window.within_hours",
     "expected 1 to 8760 hours, got 8761"),
    ("us-dot-24-hour", "booked_days_before = 7\n", "booked_days_before = 366\n",
     "booking_window.booked_days_before", "expected 0 to 365 days, got 366"),
    ("eu-261", "notice_days = 14\n", "notice_days = 800000\n", "compensation.notice_days",
     "expected 0 to 365 days, got 800000"),
    ("eu-261", "earlier_hours = 1 ", "earlier_hours = 99999 ", "disruption.earlier_hours",
     "expected 1 to 8760 hours, got 99999"),
    ("eu-261", "refund_delay_hours = 5 ", "refund_delay_hours = -5 ", "disruption.refund_delay_hours",
     "expected 1 to 8760 hours, got -5"),
    ("eu-261", "compensation_delay_hours = 3 ", "compensation_delay_hours = 8761 ",
     "disruption.compensation_delay_hours", "expected 1 to 8760 hours, got 8761"),
    ("eu-261", "up_to_km = 1500\n", "up_to_km = 0\n", "compensation.bands[0].up_to_km",
     "expected 1 to 20040 km, got 0"),
    ("eu-261", "reduce_within_hours = 2 ", "reduce_within_hours = 9000 ", "compensation.bands[0].reduce_within_hours",
     "expected 1 to 8760 hours, got 9000"),
    ("eu-261", "over_km = 1500\n", "over_km = 40000\n", "compensation.intra.over_km",
     "expected 1 to 20040 km, got 40000"),
    ("eu-261", "departs_within_hours = 2\n", "departs_within_hours = 10000000000\n",
     "compensation.rerouting[0].departs_within_hours", "expected 1 to 8760 hours, got 10000000000"),
    ("eu-261", "arrives_within_hours = 4\n", "arrives_within_hours = 0\n",
     "compensation.rerouting[0].arrives_within_hours", "expected 1 to 8760 hours, got 0"),
    ("eu-261", 'reduction_percent = "50"', 'reduction_percent = "150"', "compensation.reduction_percent",
     'expected a percentage from "0" to "100" as a string, got \'150\''),
    ("ca-appr", "delay_hours = 3 ", "delay_hours = 8761 ", "refund.delay_hours", "expected 1 to 8760 hours, got 8761"),
    ("ca-appr", "rebook_within_hours = 48 ", "rebook_within_hours = 0 ", "refund.rebook_within_hours",
     "expected 1 to 8760 hours, got 0"),
    ("ca-appr", "days = 30 ", "days = 100000 ", "due.days", "expected 0 to 3650 days, got 100000"),
    ("ca-appr", "from_hours = 9\n", "from_hours = 1000000\n", "compensation.bands[2].from_hours",
     "expected 1 to 8760 hours, got 1000000"),
    ("cn-caac-2021", "published_through = 2026\n", "published_through = 99999\n", "due.published_through",
     "expected 1900 to 2999 (a year), got 99999"),
]  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "field", "message"), BOUNDS, ids=[b[3] for b in BOUNDS])
def test_every_number_in_a_regulation_file_is_bounded(tmp_path: Path, file: str, old: str, new: str, field: str,
                                                      message: str) -> None:  # fmt: skip
    text = (SHIPPED / "regulations" / f"{file}.toml").read_text(encoding="utf-8")
    assert old in text
    found = problems(tmp_path, **{file: text.replace(old, new, 1)})
    assert any(p.endswith(f" {field}: {message}") for p in found), found


def test_a_due_period_beyond_ten_years_is_refused(tmp_path: Path) -> None:
    # Accepted, it crashed check with OverflowError (or, in business days, ran on for ever).
    directory = policy_copy(tmp_path / "p")
    path = directory / "regulations" / "us-dot-2024.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("days = 20\n", "days = 999999999\n"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policies(directory)
    [problem] = caught.value.problems
    assert (problem.field, problem.message) == ("due.days", "expected 0 to 3650 days, got 999999999")
    assert problem.line is not None and problem.file.endswith("us-dot-2024.toml")


@pytest.mark.parametrize("country", ["XX", "cn", ""])
def test_a_holiday_calendar_python_holidays_lacks_is_refused(tmp_path: Path, country: str) -> None:
    # "" reads as no calendar, which business days without holidays allow: the message differs.
    text = (SHIPPED / "regulations" / "cn-caac-2021.toml").read_text(encoding="utf-8")
    assert 'holidays = "CN"' in text
    found = problems(tmp_path, **{"cn-caac-2021": text.replace('holidays = "CN"', f'holidays = "{country}"', 1)})
    expected = f" due.holidays: no public holiday calendar for country {country!r}"
    assert any(p.endswith(expected) for p in found) == bool(country), found


@pytest.mark.parametrize("alias", ["CHN", "US", "USA", "UK"])
def test_holiday_calendars_are_named_as_python_holidays_names_them(tmp_path: Path, alias: str) -> None:
    path = policy_copy(tmp_path / "p") / "regulations" / "cn-caac-2021.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('holidays = "CN"', f'holidays = "{alias}"', 1))
    [caac] = [r for r in load_policies(tmp_path / "p").regulations if r.id == "cn-caac-2021"]
    assert caac.due is not None and caac.due.holidays == alias
