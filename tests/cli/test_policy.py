"""Where the policies come from: --policies over $REFUNDCTL_POLICIES over the config
profile's ``policies`` over the set shipped with refundctl; ``refundctl policy path``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from refundctl.policy.loader import SHIPPED
from tests.support.policies import AIRLINE, HOTEL, line_of, replaced

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "orders.jsonl")


def policy_copy(target: Path, penalty: str) -> Path:
    """The shipped policies with the standard fare's first window at another percentage."""
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("tests"))
    airline = target / "airlines" / "zephyr-air.toml"
    airline.write_text(airline.read_text().replace('percent = "10"', f'percent = "{penalty}"', 1))
    return target


def write_profile(tmp_path: Path, policies: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'profile = "ops"\n[profiles.ops]\npolicies = "{policies}"\n')
    return config


def za1001_refund(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(cli, ["check", EXAMPLE, "--as-of", "2026-11-25T12:00:00Z", "-o", "csv", *args], env=env)
    assert result.exit_code == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("ZA-1001,"))
    return row.split(",")[5]  # refund


def test_policy_path_prints_the_shipped_set_by_default() -> None:
    result = CliRunner().invoke(cli, ["policy", "path"])
    assert result.exit_code == 0
    assert result.stdout == f"{SHIPPED.resolve()}\n"
    assert result.stderr == "refundctl: policies: shipped with refundctl\n"


def test_profile_policies_relative_to_the_config_file_over_the_shipped_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_copy(tmp_path / "mine", "20")
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(write_profile(tmp_path, "mine")))
    runner = CliRunner()
    path = runner.invoke(cli, ["policy", "path"])
    assert path.stdout == f"{(tmp_path / 'mine').resolve()}\n"
    assert path.stderr.startswith("refundctl: policies: profile 'ops' in ")
    # 20% of 1000.00 instead of 10%: 100.00 less than the shipped 980.00
    assert za1001_refund(runner) == "880.00"


def test_environment_over_profile_and_flag_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy_copy(tmp_path / "profile", "20")
    policy_copy(tmp_path / "env", "30")
    policy_copy(tmp_path / "flag", "40")
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(write_profile(tmp_path, "profile")))
    runner = CliRunner()
    env = {"REFUNDCTL_POLICIES": str(tmp_path / "env")}
    assert za1001_refund(runner, env=env) == "780.00"
    assert za1001_refund(runner, "--policies", str(tmp_path / "flag"), env=env) == "680.00"
    path = runner.invoke(cli, ["policy", "path"], env=env)
    assert (path.stdout, path.stderr) == (
        f"{tmp_path / 'env'}\n",
        "refundctl: policies: --policies or $REFUNDCTL_POLICIES\n",
    )


def test_profile_policies_must_be_a_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('profile = "ops"\n[profiles.ops]\npolicies = 3\n')
    monkeypatch.setenv("REFUNDCTL_CONFIG", str(config))
    result = CliRunner().invoke(cli, ["policy", "path"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "config.toml:3: profiles.ops.policies: expected a non-empty string, got 3" in result.stderr


# ---- refundctl policy validate --------------------------------------------------------------------


def test_validate_shipped_policies_is_silent() -> None:
    result = CliRunner().invoke(cli, ["policy", "validate"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    result = CliRunner().invoke(cli, ["policy", "validate", str(SHIPPED)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    air = replaced(AIRLINE, 'percent = "30"', 'percent = "130"')
    hotel = replaced(HOTEL, 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Atlantis"')
    (tmp_path / "airlines").mkdir()
    (tmp_path / "hotels").mkdir()
    (tmp_path / "airlines" / "a.toml").write_text(air, encoding="utf-8")
    (tmp_path / "hotels" / "h.toml").write_text(hotel, encoding="utf-8")
    result = CliRunner().invoke(cli, ["policy", "validate", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'airlines' / 'a.toml'}:{line_of(air, '130')}: fares[1].windows[1].penalty.percent: "
        'expected a percentage from "0" to "100" as a string, got \'130\'',
        f"{tmp_path / 'hotels' / 'h.toml'}:{line_of(hotel, 'Atlantis')}: policy.timezone: "
        "expected an IANA time zone such as Asia/Shanghai, got 'Asia/Atlantis'",
    ]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_missing_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["policy", "validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "policy directory does not exist" in result.stderr


def test_validate_a_directory_without_policies_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "cases.toml").write_text("orders = 'o.jsonl'\n")  # test cases are not policies
    result = CliRunner().invoke(cli, ["policy", "validate", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{tmp_path.resolve()}: no policy files (*.toml outside tests/)\n"
