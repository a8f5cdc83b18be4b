"""``refundctl policy``: validate policy files and run their test cases."""

from __future__ import annotations

from pathlib import Path

import click

from refundctl.errors import ExitCode, PolicyError
from refundctl.policy import load_policies
from refundctl.policy.cases import run_cases


@click.group()
def policy() -> None:
    """Work with policy files."""


@policy.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def validate(directory: Path | None) -> None:
    """Check every policy file under DIRECTORY (default: the shipped policies).

    Prints nothing and exits 0 when all is well; otherwise prints every problem
    as file:line: message and exits 2 (a directory with no policy file is one
    too). Warnings (such as overlapping waivers with
    different effects) are printed as "warning: file:line: message" and exit 0.
    """
    try:
        policies = load_policies(directory)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(int(exc.exit_code)) from None
    for warning in policies.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not (policies.policies or policies.waivers or policies.regulations):
        # Almost always a wrong path; check would send every order to manual review.
        click.echo(f"{policies.directory}: no policy files (*.toml outside tests/)", err=True)
        raise SystemExit(int(ExitCode.BAD_INPUT))


@policy.command("test")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="Also list the cases that pass.")
def test_cases(directory: Path | None, verbose: bool) -> None:
    """Run the policy test cases in DIRECTORY/tests (default: the shipped policies).

    Prints each failing case as file:line: name and what differs, then
    "N passed, M failed"; exits 9 if any case failed, 2 if a case file is invalid.
    """
    policies = load_policies(directory)
    results = run_cases(policies.directory, policies)
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
    if failed or not results:
        raise SystemExit(int(ExitCode.TESTS_FAILED))
