"""``refundctl track``: follow submitted refunds to the end, and say loudly when one is late."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from refundctl.adapters import Connection
from refundctl.client import RateLimiter
from refundctl.config import PaymentsTarget, Target
from refundctl.errors import CommandFailed, ExitCode
from refundctl.output import render
from refundctl.track import COLUMNS, find_journal, follow

from .connection import ConnectionFlags, PaymentsFlags
from .options import (
    as_of_option_with,
    concurrency_option,
    connection_options,
    examples,
    journal_to_read_option,
    output_option,
    payments_options,
)


@click.command(
    epilog=examples(
        "refundctl track --journal run.journal.sqlite --sync",
        "refundctl track --journal run.journal.sqlite --overdue || page-the-on-call",
    )
)
@journal_to_read_option
@click.option("--sync", is_flag=True, help="Ask the API for the state of every refund not yet final, and record it.")
@click.option(
    "--overdue",
    "only_overdue",
    is_flag=True,
    help="Show only overdue refunds; exit 5 if there are any (for cron and CI alerts).",
)
@as_of_option_with("Judge age and lateness at this instant.")
@connection_options
@payments_options
@concurrency_option(8, "Status requests in flight at most (--sync).")
@output_option()
def track(
    journal_path: Path | None,
    sync: bool,
    only_overdue: bool,
    as_of: datetime,
    connection: ConnectionFlags,
    payments: PaymentsFlags,
    concurrency: int,
    output_format: str,
) -> None:
    """List submitted refunds, their due dates and the overdue ones.

    Leg by leg (payer, state, status, amount, provider id): age, due date, overdue.
    The due date is the regulation's deadline from the decision, else the
    profile's default_service_level_days after the refund was submitted (an order
    not yet sent has none, and is never overdue). A leg is overdue
    when that date has passed and it has not succeeded (a manual leg too). With
    --sync both providers are asked first: the supplier for supplier legs (its URL
    and adapter are the journal's unless --api/--adapter say otherwise), the
    payments provider for platform legs (the journal's, unless --payments and
    --payments-api say otherwise). Exit 5 with --overdue when any leg is overdue;
    exit 3 when --sync could not reach some legs.
    """

    profile = connection.profile()  # a bad --profile is an error whatever the other flags

    def connect(name: str, api: str | None, adapter: str | None) -> tuple[Target, Connection]:
        """The target that created the refunds: the journal's URL, the token from the flags, environment or profile
        (a routed profile's target of that name)."""
        if name:
            target = connection.routed_target(
                profile,
                name,
                api,
                adapter,
                unrouted=f"the journal's refunds went through target {name!r} of a routed profile: pass that "
                "profile (--profile) to ask each target about its own",
            )
        else:
            target = connection.target(api, adapter)
        return target, connection.connection(target, RateLimiter(target.rate), target.concurrency or concurrency)

    def connect_payments(provider: str | None, api: str | None) -> tuple[PaymentsTarget, Connection] | None:
        target = payments.target(profile, api, provider)
        return None if target is None else (target, connection.connection(target, RateLimiter(None), concurrency))

    journal = journal_path or find_journal(Path.cwd())
    with follow(journal, as_of, connect if sync else None, connect_payments) as followed:
        # The rows stream from the journal a page at a time (-o table holds them to size its columns).
        render(followed.rows(only_overdue), output_format, sys.stdout, columns=COLUMNS)
    sys.stdout.flush()
    for problem in followed.problems:
        click.echo(f"refundctl: could not sync {problem}", err=True)
    click.echo(f"refundctl: {followed.refunds} refund(s), {followed.overdue} overdue", err=True)
    if only_overdue and followed.overdue:
        raise CommandFailed(ExitCode.OVERDUE)
    if followed.problems:
        raise CommandFailed(ExitCode.PARTIAL)
