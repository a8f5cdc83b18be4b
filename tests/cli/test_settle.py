"""``refundctl settle``: a platform leg journaled manual by a real submit (no payments provider) is recorded paid
by hand; afterwards track, reconcile, report and a submit rerun see it settled. Every refusal exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.errors import ExitCode
from tests.support.builders import GOODWILL, cli_env, flight
from tests.support.sandbox import RunningSandbox, SandboxFactory

AS_OF = "2026-11-25T12:00:00Z"
SUPPLIER_ONLY = flight(id="SUP-1", segments=[{**GOODWILL["segments"][0], "flight": "ZA1503"}])


def invoke(tmp_path: Path, *args: str, token: str = "unused", stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=cli_env(tmp_path, token), input=stdin)


def submitted(box: RunningSandbox, tmp_path: Path, orders: Path) -> Result:
    journal = str(tmp_path / "orders.journal.sqlite")
    return invoke(tmp_path, "submit", str(orders), "--api", box.base_url, "--as-of", AS_OF, "--journal", journal,
                  "-o", "json", token=box.token)  # fmt: skip


def by_order(result: Result) -> dict[str, Any]:
    return {row["order_id"]: row for row in json.loads(result.stdout)}


def test_a_manual_leg_paid_by_hand_is_settled_everywhere(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    orders = tmp_path / "orders.jsonl"
    orders.write_text(json.dumps(GOODWILL) + "\n" + json.dumps(SUPPLIER_ONLY) + "\n")
    box = sandbox_factory(orders=[orders], settle_after=0)
    first = submitted(box, tmp_path, orders)
    assert first.exit_code == ExitCode.PARTIAL and by_order(first)["GW-1"]["fate"] == "manual"
    journal = str(tmp_path / "orders.journal.sqlite")

    paid = invoke(tmp_path, "settle", "--journal", journal, "GW-1", "--reference", "BANK-2026-0042", "-o", "csv")
    assert paid.exit_code == ExitCode.OK, paid.output
    assert (
        paid.stdout
        == "order_id,payer,amount,currency,reference,result\nGW-1,platform,20.00,CNY,BANK-2026-0042,recorded\n"
    )
    assert paid.stderr == "refundctl: 1 platform leg(s) recorded paid by hand, 0 already recorded\n"

    tracked = invoke(tmp_path, "track", "--journal", journal, "-o", "json", "--as-of", "2027-01-01T00:00:00Z")
    platform = [(r["state"], r["status"], r["refund_id"], r["overdue"]) for r in json.loads(tracked.stdout)
                if r["payer"] == "platform"]  # fmt: skip
    assert platform == [("paid_by_hand", "succeeded", "BANK-2026-0042", False)]

    reconciled = invoke(tmp_path, "reconcile", "--journal", journal, "-o", "json")
    gw = next(r for r in json.loads(reconciled.stdout) if r["order_id"] == "GW-1")
    assert (gw["platform_confirmed"], gw["reconciled"], gw["note"]) == (
        "20.00",
        True,
        "platform paid by hand (BANK-2026-0042)",
    )

    report = invoke(tmp_path, "report", journal, "--as-of", AS_OF, "-o", "json")
    assert {r["handling"]: r["orders"] for r in json.loads(report.stdout)}["paid_by_hand"] == 1
    assert "1 paid_by_hand" in report.stderr

    again = submitted(box, tmp_path, orders)  # nothing left to pay: the rerun is done
    assert again.exit_code == ExitCode.OK, again.stderr
    assert by_order(again)["GW-1"]["fate"] == "paid_by_hand" and "to pay by hand" not in again.stderr
    assert box.ledger.refunds_of("pi_3GW1") == []  # the provider never saw it

    twice = invoke(tmp_path, "settle", "--journal", journal, "GW-1", "--reference", "BANK-2026-0042", "-o", "jsonl")
    assert twice.exit_code == ExitCode.OK and json.loads(twice.stdout)["result"] == "already_recorded"
    other = invoke(tmp_path, "settle", "--journal", journal, "GW-1", "--reference", "BANK-9")
    assert other.exit_code == ExitCode.BAD_INPUT and other.stdout == ""
    assert other.stderr.splitlines() == [
        "refundctl: error: order GW-1's platform leg was recorded paid by hand with reference 'BANK-2026-0042', "
        "not 'BANK-9'; a recorded payment is never changed",
        "refundctl: error: nothing recorded: 1 of 1 refused",
    ]
    supplier_only = invoke(tmp_path, "settle", "--journal", journal, "SUP-1", "--reference", "R")
    assert supplier_only.exit_code == ExitCode.BAD_INPUT and "SUP-1 has no platform leg" in supplier_only.stderr


def test_a_file_of_payments_from_stdin_with_a_bad_record_records_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "run.journal.sqlite"
    result = invoke(tmp_path, "settle", "--journal", str(journal), "--from", "-",
                    stdin="order_id,reference\nGW-1,\n")  # fmt: skip
    assert result.exit_code == ExitCode.BAD_INPUT and result.stdout == ""
    assert result.stderr == "refundctl: error: <stdin>:2: reference: required field is missing\n"


def test_usage_errors(tmp_path: Path) -> None:
    journal = str(tmp_path / "run.journal.sqlite")
    both = invoke(tmp_path, "settle", "--journal", journal, "GW-1", "--reference", "R", "--from", "x.csv")
    assert both.exit_code == ExitCode.BAD_INPUT and both.stdout == ""
    assert both.stderr == "refundctl: error: give ORDER_ID --reference REF, or --from FILE, not both\n"
    bare = invoke(tmp_path, "settle", "--journal", journal, "GW-1")
    assert bare.exit_code == ExitCode.BAD_INPUT
    assert "give ORDER_ID and --reference REF" in bare.stderr
    missing = invoke(tmp_path, "settle", "--journal", journal, "GW-1", "--reference", "R")
    assert missing.exit_code == ExitCode.BAD_INPUT
    assert (
        missing.stderr
        == f"refundctl: error: no journal at {journal} (submit creates it; pass --journal to name another)\n"
    )
