"""``policy validate`` catches what ``check`` would trip on (issue: hostile input).

Windows that could never apply (deadlines out of time order for some anchor, hours and
days mixed), times with a UTC offset, numbers out of range, values nested absurdly deep,
zone names that are not IANA names; and a property test: whatever policy ``validate``
accepts decides the example orders without an internal error.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from refundctl.engine import decide
from refundctl.errors import PolicyError
from refundctl.orders import load_orders
from refundctl.orders.parse import parse_order
from refundctl.policy.loader import SHIPPED, load_policies
from tests.support.builders import hotel

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AIRLINE_HEAD = """[policy]
id = "zephyr-air"
kind = "airline"
carriers = ["ZA"]
currency = "CNY"
"""
HOTEL_HEAD = """[policy]
id = "harbor-hotel"
kind = "hotel"
hotels = ["HARBOR-SHA"]
currency = "CNY"
timezone = "Asia/Shanghai"
check_in_time = "14:00"
"""


def windows(kind: str, *untils: str) -> str:
    """One rule whose windows end at ``untils`` (inline tables), then a last open window."""
    table, codes = ("fares", 'classes = ["M"]') if kind == "airline" else ("rates", 'plans = ["flex"]')
    body = f'\n[[{table}]]\nid = "r"\n{codes}\n'
    for i, until in enumerate(untils):
        body += f'\n[[{table}.windows]]\nid = "w{i}"\nuntil = {until}\npenalty = {{ percent = "{i * 10}" }}\n'
    return body + f'\n[[{table}.windows]]\nid = "last"\npenalty = {{ percent = "100" }}\n'


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    return [str(p).removeprefix(f"{tmp_path / 'p.toml'}:") for p in info.value.problems]


def accepted(tmp_path: Path, text: str) -> None:
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    load_policies(tmp_path)


def test_days_before_deadlines_running_backwards_are_refused(tmp_path: Path) -> None:
    text = AIRLINE_HEAD + windows("airline", '{ days_before = 1, at = "18:00" }', '{ days_before = 3, at = "18:00" }')
    (found,) = problems(tmp_path, text)
    assert "fares[0].windows[1].until: expected a deadline after the previous window's" in found
    assert found.endswith("(18:00 local, 1 day(s) before) for every departure time, got 18:00 local, 3 day(s) before")


def test_same_day_days_before_in_clock_order_is_accepted(tmp_path: Path) -> None:
    text = AIRLINE_HEAD + windows("airline", '{ days_before = 1, at = "18:00" }', '{ days_before = 0, at = "12:00" }')
    accepted(tmp_path, text)


def test_hours_then_days_that_may_come_earlier_for_a_late_departure_are_refused(tmp_path: Path) -> None:
    # A 23:00 departure: 18:00 the day before is 29 h before, earlier than the 24 h deadline.
    text = AIRLINE_HEAD + windows("airline", "{ hours_before = 24 }", '{ days_before = 1, at = "18:00" }')
    (found,) = problems(tmp_path, text)
    line = text.splitlines().index('until = { days_before = 1, at = "18:00" }') + 1
    assert found.startswith(f"{line}: fares[0].windows[1].until: ")
    assert "expected a deadline after the previous window's (24 h before) for every departure time" in found


def test_hours_then_days_always_later_is_accepted(tmp_path: Path) -> None:
    # 18:00 the day before is at most 30 h (+1 h daylight saving) before any departure.
    accepted(tmp_path, AIRLINE_HEAD + windows("airline", "{ hours_before = 32 }", '{ days_before = 1, at = "18:00" }'))


def test_hotel_windows_are_proved_for_its_own_check_in_time(tmp_path: Path) -> None:
    # Check-in 14:00: 18:00 the day before is 20 h before it (19 to 21 across a DST change).
    late = '{ days_before = 1, at = "18:00" }'
    (found,) = problems(tmp_path, HOTEL_HEAD + windows("hotel", late, "{ hours_before = 24 }"))
    assert "for a check-in at 14:00, got 24 h before" in found
    accepted(tmp_path, HOTEL_HEAD + windows("hotel", late, "{ hours_before = 18 }"))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('check_in_time = "14:00"', 'check_in_time = "14:00+08:00"', "policy.check_in_time"),
        ("{ hours_before = 72 }", '{ days_before = 3, at = "18:00-12:00" }', "rates[0].windows[0].until.at"),
    ],
)
def test_times_with_a_utc_offset_are_refused(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = (HOTEL_HEAD + windows("hotel", "{ hours_before = 72 }")).replace(old, new)
    (found,) = problems(tmp_path, text)
    assert f': {field}: expected a local time "HH:MM" without a UTC offset, got ' in found


def test_penalty_nights_are_bounded(tmp_path: Path) -> None:
    text = (HOTEL_HEAD + windows("hotel")).replace('penalty = { percent = "100" }', "penalty = { nights = 100000 }")
    (found,) = problems(tmp_path, text)
    assert found.endswith("rates[0].windows[0].penalty.nights: expected 1 to 9999 nights, got 100000")


@pytest.mark.parametrize("depth", [20, 500])
def test_values_nested_absurdly_deep_are_one_clear_problem(tmp_path: Path, depth: int) -> None:
    text = AIRLINE_HEAD + f"name = {'[' * depth}{']' * depth}\n" + windows("airline")
    assert problems(tmp_path, text) == [" values nested deeper than 16 levels"]


def test_a_policy_zone_that_is_no_iana_name_is_refused_without_touching_files(tmp_path: Path) -> None:
    text = HOTEL_HEAD.replace("Asia/Shanghai", "A" * 300) + windows("hotel")
    (found,) = problems(tmp_path, text)
    assert "policy.timezone: expected an IANA time zone such as Asia/Shanghai, got 'AAAA" in found
    assert found.endswith("... (302 characters)")


def test_an_order_zone_that_is_no_iana_name_is_a_record_error() -> None:
    order = hotel()
    order["stay"] = {**order["stay"], "timezone": "../" * 100 + "etc/passwd"}
    assert parse_order(order)[0] is None
    assert [p.path for p in parse_order(order)[1]] == ["stay.timezone"]


# ---- whatever validate accepts, check can decide ------------------------------------------

DEADLINES = st.one_of(
    st.integers(0, 36500 * 24).map(lambda h: f"{{ hours_before = {h} }}"),
    st.tuples(st.integers(0, 36500), st.integers(0, 23), st.integers(0, 59)).map(
        lambda d: f'{{ days_before = {d[0]}, at = "{d[1]:02d}:{d[2]:02d}" }}'
    ),
)
PENALTIES = st.one_of(
    st.decimals(0, 100, places=2).map(lambda p: f'{{ percent = "{p}" }}'),
    st.decimals(0, 10**9, places=2).map(lambda a: f'{{ amount = "{a}" }}'),
    st.tuples(st.decimals(0, 100, places=1), st.decimals(0, 10**6, places=2)).map(
        lambda t: f'{{ percent = "{t[0]}", min = "{t[1]}", max = "{t[1] * 2}" }}'
    ),
)
ORDERS = [o for o in load_orders([str(EXAMPLES / "orders.jsonl"), str(EXAMPLES / "orders-overrides.jsonl")])]
INSTANTS = [datetime.fromisoformat(t) for t in ("2026-11-25T12:00:00+00:00", "2026-12-30T23:59:59+00:00")]


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(untils=st.lists(DEADLINES, max_size=4), penalties=st.lists(PENALTIES, min_size=5, max_size=5))
def test_any_fare_policy_validate_accepts_decides_every_example(
    tmp_path: Path, untils: list[str], penalties: list[str]
) -> None:
    directory = tmp_path / "p"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(SHIPPED, directory, ignore=shutil.ignore_patterns("tests"))
    fare = AIRLINE_HEAD.replace("[policy]\n", "") + windows("airline", *untils)
    for i, penalty in enumerate(penalties):
        fare = fare.replace(f'penalty = {{ percent = "{i * 10}" }}', f"penalty = {penalty}", 1)
    fare = fare.replace('penalty = { percent = "100" }', f"penalty = {penalties[-1]}")
    (directory / "airlines" / "zephyr-air.toml").write_text("[policy]\n" + fare, encoding="utf-8")
    try:
        policies = load_policies(directory)
    except PolicyError:
        event("refused")
        return  # refused with a located problem: fine
    event("accepted")
    for order in ORDERS:
        for as_of in INSTANTS:
            decision = decide(order, policies, as_of).to_dict()
            assert json.dumps(decision)  # decided, and serialisable


def test_mistyped_penalty_nights_is_one_problem(tmp_path: Path) -> None:
    text = (HOTEL_HEAD + windows("hotel")).replace('penalty = { percent = "100" }', 'penalty = { nights = "1" }')
    (found,) = problems(tmp_path, text)
    assert found.endswith("rates[0].windows[0].penalty.nights: expected int, got '1'")
