"""``refundctl explain``: one order's decision, every policy considered and why."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from refundctl.config import resolve_policy_dir
from refundctl.engine.explain import explain as build
from refundctl.errors import InputError, Problem
from refundctl.orders import iter_records
from refundctl.output.explain import render_text
from refundctl.policy.loader import load_policies

from .options import as_of_option, examples, policies_option


@click.command(epilog=examples("refundctl explain ZA-1001 --orders orders.jsonl --as-of 2026-11-25T12:00:00Z"))
@click.argument("order_id")
@click.option(
    "--orders", "orders_file", required=True, help="File holding the order (JSON, JSON Lines or CSV; - for stdin)."
)
@policies_option
@as_of_option
@click.option("-o", "--output", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people; json for tools.")  # fmt: skip
def explain(order_id: str, orders_file: str, policy_dir: Path | None, as_of: datetime, output_format: str) -> None:
    """Explain one order's decision: windows, amounts, overrides.

    For ORDER_ID: windows in UTC and local time, amounts and rounding, waivers and
    regulations considered, and which one won.
    """
    policies = load_policies(resolve_policy_dir(policy_dir)[0])
    found = None
    count = 0
    bad: list[Problem] = []
    for record in iter_records([orders_file]):
        count += 1
        bad.extend(record.problems)
        if record.order is not None and record.order.id == order_id:
            found = record.order
            break
    if found is None:
        # The order may be one of the bad records: show their problems with the answer.
        missing = Problem(orders_file, None, "id", f"no valid order {order_id!r} among the {count} record(s) read")
        raise InputError([missing, *bad])
    data = build(found, policies, as_of)
    if output_format == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(data), nl=False)
