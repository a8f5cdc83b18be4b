"""``policy validate`` names the right line whatever TOML shape holds the bad value:
arrays of inline tables over several lines, dotted keys, quoted keys, and multi-line
strings that contain what looks like a table header."""

from __future__ import annotations

from pathlib import Path

import pytest

from refundctl.errors import PolicyError
from refundctl.policy.loader import load_policies
from refundctl.policy.locate import index_lines, locate
from tests.support.policies import AIRLINE, line_of

HEAD = """[policy]
id = "zephyr-air"
kind = "airline"
carriers = ["ZA"]
currency = "CNY"
"""


def first_problem(tmp_path: Path, text: str) -> str:
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path)
    return str(info.value.problems[0]).removeprefix(f"{tmp_path / 'p.toml'}:")


def test_an_array_of_inline_tables_over_several_lines_points_at_the_element(tmp_path: Path) -> None:
    text = (
        HEAD
        + """
[[fares]]
id = "standard"
classes = ["M"]
windows = [
  { id = "early", until = { hours_before = 168 }, penalty = { percent = "10" } },
  { id = "late", penalty = { percent = "110" } },
]
"""
    )
    assert first_problem(tmp_path, text).startswith("12: fares[0].windows[1].penalty.percent: ")


def test_a_dotted_key_points_at_its_own_line(tmp_path: Path) -> None:
    text = (
        HEAD
        + """
[[fares]]
id = "standard"
classes = ["M"]

[[fares.windows]]
id = "late"
penalty.amount = "20.001"
"""
    )
    assert first_problem(tmp_path, text).startswith("13: fares[0].windows[0].penalty.amount: ")


def test_a_multi_line_string_holding_a_header_is_not_a_header(tmp_path: Path) -> None:
    text = HEAD.replace('id = "zephyr-air"\n', 'id = "zephyr-air"\nname = """\n[[fares]]\n[[fares.windows]]\n"""\n')
    text += """
[[fares]]
id = "standard"
classes = ["M"]

[[fares.windows]]
id = "late"
penalty = { percent = "110" }
"""
    assert first_problem(tmp_path, text).startswith("17: fares[0].windows[0].penalty.percent: ")


def test_quoted_keys_and_literal_strings() -> None:
    text = """[policy]
'id' = 'x ] [[y]]'
"a.b" = 1

[ "fares" ]
"kind" = '''
[[q]]'''
next = 2
"""
    lines = index_lines(text)
    assert locate(lines, "policy.id") == 2
    assert locate(lines, "policy.a.b") == 3
    assert locate(lines, "fares.kind") == 6
    assert locate(lines, "fares.next") == 8
    assert locate(lines, "q") is None


# ---- locating lines ------------------------------------------------------------------------------


def test_index_lines_resolves_arrays_of_tables() -> None:
    lines = index_lines(AIRLINE)
    assert lines["fares[1]"] == line_of(AIRLINE, "[[fares]]", nth=2)
    assert lines["fares[1].windows[2]"] == line_of(AIRLINE, "[[fares.windows]]", nth=4)
    assert lines["fares[0].no_show"] == line_of(AIRLINE, "[fares.no_show]")
    assert lines["fares[2].classes"] == line_of(AIRLINE, 'classes = ["V"')
    # A key inside an inline table falls back to the line of the inline table.
    assert locate(lines, "fares[1].windows[1].penalty.min") == line_of(AIRLINE, 'percent = "30"')
    assert locate(lines, "nowhere") is None
