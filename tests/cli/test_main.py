"""The command group: help, unknown commands, and how errors are shown."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from refundctl.cli.main import COMMANDS, cli, report_error


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_help_lists_every_command_and_goes_to_stdout() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert result.stderr == ""
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_short_help_is_the_first_line_of_each_commands_own_help(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.help is not None
    assert COMMANDS[name][1] == command.help.splitlines()[0]


HELP_IMPORTS = """
import sys
from pathlib import Path
from refundctl.cli.main import main
sys.argv = ["refundctl", "--help"]
try:
    main()
except SystemExit:
    pass
heavy = ("refundctl.cli.", "refundctl.engine", "refundctl.adapters", "starlette", "httpx", "aiohttp")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def test_help_imports_no_command_module_nor_the_http_and_server_stacks() -> None:
    done = subprocess.run([sys.executable, "-c", HELP_IMPORTS], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "['refundctl.cli.main', 'refundctl.cli.streams']"


def test_bare_refundctl_prints_help_on_stdout_and_exits_0() -> None:
    result = CliRunner().invoke(cli, [], prog_name="refundctl")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.startswith("Usage: refundctl [OPTIONS] [COMMAND] [ARGS]...")
    assert "  check " in result.stdout


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["refund-everything"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "No such command 'refund-everything'" in result.stderr


@pytest.mark.parametrize(
    ("tty", "no_color", "coloured"),
    [(True, None, True), (True, "1", False), (True, "", True), (False, None, False)],
)
def test_errors_are_coloured_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, no_color: str | None, coloured: bool
) -> None:
    stream = Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    report_error("bad input\nsecond line")
    text = stream.getvalue()
    assert ("\x1b[" in text) is coloured
    assert text.count("refundctl: error:") == 2
    assert text.endswith("second line\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check"], "Missing argument 'ORDERS...'."),
        (["submit", "orders.json", "--tolerance", "-1"], "Invalid value for '--tolerance': expected a non-negative"),
        (["submit", "orders.json", "--rate", "fast"], "Invalid value for '--rate': expected a positive rate"),
        (["sandbox", "serve", "--error-rate", "2"], "--error-rate: expected a probability between 0 and 1"),
        (["sandbox", "serve", "--latency", "slow"], "--latency: expected MS or MS:JITTER"),
    ],
)
def test_usage_errors_read_like_every_other_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args, prog_name="refundctl")
    assert result.exit_code == 2
    assert result.stdout == ""
    first, usage, hint = result.stderr.splitlines()
    assert first.startswith(f"refundctl: error: {message}")
    assert usage.startswith(f"Usage: refundctl {args[0]}")
    assert hint.startswith("Try 'refundctl ") and hint.endswith(" --help' for help.")


@pytest.mark.parametrize(
    "argv",
    [["check"], ["explain"], ["submit"], ["track"], ["reconcile"], ["smoke"], ["sandbox", "serve"], ["policy", "path"],
     ["policy", "validate"], ["policy", "test"]],
)  # fmt: skip
def test_every_commands_help_ends_with_examples(argv: list[str]) -> None:
    result = CliRunner().invoke(cli, [*argv, "--help"], prog_name="refundctl")
    assert result.exit_code == 0
    tail = result.stdout.rstrip().split("\n\n")[-1].splitlines()
    assert tail[0].strip() == "Examples:"
    assert all(line.lstrip().startswith(("refundctl ", "cp ", "REFUNDCTL_TOKEN")) for line in tail[1:])


@pytest.mark.slow
def test_shell_completion_through_the_installed_entry_point_offers_adapters_and_commands() -> None:
    refundctl = str(Path(sys.executable).with_name("refundctl"))

    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_REFUNDCTL_COMPLETE": "bash_complete"}
        return subprocess.run([refundctl], env=env, capture_output=True, text=True, check=True).stdout.split()

    assert complete("refundctl submit --adapter ", 3) == ["plain,duffel", "plain,sandbox"]
    assert complete("refundctl su", 1) == ["plain,submit"]
    env = {**os.environ, "_REFUNDCTL_COMPLETE": "bash_source"}
    script = subprocess.run([refundctl], env=env, capture_output=True, text=True, check=True).stdout
    assert script.startswith("_refundctl_completion() {")
