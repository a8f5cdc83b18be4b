"""The ``refundctl`` command group and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from refundctl.errors import ExitCode, RefundctlError

from .streams import guard_stdout

# name -> ("module:attribute", short help). A command's module is imported only when that
# command runs (or shows its own help): `refundctl --help` lists them from here, without
# importing the engine, the HTTP stack or the sandbox's server (tested against each
# command's own docstring, measured by `make bench`).
COMMANDS = {
    "check": ("refundctl.cli.check:check", "Decide what every order in ORDERS gets back, and why."),
    "explain": ("refundctl.cli.explain:explain", "Explain one order's decision: windows, amounts, overrides."),
    "policy": ("refundctl.cli.policy:policy", "Work with policy files."),
    "sandbox": ("refundctl.cli.sandbox:sandbox", "A local refund API with real faults (demos, tests, CI)."),
    "smoke": ("refundctl.cli.smoke:smoke", "Smoke-test a supplier API on one order, fetch to track."),
    "submit": ("refundctl.cli.submit:submit", "Submit the refund of every eligible order in ORDERS."),
    "settle": (
        "refundctl.cli.settle:settle_command",
        "Record platform legs paid by hand as paid, each with its payment's reference.",
    ),
    "track": ("refundctl.cli.track:track", "List submitted refunds, their due dates and the overdue ones."),
    "report": ("refundctl.cli.report:report", "Merge submit journals (one per shard) into one report."),
    "reconcile": (
        "refundctl.cli.reconcile:reconcile_command",
        "Each order's decided refund against what each payer's provider confirmed.",
    ),
}


def report_error(message: str) -> None:
    """Errors go to stderr, prefixed so they stand out in logs; coloured only on a TTY."""
    prefix = "refundctl: error:"
    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):  # no-color.org: set and not empty
        prefix = click.style(prefix, fg="red", bold=True)
    for line in message.splitlines() or [""]:
        click.echo(f"{prefix} {line}", err=True)


class RefundctlGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name][0].split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            # One error style: a bad flag reads like every other error, then how to call the command.
            report_error(exc.format_message())
            if exc.ctx is not None:
                click.echo(exc.ctx.get_usage(), err=True)
                click.echo(f"Try '{exc.ctx.command_path} --help' for help.", err=True)
            ctx.exit(exc.exit_code)
        except RefundctlError as exc:
            if str(exc):  # a CommandFailed may have nothing left to say
                report_error(str(exc))
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            report_error("interrupted")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except BrokenPipeError:
            # Only where stdout is not guarded (see streams.py); a closed pipe is no bug of ours.
            ctx.exit(int(ExitCode.CLOSED_PIPE))


@click.group(
    cls=RefundctlGroup,
    invoke_without_command=True,  # bare `refundctl` prints help and exits 0, like git and gh
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="refundctl")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Decide, submit and track refunds for travel orders."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def main() -> None:
    guard_stdout()
    try:
        cli.main(prog_name="refundctl")
    except Exception as exc:  # a bug: say so briefly; the traceback only on request
        if os.environ.get("REFUNDCTL_DEBUG"):
            raise
        report_error(f"internal error: {type(exc).__name__}: {exc} (set REFUNDCTL_DEBUG=1 for a traceback)")
        sys.exit(int(ExitCode.FAILURE))
