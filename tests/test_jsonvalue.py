"""The one decoder for untrusted JSON (order records, sandbox bodies): bounded depth, no lone surrogates."""

from __future__ import annotations

import pytest

from refundctl.jsonvalue import MAX_DEPTH, JsonError, loads, too_deep


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("text", [nested(MAX_DEPTH), '{"a": ' * (MAX_DEPTH - 1) + "[]" + "}" * (MAX_DEPTH - 1)])
def test_nesting_up_to_the_bound_is_decoded(text: str) -> None:
    assert loads(text) is not None
    assert loads(text.encode()) == loads(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1024, 1025, 5000])
def test_nesting_past_the_bound_is_refused_the_same_way(depth: int) -> None:
    with pytest.raises(JsonError, match=f"^JSON nested deeper than {MAX_DEPTH} levels"):
        loads(nested(depth))


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert loads('["' + "[" * 100 + '"]') == ["[" * 100]


def test_the_walk_counts_objects_and_lists() -> None:
    assert not too_deep({"a": [{"b": []}]}, limit=4)
    assert too_deep({"a": [{"b": [[]]}]}, limit=4)
    assert not too_deep("scalar", limit=0)


@pytest.mark.parametrize("text", ['"\\ud800"', '"\\udfff"', '["a", "\\ud83d"]'])
def test_lone_surrogates_are_refused(text: str) -> None:
    with pytest.raises(JsonError, match="surrogate"):
        loads(text)


def test_errors_say_where() -> None:
    with pytest.raises(JsonError) as caught:
        loads('{\n  "a": 1,\n  oops\n}')
    assert (caught.value.line, caught.value.column) == (3, 3)
    assert caught.value.message.startswith("invalid JSON: ") and caught.value.message.endswith("(column 3)")


def test_huge_numbers_are_refused_or_become_floats() -> None:
    with pytest.raises(JsonError, match="infinity"):
        loads("9" * 5000)
    assert isinstance(loads("9" * 30), float)  # no field accepts a float where it wants an integer
