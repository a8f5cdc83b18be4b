"""``refundctl reconcile``: per order, the decided refund against each payer's confirmed leg; totals per payer."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from refundctl.errors import CommandFailed, ExitCode
from refundctl.output import render
from refundctl.reconcile import COLUMNS, TOTAL_COLUMNS, reconcile_journal
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
    # The orders stream from the journal a page at a time, summed as they pass (-o table holds the rows to size
    # its columns); the totals follow them.
    with reconcile_journal(journal_path or find_journal(Path.cwd())) as orders:
        if only_totals:
            for _ in orders:
                pass
            render(orders.totals(), output_format, sys.stdout, columns=TOTAL_COLUMNS)
        else:
            render((o.to_row() for o in orders), output_format, sys.stdout, columns=COLUMNS)
            sys.stdout.flush()
            render(orders.totals(), "table", sys.stderr, columns=TOTAL_COLUMNS)
    click.echo(f"refundctl: {orders.orders} order(s), {orders.differ} not reconciled", err=True)
    if orders.differ:
        raise CommandFailed(ExitCode.MISMATCH)
