"""Policy files: every schema problem reported as ``file:line: field: message``, on the right line."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from refundctl.errors import PolicyError
from refundctl.policy import Deadline
from refundctl.policy.loader import load_policies
from tests.support.policies import AIRLINE, HOTEL, line_of, replaced


def problems(tmp_path: Path, text: str, name: str = "p.toml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    return [str(p) for p in info.value.problems]


def problem(tmp_path: Path, text: str) -> str:
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


# ---- the shipped policies load as the issue states them --------------------------------------


def test_shipped_policies_load() -> None:
    policies = load_policies()
    air = policies.for_supplier("airline", "ZA")
    hotel = policies.for_supplier("hotel", "HARBOR-SHA")
    assert air is not None and hotel is not None
    assert (air.file, air.currency) == ("airlines/zephyr-air.toml", "CNY")
    assert (hotel.file, hotel.currency, hotel.timezone) == ("hotels/harbor-hotel.toml", "CNY", "Asia/Shanghai")
    assert hotel.check_in_time == time(14, 0)
    assert hotel.full_refund_statuses == {"not_honored", "cancelled_by_hotel"}
    standard = air.rule_for("H")
    assert standard is not None and standard.id == "standard"
    assert [w.until for w in standard.windows] == [Deadline(hours_before=168), Deadline(hours_before=2), None]
    assert [(w.penalty.percent, w.penalty.min) for w in standard.windows] == [
        (Decimal(10), Decimal("50.00")),
        (Decimal(30), Decimal("50.00")),
        (Decimal(100), Decimal("50.00")),
    ]
    saver = air.rule_for("Q")
    assert saver is not None and not saver.refundable
    assert not saver.taxes.refunds("YQ") and saver.taxes.refunds("CN")
    flex = hotel.rule_for("flex")
    assert flex is not None
    assert flex.windows[0].until == Deadline(days_before=1, at=time(18, 0))
    assert air.rule_for("Z") is None


def test_digest_changes_with_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(AIRLINE, encoding="utf-8")
    first = load_policies(tmp_path).digest
    assert load_policies(tmp_path).digest == first
    (tmp_path / "a.toml").write_text(AIRLINE + "\n# changed\n", encoding="utf-8")
    assert load_policies(tmp_path).digest != first


def test_policy_tests_directory_is_not_loaded(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(AIRLINE, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "cases.toml").write_text("this is = not a policy", encoding="utf-8")
    assert [p.id for p in load_policies(tmp_path).policies] == ["zephyr-air"]


# ---- each kind of schema problem, located ------------------------------------------------------


def test_unknown_key(tmp_path: Path) -> None:
    text = replaced(AIRLINE, "eu_carrier = false\n", 'eu_carrier = false\ncolour = "blue"\n')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'colour')}: policy.colour: unknown key (expected one of: "
        "appr_carrier_size, carriers, check_in_time, cn_carrier, currency, dot_24_hour, eu_carrier, "
        "full_refund_statuses, hotels, id, kind, name, source, timezone, uk_carrier)"
    )


def test_missing_required_key_points_at_its_table(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'currency = "CNY"\n', "")
    found = problems(tmp_path, text)
    assert found[0] == f"{tmp_path / 'p.toml'}:{line_of(text, '[policy]')}: policy.currency: required key is missing"


def test_bad_kind(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'kind = "airline"', 'kind = "train"')
    found = problem(tmp_path, text)
    assert found.startswith(f"{tmp_path / 'p.toml'}:{line_of(text, 'kind =')}: policy.kind: expected ")
    assert "'airline'" in found and "'hotel'" in found
    assert found.endswith("got 'train'")


def test_unknown_currency(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'currency = "CNY"', 'currency = "ABC"')
    found = problems(tmp_path, text)
    assert found[0] == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'currency =')}: policy.currency: unknown currency 'ABC' "
        "(expected an ISO 4217 code such as CNY, USD, JPY)"
    )


def test_hotel_needs_a_timezone(tmp_path: Path) -> None:
    text = replaced(HOTEL, 'timezone = "Asia/Shanghai"\n', "")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, '[policy]')}: policy.timezone: required for hotels: "
        "deadlines are in the hotel's own time zone"
    )


def test_bad_timezone(tmp_path: Path) -> None:
    text = replaced(HOTEL, 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Atlantis"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'timezone =')}: policy.timezone: expected an IANA time zone "
        "such as Asia/Shanghai, got 'Asia/Atlantis'"
    )


def test_bad_check_in_time(tmp_path: Path) -> None:
    text = replaced(HOTEL, 'check_in_time = "14:00"', 'check_in_time = "25:00"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'check_in_time =')}: policy.check_in_time: "
        "expected a local time \"HH:MM\", got '25:00'"
    )


def test_no_rules(tmp_path: Path) -> None:
    text = AIRLINE[: AIRLINE.index("[[fares]]")]
    assert problem(tmp_path, text) == f"{tmp_path / 'p.toml'}: fares: expected at least one [[fares]] table"


def test_percent_out_of_range_in_the_second_rule(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'percent = "30"', 'percent = "130"')
    at = line_of(text, '"130"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{at}: fares[1].windows[1].penalty.percent: "
        'expected a percentage from "0" to "100" as a string, got \'130\''
    )


def test_percent_as_a_number(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'percent = "10"', "percent = 10")
    assert problem(tmp_path, text).startswith(
        f"{tmp_path / 'p.toml'}:{line_of(text, 'percent = 10')}: fares[1].windows[0].penalty.percent: "
    )


def test_penalty_needs_exactly_one_kind(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'penalty = { amount = "20.00" }', 'penalty = { amount = "20.00", percent = "5" }')
    at = line_of(text, 'percent = "5"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{at}: fares[0].windows[0].penalty: "
        "expected exactly one of amount, percent, nights; got amount, percent"
    )


def test_nights_only_for_hotels(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'penalty = { amount = "200.00" }', "penalty = { nights = 1 }")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'nights = 1')}: fares[0].no_show.penalty.nights: "
        "nights apply to hotel rates only"
    )


def test_amount_with_too_many_decimals(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'min = "50.00"', 'min = "50.005"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, '50.005')}: fares[1].windows[0].penalty.min: "
        "'50.005' has more decimals than CNY allows (2)"
    )


def test_penalty_in_an_unknown_currency(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'penalty = { amount = "20.00" }', 'penalty = { amount = "20.00", currency = "QQQ" }')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'QQQ')}: fares[0].windows[0].penalty.currency: "
        "unknown currency 'QQQ' (expected an ISO 4217 code such as CNY, USD, JPY)"
    )


def test_windows_must_approach_departure(tmp_path: Path) -> None:
    text = replaced(AIRLINE, "until = { hours_before = 2 }", "until = { hours_before = 200 }")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'hours_before = 200')}: fares[1].windows[1].until: "
        "expected fewer hours than the previous window (168), got 200"
    )


def test_only_the_last_window_is_open(tmp_path: Path) -> None:
    text = replaced(AIRLINE, "until = { hours_before = 2 }\n", "")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, '168h-to-2h') - 1}: fares[1].windows[1].until: "
        "only the last window may leave out 'until'"
    )


def test_the_last_window_must_be_open(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'id = "under-2h-or-after"\n', 'id = "under-2h-or-after"\nuntil = { hours_before = 1 }\n')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'hours_before = 1 ')}: fares[1].windows[2].until: "
        "the last window must leave out 'until'"
    )


def test_refundable_rule_needs_windows(tmp_path: Path) -> None:
    text = replaced(AIRLINE, "refundable = false\n", "")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, '[[fares]]', nth=3)}: fares[2].windows: "
        "a refundable rule needs at least one window"
    )


def test_class_in_two_rules(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'classes = ["V", "Q"]', 'classes = ["V", "Q", "M"]')
    at = line_of(text, 'classes = ["V"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{at}: fares[2].classes: 'M' is already covered by rule 'standard'"
    )


def test_bad_deadline(tmp_path: Path) -> None:
    text = replaced(HOTEL, 'until = { days_before = 1, at = "18:00" }', "until = { days_before = 1 }")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'days_before = 1')}: rates[0].windows[0].until: "
        'expected { hours_before = N } or { days_before = N, at = "HH:MM" }'
    )


def test_both_kinds_of_deadline(tmp_path: Path) -> None:
    text = replaced(
        HOTEL, "until = { hours_before = 72 }", 'until = { hours_before = 72, days_before = 3, at = "14:00" }'
    )
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'hours_before = 72')}: rates[1].windows[0].until: "
        "give either hours_before, or days_before with at"
    )


def test_negative_hours(tmp_path: Path) -> None:
    text = replaced(HOTEL, "until = { hours_before = 72 }", "until = { hours_before = -1 }")
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'hours_before = -1')}: rates[1].windows[0].until.hours_before: "
        "expected 0 to 876000 hours, got -1"
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        ("until = { hours_before = 72 }", "until = { hours_before = 99999999999999999 }",
         "rates[1].windows[0].until.hours_before", "expected 0 to 876000 hours, got 99999999999999999"),
        ("days_before = 1,", "days_before = 99999999,",
         "rates[0].windows[0].until.days_before", "expected 0 to 36500 days, got 99999999"),
    ],
)  # fmt: skip
def test_deadline_beyond_a_century_is_refused(tmp_path: Path, old: str, new: str, path: str, message: str) -> None:
    # Accepted, such a deadline crashed check with OverflowError (anchor minus deadline is no date).
    text = replaced(HOTEL, old, new)
    assert problem(tmp_path, text) == f"{tmp_path / 'p.toml'}:{line_of(text, new)}: {path}: {message}"


def test_policy_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_bytes(b"\xef\xbb\xbf" + HOTEL.encode())
    assert [p.id for p in load_policies(tmp_path).policies] == ["harbor-hotel"]


def test_bad_refund_mode(tmp_path: Path) -> None:
    text = replaced(HOTEL, 'taxes = { refund = "none" }', 'taxes = { refund = "some" }')
    at = line_of(text, 'refund = "some"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{at}: rates[2].taxes.refund: "
        "expected 'all', 'none', 'proportional' or a list of codes, got 'some'"
    )


def test_bad_ancillaries(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'ancillaries = "none"', 'ancillaries = "some"', 1)
    at = line_of(text, 'ancillaries = "some"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{at}: fares[0].ancillaries: expected 'none' or 'unused', got 'some'"
    )


def test_wrong_type(tmp_path: Path) -> None:
    text = replaced(AIRLINE, "eu_carrier = false", 'eu_carrier = "no"')
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{line_of(text, 'eu_carrier')}: policy.eu_carrier: expected bool, got 'no'"
    )


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'percent = "30"', 'percent = "130"')
    text = replaced(text, 'ancillaries = "none"', 'ancillaries = "some"', 1)
    text = replaced(text, "eu_carrier = false", "eu_carrier = 1")
    found = problems(tmp_path, text)
    assert [p.split(": ")[1] for p in found] == [
        "fares[0].ancillaries",
        "fares[1].windows[1].penalty.percent",
        "policy.eu_carrier",
    ]


def test_same_carrier_in_two_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(AIRLINE, encoding="utf-8")
    other = replaced(AIRLINE, 'id = "zephyr-air"', 'id = "zephyr-too"')
    line = next(n for n, text in enumerate(AIRLINE.splitlines(), start=1) if text.startswith("carriers"))
    expected = f"{tmp_path / 'p.toml'}:{line}: policy.carriers: 'ZA' is already covered by {tmp_path / 'a.toml'}:{line}"
    assert problem(tmp_path, other) == expected


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy directory does not exist"):
        load_policies(tmp_path / "nope")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'name = "Zephyr', "name = Zephyr")
    found = problem(tmp_path, text)
    assert found.startswith(f"{tmp_path / 'p.toml'}")
    assert "invalid TOML" in found
    assert f"line {line_of(text, 'name = Zephyr')}" in found


def test_invalid_toml_is_located_as_file_colon_line(tmp_path: Path) -> None:
    text = replaced(AIRLINE, 'name = "Zephyr', "name = Zephyr")
    assert problem(tmp_path, text).startswith(f"{tmp_path / 'p.toml'}:{line_of(text, 'name = Zephyr')}: ")


def test_window_ids_are_unique_within_a_rule(tmp_path: Path) -> None:
    # The no-show window would otherwise be priced as the ordinary window of the same id.
    text = replaced(AIRLINE, 'id = "no-show"', 'id = "before-departure"')
    at = line_of(text, 'id = "before-departure"', nth=2)
    assert problem(tmp_path, text) == (
        f"{tmp_path / 'p.toml'}:{at}: fares[0].no_show.id: window id 'before-departure' is already used in this rule"
    )
