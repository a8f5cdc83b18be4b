"""Regulation and carriers files: the journey issue's new keys validated like every policy (file:line: field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from refundctl.errors import PolicyError
from refundctl.policy.loader import SHIPPED, load_policies

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
