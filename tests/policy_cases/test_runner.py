"""``refundctl policy test``: the shipped cases pass; failures and bad case files are reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.errors import ExitCode
from refundctl.policy.loader import SHIPPED
from tests.support.policies import policy_copy

CASE = """orders = "orders.jsonl"

[[case]]
name = "flex at departure"
order = "ZA-FLEX"
as_of = 2026-12-01T08:00:00+08:00
expect = {expect}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["policy", "test", *args])
    return result.exit_code, result.stdout, result.stderr


def cases_dir(tmp_path: Path, expect: str) -> Path:
    directory = policy_copy(tmp_path / "p")
    (directory / "tests").mkdir()
    (directory / "tests" / "orders.jsonl").write_text((SHIPPED / "tests" / "orders.jsonl").read_text())
    (directory / "tests" / "c.toml").write_text(CASE.replace("{expect}", expect))
    return directory


def test_shipped_cases_pass() -> None:
    code, out, err = run()
    assert (code, err) == (0, "")
    assert out.endswith(" passed, 0 failed\n")
    assert int(out.split()[0]) >= 38


def test_a_failing_case_says_where_and_what_differs(tmp_path: Path) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1000.00", rules = ["zephyr-air/flex/no-show"] }')
    code, out, err = run(str(directory))
    assert (code, err) == (9, "")
    path = directory.resolve() / "tests" / "c.toml"
    assert out == (
        f"FAIL {path}:3: flex at departure\n"
        "     refund: expected '1000.00', got '1060.00'\n"
        "     rules: expected zephyr-air/flex/no-show to fire; fired: zephyr-air/flex/ancillaries, "
        "zephyr-air/flex/before-departure, zephyr-air/flex/fees, zephyr-air/flex/taxes\n"
        "0 passed, 1 failed\n"
    )


def test_a_passing_case_in_verbose_mode(tmp_path: Path) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1060.00" }')
    code, out, _ = run(str(directory), "-v")
    assert code == 0
    assert out.endswith(": flex at departure\n1 passed, 0 failed\n")


def test_a_bad_case_file_is_an_input_error_with_file_and_line(tmp_path: Path) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1060.00", refnud = "1" }')
    code, out, err = run(str(directory))
    assert (code, out) == (2, "")
    path = directory.resolve() / "tests" / "c.toml"
    assert err.startswith(f"refundctl: error: {path}:7: case[0].expect.refnud: unknown key")


def test_an_unknown_order_is_reported(tmp_path: Path) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1060.00" }')
    case = directory / "tests" / "c.toml"
    case.write_text(case.read_text().replace('"ZA-FLEX"', '"ZA-NONE"'))
    code, _, err = run(str(directory))
    assert code == 2
    assert "case[0].order: no order 'ZA-NONE' in the orders file" in err


def test_case_and_order_files_with_a_byte_order_mark(tmp_path: Path) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1060.00" }')
    for name in ("c.toml", "orders.jsonl"):
        path = directory / "tests" / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    code, out, err = run(str(directory))
    assert (code, out, err) == (0, "1 passed, 0 failed\n", "")


def test_a_directory_without_test_cases_is_a_usage_error_not_a_failed_run(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "policies", ignore=shutil.ignore_patterns("tests"))
    result = CliRunner().invoke(cli, ["policy", "test", str(tmp_path / "policies")])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert "policies/tests: no policy test cases (expected *.toml case files here)" in result.stderr


def test_a_case_file_that_is_not_utf8_is_located_not_an_internal_error(tmp_path: Path) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1060.00" }')
    case = directory / "tests" / "c.toml"
    case.write_bytes(case.read_bytes().replace(b"flex at departure", b"flex \xe0 departure"))
    code, out, err = run(str(directory))
    assert (code, out) == (2, "")
    assert err.startswith(f"refundctl: error: {directory.resolve() / 'tests' / 'c.toml'}: not UTF-8 text (byte ")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"[1, 2]\n", "expected one order (a JSON object) per line"), (b'"\xff"\n', "not UTF-8 text (byte ")],
)
def test_an_orders_file_with_a_non_object_line_or_bad_bytes_is_located(
    tmp_path: Path, content: bytes, message: str
) -> None:
    directory = cases_dir(tmp_path, '{ refund = "1060.00" }')
    orders = directory / "tests" / "orders.jsonl"
    orders.write_bytes(orders.read_bytes() + content)
    code, out, err = run(str(directory))
    assert (code, out) == (2, "")
    assert "orders: " in err and message in err
