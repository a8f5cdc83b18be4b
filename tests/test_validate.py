"""The shared reader of untrusted structured input (refundctl.validate): one vocabulary, two ways to report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from refundctl import validate
from refundctl.validate import JSON, TOML, Fields, FirstIssue, Issue


def test_fields_collect_every_problem_with_its_path() -> None:
    problems: list[Issue] = []
    data = {"id": "", "used": "yes", "extra": 1, "bad\nkey": 2}
    f = Fields(data, "fare.taxes[1]", {"id", "used", "count"}, problems)
    assert f.get("id", validate.text, "?") == "?"
    assert f.get("used", validate.boolean, False) is False
    assert f.get("count", validate.count, 0) == 0
    assert f.get("count", validate.count, 7, required=False) == 7
    assert problems == [
        ("fare.taxes[1].'bad\\nkey'", "unknown field"),  # a key that would break the message is quoted
        ("fare.taxes[1].extra", "unknown field"),
        ("fare.taxes[1].id", "expected a non-empty string, got ''"),
        ("fare.taxes[1].used", "expected true or false, got 'yes'"),
        ("fare.taxes[1].count", "required field is missing"),
    ]


def test_toml_words_list_the_allowed_keys_and_report_required_ones() -> None:
    problems: list[Issue] = []
    Fields({"colour": 1}, "policy", {"id", "kind"}, problems, required={"id"}, words=TOML)
    assert problems == [
        ("policy.colour", "unknown key (expected one of: id, kind)"),
        ("policy.id", "required key is missing"),
    ]


@pytest.mark.parametrize(
    ("words", "expected"), [(JSON, "expected an object, got list"), (TOML, "expected a table, got list")]
)
def test_not_an_object_is_one_problem_whatever_it_holds(words: validate.Words, expected: str) -> None:
    problems: list[Issue] = []
    f = Fields([1], "stay", {"nights"}, problems, required={"nights"}, words=words)
    assert problems == [("stay", expected)]
    assert f.data == {}


def test_items_keep_only_elements_without_problems() -> None:
    problems: list[Issue] = []
    f = Fields({"tags": ["a", 5, "b"]}, "", {"tags"}, problems)
    kept = f.items("tags", lambda value, path: validate.read(value, path, validate.string, "", problems))
    assert kept == ("a", "b")
    assert problems == [("tags[1]", "expected a non-empty string, got 5")]


def test_first_issue_raises_the_callers_error_and_stops_reading() -> None:
    class Bad(Exception):
        pass

    sink = FirstIssue(lambda issue: Bad(f"{issue.path}: {issue.message}"))
    f = Fields({"a": {"b": True}}, "data", None, sink)  # None: any key (a foreign API grows fields)
    with pytest.raises(Bad, match=r"^data\.a\.b: expected a non-empty string, got true$"):
        Fields(f.data["a"], f.at("a"), None, sink).get("b", validate.text)
    with pytest.raises(Bad, match=r"^data\.missing: required field is missing$"):
        f.get("missing", validate.text)


@pytest.mark.parametrize(
    ("convert", "value", "expected"),
    [
        (validate.instant, "2026-12-01T08:00:00+08:00", datetime(2026, 12, 1, tzinfo=UTC)),
        (validate.day, "2026-12-01", date(2026, 12, 1)),
        (validate.amount_in("JPY"), "1200", Decimal(1200)),
        (validate.codes, ["A", "B"], frozenset({"A", "B"})),
        (validate.within(1, 24, "hours"), 24, 24),
        (validate.of_type(int), 3, 3),
        (validate.choice(("cancel", "hold")), "hold", "hold"),
    ],
)
def test_converters_accept(convert: Any, value: Any, expected: Any) -> None:
    assert convert(value) == expected


@pytest.mark.parametrize(
    ("convert", "value", "message"),
    [
        (validate.instant, "2026-12-01T08:00:00", "has no UTC offset"),
        (validate.instant, 5, "expected an ISO 8601 time with an offset, got 5"),
        (validate.instant, "1800-01-01T00:00:00Z", "expected a year from 1900 to 2999"),
        (validate.day, "2026-13-01", "expected a date YYYY-MM-DD, got '2026-13-01'"),
        (validate.zone, "../../etc/passwd", "expected an IANA time zone"),
        (validate.currency, "XXX", "is not a currency that can be paid"),
        (validate.amount_in("JPY"), "1.5", "more decimals than JPY allows"),
        (validate.codes, ["A", ""], "expected a list of codes"),
        (validate.within(1, 24, "hours"), 25, "expected 1 to 24 hours, got 25"),
        (validate.of_type(int), True, "expected int, got true"),
        (validate.choice(("cancel", "hold")), None, "expected one of cancel, hold, got null"),
        (validate.positive, 0, "expected at least 1"),
    ],
)
def test_converters_say_what_was_expected(convert: Any, value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        convert(value)
    assert message in str(caught.value)
