"""``refundctl report``: submit journals (one per shard) merged into one report, led by the share settled without
a person."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from refundctl.errors import CommandFailed, ExitCode
from refundctl.output import render
from refundctl.report import SECTIONS, load_report

from .options import as_of_option_with, examples, output_option

SHOWN_REASONS = 5  # review reasons in the summary on stderr; --section reasons gives them all


@click.command(
    epilog=examples(
        "refundctl report orders.shard-*-of-3.journal.sqlite",
        "refundctl report orders.shard-*-of-3.journal.sqlite --section reasons -o csv",
    )
)
@click.argument("journals", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--section",
    type=click.Choice(tuple(SECTIONS)),
    default="summary",
    show_default=True,
    help="What goes to stdout as data: summary (orders settled without a person, against paid_by_hand, "
    "manual_review, needs_evidence and not settled), reasons (review reasons, most frequent first), fates (per "
    "fate and currency), payers (per payer and currency), orders (every order's fate).",
)
@click.option(
    "--allow-mixed",
    is_flag=True,
    help="Merge journals of different policy digests or overlapping shards anyway (an order in several "
    "journals counts once, as the first journal named records it).",
)
@as_of_option_with("Judge lateness at this instant.")
@output_option()
def report(journals: tuple[Path, ...], section: str, allow_mixed: bool, as_of: datetime, output_format: str) -> None:
    """Merge submit journals (one per shard) into one report.

    Every order the runs took: the share decided and settled without a person,
    against those paid by hand (settle), manual_review, needs_evidence and orders
    not settled yet; the
    review reasons, most frequent first; fates per currency; legs per payer
    (supplier, platform) and currency, with the overdue ones. The --section on
    stdout (default summary); without --section, the other sections follow on
    stderr. Journals of different policies or overlapping shards are refused
    unless --allow-mixed. Exit 0, 5 when any leg is overdue, 2 for journals
    refused, missing or damaged.
    """
    merged = load_report(journals, as_of, allow_mixed=allow_mixed)
    render(merged.rows(section), output_format, sys.stdout, columns=SECTIONS[section])
    sys.stdout.flush()
    if section == "summary":
        reasons = merged.review_reasons()
        render(reasons[:SHOWN_REASONS], "table", sys.stderr, columns=SECTIONS["reasons"])
        if len(reasons) > SHOWN_REASONS:
            click.echo(f"... and {len(reasons) - SHOWN_REASONS} more review reason(s) (--section reasons)", err=True)
        for other in ("fates", "payers"):
            render(merged.rows(other), "table", sys.stderr, columns=SECTIONS[other])
    for note in merged.notes:
        click.echo(f"refundctl: {note}", err=True)
    late = sum(row["overdue"] for row in merged.payers())
    click.echo(f"refundctl: {merged.sources()}", err=True)
    click.echo(f"refundctl: {merged.headline()}; {late} leg(s) overdue", err=True)
    if late:
        raise CommandFailed(ExitCode.OVERDUE)
