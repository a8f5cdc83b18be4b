"""``refundctl settle``: record platform legs paid by hand (journaled ``manual``) as paid, with their references."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from refundctl.errors import ConfigError
from refundctl.output import render
from refundctl.settle import COLUMNS, HandPayment, read_payments, settle
from refundctl.track import find_journal

from .options import examples, existing_journal_option, output_option


@click.command(
    epilog=examples(
        "refundctl settle --journal run.journal.sqlite FRONTLINE-1 --reference BANK-2026-0042",
        "refundctl settle --journal run.journal.sqlite --from paid-by-hand.csv -o jsonl",
    )
)
@existing_journal_option("record the hand payments in")
@click.argument("order_id", required=False)
@click.option("--reference", help="The hand payment's reference (a bank transfer's, a voucher's): with ORDER_ID.")
@click.option(
    "--from",
    "source",
    metavar="FILE",
    help="Hand payments to record: CSV with the header order_id,reference, or JSON Lines of "
    '{"order_id": ..., "reference": ...}; - for stdin.',
)
@output_option()
def settle_command(
    journal_path: Path | None, order_id: str | None, reference: str | None, source: str | None, output_format: str
) -> None:
    """Record platform legs paid by hand as paid, each with its payment's reference.

    Only a platform leg journaled manual (submit had no payments provider) moves,
    to paid_by_hand: reconcile then confirms it, track shows it succeeded, report
    counts its order settled by hand, and a submit rerun no longer reports it left
    to pay. All are recorded or none: an order not in the journal, a leg that is
    not manual, or one recorded before with another reference is refused (exit 2).
    The same reference again changes nothing (result already_recorded), so a file
    can be applied twice. Takes the journal's lock: not while a submit runs on it.
    """
    if source is not None and (order_id is not None or reference is not None):
        raise ConfigError("give ORDER_ID --reference REF, or --from FILE, not both")
    if source is None and (order_id is None or reference is None or not reference.strip()):
        raise ConfigError("give ORDER_ID and --reference REF (the hand payment's reference), or --from FILE")
    if source is not None:
        payments = read_payments(source)
    else:
        assert order_id is not None and reference is not None
        payments = [HandPayment(order_id, reference)]
    rows = settle(journal_path or find_journal(Path.cwd()), payments)
    render(rows, output_format, sys.stdout, columns=COLUMNS)
    sys.stdout.flush()
    recorded = sum(row["result"] == "recorded" for row in rows)
    click.echo(
        f"refundctl: {recorded} platform leg(s) recorded paid by hand, {len(rows) - recorded} already recorded",
        err=True,
    )
