"""``refundctl reconcile``: per order, the decided refund against each payer's confirmed leg; totals per payer."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from refundctl.errors import CommandFailed, ExitCode
from refundctl.output import render
from refundctl.reconcile import COLUMNS, TOTAL_COLUMNS, reconcile_journal, totals
from refundctl.track import find_journal

from .options import examples, journal_to_read_option, output_option


@click.command(
    "reconcile",
    epilog=examples(
        "refundctl reconcile --journal run.journal.sqlite",
        "refundctl reconcile --journal run.journal.sqlite --totals -o csv",
    ),
)
@journal_to_read_option
@click.option("--totals", "only_totals", is_flag=True, help="Print only the totals per payer and currency.")
@output_option()
def reconcile_command(journal_path: Path | None, only_totals: bool, output_format: str) -> None:
    """Each order's decided refund against what each payer's provider confirmed.

    A leg is confirmed by the amount its provider accepted once the refund succeeded
    (run `track --sync` first). Rows per order on stdout; the totals per payer and
    currency (what the supplier and the platform each paid) on stderr, or on stdout
    with --totals. Exit 0 when every order reconciles, 7 when any differs.
    """
    orders = reconcile_journal(journal_path or find_journal(Path.cwd()))
    summary = totals(orders)
    if only_totals:
        render(summary, output_format, sys.stdout, columns=TOTAL_COLUMNS)
    else:
        render((o.to_row() for o in orders), output_format, sys.stdout, columns=COLUMNS)
        sys.stdout.flush()
        render(summary, "table", sys.stderr, columns=TOTAL_COLUMNS)
    differ = [o for o in orders if o.difference != 0]
    click.echo(f"refundctl: {len(orders)} order(s), {len(differ)} not reconciled", err=True)
    if differ:
        raise CommandFailed(ExitCode.MISMATCH)
