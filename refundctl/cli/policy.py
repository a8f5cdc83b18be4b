"""``refundctl policy``: validate policy files and run their test cases."""

from __future__ import annotations

from pathlib import Path

import click

from refundctl.config import resolve_policy_dir
from refundctl.errors import CommandFailed, ExitCode, PolicyError, Problem
from refundctl.policy.loader import TESTS_DIR, load_policies
from refundctl.policy_cases import run_cases

from .options import examples


@click.group()
def policy() -> None:
    """Work with policy files.

    The policy directory is --policies DIR (or DIRECTORY where a command takes
    one), else $REFUNDCTL_POLICIES, else the config profile's `policies`, else
    the set shipped with refundctl.
    """


_DIRECTORY = click.argument(
    "directory", required=False, envvar="REFUNDCTL_POLICIES", type=click.Path(file_okay=False, path_type=Path)
)


@policy.command(epilog=examples('cp -r "$(refundctl policy path)" my-policies'))
@_DIRECTORY
def path(directory: Path | None) -> None:
    """Print the policy directory in use (and, on stderr, where that choice came from).

    Start your own set from the shipped one:

      cp -r "$(refundctl policy path)" my-policies && export REFUNDCTL_POLICIES=$PWD/my-policies
    """
    found, source = resolve_policy_dir(directory)
    click.echo(str(found.resolve()))
    click.echo(f"refundctl: policies: {source}", err=True)


@policy.command(epilog=examples("refundctl policy validate", "refundctl policy validate my-policies/"))
@_DIRECTORY
def validate(directory: Path | None) -> None:
    """Check every policy file under DIRECTORY (default: see `refundctl policy --help`).

    Prints nothing and exits 0 when all is well; otherwise prints every problem
    as file:line: message and exits 2 (a directory with no policy file is one
    too). Warnings (such as overlapping waivers with
    different effects) are printed as "warning: file:line: message" and exit 0.
    """
    try:
        policies = load_policies(resolve_policy_dir(directory)[0])
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise CommandFailed(exc.exit_code) from None
    for warning in policies.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not (policies.policies or policies.waivers or policies.regulations):
        # Almost always a wrong path; check would send every order to manual review.
        click.echo(f"{policies.directory}: no policy files (*.toml outside tests/)", err=True)
        raise CommandFailed(ExitCode.BAD_INPUT)


@policy.command("test", epilog=examples("refundctl policy test", "refundctl policy test my-policies/ -v"))
@_DIRECTORY
@click.option("-v", "--verbose", is_flag=True, help="Also list the cases that pass.")
def test_cases(directory: Path | None, verbose: bool) -> None:
    """Run the policy test cases in DIRECTORY/tests (default: see `refundctl policy --help`).

    Prints each failing case as file:line: name and what differs, then
    "N passed, M failed"; exits 9 if any case failed, 2 if a case file is invalid.
    """
    policies = load_policies(resolve_policy_dir(directory)[0])
    results = run_cases(policies.directory, policies)
    if not results:
        cases = str(policies.directory / TESTS_DIR)
        raise PolicyError([Problem(cases, None, None, "no policy test cases (expected *.toml case files here)")])
    for result in results:
        where = f"{result.file}:{result.line}" if result.line else result.file
        if result.failures:
            click.echo(f"FAIL {where}: {result.name}")
            for failure in result.failures:
                click.echo(f"     {failure}")
        elif verbose:
            click.echo(f"ok   {where}: {result.name}")
    failed = sum(1 for r in results if r.failures)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise CommandFailed(ExitCode.TESTS_FAILED)
