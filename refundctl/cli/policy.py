"""``refundctl policy``: validate policy files (and, later, run their test cases)."""

from __future__ import annotations

from pathlib import Path

import click

from refundctl.errors import PolicyError
from refundctl.policy import load_policies


@click.group()
def policy() -> None:
    """Work with policy files."""


@policy.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def validate(directory: Path | None) -> None:
    """Check every policy file under DIRECTORY (default: the shipped policies).

    Prints nothing and exits 0 when all is well; otherwise prints every problem
    as file:line: message and exits 2.
    """
    try:
        load_policies(directory)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(int(exc.exit_code)) from None
