"""``refundctl check``: decide what every order gets back, and why."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click

from refundctl.check import DEFAULT_JOBS, bad_records, check_report_path, default_report, run_check, write_report
from refundctl.config import resolve_policy_dir
from refundctl.errors import CommandFailed, ExitCode
from refundctl.money import fmt
from refundctl.orders.shards import Shard
from refundctl.output.progress import Progress

from .options import as_of_option, examples, output_option, policies_option, shard_option
from .streams import stdout_closed


@click.command(
    epilog=examples(
        "refundctl check orders.jsonl --as-of 2026-11-25T12:00:00Z",
        "refundctl check orders.csv -o jsonl --keep-going > decisions.jsonl",
        "refundctl check orders.jsonl -o jsonl --shard 0/4 > decisions-0.jsonl",
    )
)
@click.argument("orders", nargs=-1, required=True)
@policies_option
@as_of_option
@output_option()
@click.option("--keep-going", is_flag=True, help="Decide the good records; report the bad ones instead of stopping.")
@click.option(
    "--error-report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --keep-going: write bad records here as JSON Lines (default: beside the first input).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Worker processes deciding orders (1: decide in this process). Output is the same for any value.",
)
@shard_option
def check(
    orders: tuple[str, ...],
    policy_dir: Path | None,
    as_of: datetime,
    output_format: str,
    keep_going: bool,
    error_report: Path | None,
    jobs: int,
    shard: Shard | None,
) -> None:
    """Decide what every order in ORDERS gets back, and why.

    ORDERS are files, or - for stdin. Orders may be a JSON object, a JSON array, JSON Lines or CSV. By default a bad
    record stops the run before any output (exit 2); with --keep-going the good
    ones are decided and every bad one is listed on stderr and in an error report.
    """
    if error_report is not None and not keep_going:
        raise click.BadOptionUsage(
            "error_report", "--error-report goes with --keep-going (without it a bad record stops the run)"
        )
    report = error_report or default_report(orders[0])
    if keep_going:
        check_report_path(report)
    policy_dir, _ = resolve_policy_dir(policy_dir)
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty(), noun="orders decided", failed_label="bad")
    tally = run_check(
        orders,
        policy_dir,
        as_of,
        output_format,
        sys.stdout,
        keep_going=keep_going,
        jobs=jobs,
        shard=shard,
        on_problem=lambda problem: click.echo(f"refundctl: bad record: {problem}", err=True),
        stop=stdout_closed,
        on_records=lambda records, bad: progress.tick(records, failed=bad),
    )
    progress.close()
    _summary(tally.counts, tally.totals)
    if tally.stopped:
        click.echo("refundctl: output closed by its reader; the remaining orders were not decided", err=True)
    if tally.problems:
        records = bad_records(tally.problems)
        write_report(report, records)
        counted = f"{len(records)} bad record(s) with {len(tally.problems)} problem(s)"
        click.echo(f"refundctl: {counted}; report written to {report}", err=True)
        raise CommandFailed(ExitCode.BAD_INPUT)
    if tally.stopped:
        raise CommandFailed(ExitCode.CLOSED_PIPE)


def _summary(counts: Counter[str], totals: dict[str, Decimal]) -> None:
    decided = sum(counts.values())
    parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    money = ", ".join(f"{fmt(v, c)} {c}" for c, v in sorted(totals.items()))
    click.echo(f"refundctl: {decided} order(s) decided: {parts or 'none'}; refundable now {money or '0'}", err=True)
