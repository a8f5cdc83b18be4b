"""Refunds in two legs end to end: the supplier's share through the sandbox supplier, the platform's through the
sandbox's Stripe-like payments API (or by hand), then track and reconcile."""

from __future__ import annotations

import json
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.config import PaymentsTarget
from refundctl.errors import ConfigError, ExitCode, JournalError
from refundctl.submit.journal import SCHEMA_VERSION, Journal, Plan, PlatformPlan
from refundctl.submit.legs import Due
from refundctl.submit.run import confirm
from tests.support.builders import GOODWILL, cli_env, flight
from tests.support.sandbox import PAYMENTS_TOKEN, RunningSandbox, SandboxFactory

AS_OF = "2026-11-25T12:00:00Z"
SUPPLIER_ONLY = flight(
    id="SUP-1",
    segments=[{**GOODWILL["segments"][0], "flight": "ZA1503"}],
)


def orders_file(tmp_path: Path, *records: dict[str, Any]) -> Path:
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def run(box: RunningSandbox, tmp_path: Path, *args: str, payments: bool = True, key: str = PAYMENTS_TOKEN) -> Result:
    env = cli_env(tmp_path, box.token) | {"REFUNDCTL_PAYMENTS_TOKEN": key}
    extra = ["--payments", "stripe", "--payments-api", box.payments_url] if payments else []
    return CliRunner().invoke(cli, [*args, *extra], env=env)


def submit(box: RunningSandbox, tmp_path: Path, orders: Path, *args: str, **kw: Any) -> Result:
    journal = tmp_path / "orders.journal.sqlite"
    return run(box, tmp_path, "submit", str(orders), "--api", box.base_url, "--as-of", AS_OF, "--journal",
               str(journal), "-o", "json", *args, **kw)  # fmt: skip


def rows(result: Result) -> dict[str, dict[str, Any]]:
    return {row["order_id"]: row for row in json.loads(result.stdout)}


def test_two_legs_each_paid_once_by_its_payer(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    orders = orders_file(tmp_path, GOODWILL, SUPPLIER_ONLY)
    box = sandbox_factory(orders=[orders], settle_after=0.2)
    result = submit(box, tmp_path, orders)
    assert result.exit_code == ExitCode.OK, result.output
    gw = rows(result)["GW-1"]
    assert (gw["fate"], gw["decided"], gw["amount"]) == ("accepted", "1550.00", "1550.00")
    (supplier_refund,) = box.store.refunds_for("GW-1")
    (platform_refund,) = box.ledger.refunds_of("pi_3GW1")
    assert gw["legs"] == [
        {"payer": "supplier", "amount": "1530.00", "state": "accepted", "id": supplier_refund.id},
        {"payer": "platform", "amount": "20.00", "state": "accepted", "id": platform_refund.id},
    ]
    assert supplier_refund.amount == Decimal("1530.00")  # the supplier is asked for its own share only
    assert platform_refund.amount == 2000 and platform_refund.payment.currency == "cny"
    assert platform_refund.metadata["order_id"] == "GW-1"
    assert platform_refund.metadata["decision"] == gw["idempotency_key"]
    assert platform_refund.metadata["idempotency_key"].startswith("pfk_")
    assert rows(result)["SUP-1"]["legs"] == [
        {"payer": "supplier", "amount": "980.00", "state": "accepted", "id": box.store.refunds_for("SUP-1")[0].id}
    ]

    again = submit(box, tmp_path, orders)  # a rerun sends nothing
    assert again.exit_code == ExitCode.OK
    assert len(box.store.refunds_for("GW-1")) == 1 and len(box.ledger.refunds_of("pi_3GW1")) == 1

    journal = str(tmp_path / "orders.journal.sqlite")
    pending = run(box, tmp_path, "reconcile", "--journal", journal, "-o", "json", payments=False)
    assert pending.exit_code == ExitCode.MISMATCH  # nothing confirmed until the providers say succeeded
    time.sleep(0.3)
    tracked = run(box, tmp_path, "track", "--journal", journal, "--sync", "-o", "json", payments=False)
    assert tracked.exit_code == ExitCode.OK, tracked.output  # the journal names the payments provider
    legs = [(r["order_id"], r["payer"], r["status"]) for r in json.loads(tracked.stdout)]
    assert legs == [
        ("GW-1", "supplier", "succeeded"),
        ("GW-1", "platform", "succeeded"),
        ("SUP-1", "supplier", "succeeded"),
    ]
    done = run(box, tmp_path, "reconcile", "--journal", journal, "-o", "json", payments=False)
    assert done.exit_code == ExitCode.OK, done.output
    first = json.loads(done.stdout)[0]
    assert (first["supplier_confirmed"], first["platform_confirmed"], first["difference"]) == (
        "1530.00",
        "20.00",
        "0.00",
    )
    assert "platform  CNY" in done.stderr and "20.00" in done.stderr
    totals = run(box, tmp_path, "reconcile", "--journal", journal, "--totals", "-o", "json", payments=False)
    assert json.loads(totals.stdout) == [
        {"payer": "platform", "currency": "CNY", "orders": 1, "decided": "20.00", "confirmed": "20.00",
         "difference": "0.00"},
        {"payer": "supplier", "currency": "CNY", "orders": 2, "decided": "2510.00", "confirmed": "2510.00",
         "difference": "0.00"},
    ]  # fmt: skip


def test_without_a_payments_provider_the_platform_leg_is_manual(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    orders = orders_file(tmp_path, GOODWILL)
    box = sandbox_factory(orders=[orders])
    result = submit(box, tmp_path, orders, payments=False)
    assert result.exit_code == ExitCode.PARTIAL  # not fully settled
    gw = rows(result)["GW-1"]
    assert gw["fate"] == "manual"
    assert [(leg["payer"], leg["state"]) for leg in gw["legs"]] == [("supplier", "accepted"), ("platform", "manual")]
    assert "1 platform leg(s) journaled manual (no --payments provider): 20.00 CNY to pay by hand" in result.stderr
    assert box.ledger.refunds_of("pi_3GW1") == []
    tracked = run(box, tmp_path, "track", "--journal", str(tmp_path / "orders.journal.sqlite"), "-o", "json",
                  payments=False)  # fmt: skip
    platform = [r for r in json.loads(tracked.stdout) if r["payer"] == "platform"]
    assert [(r["state"], r["amount"]) for r in platform] == [("manual", "20.00")]


def test_a_platform_share_without_a_payment_reference_is_not_sent(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    orders = orders_file(tmp_path, {k: v for k, v in GOODWILL.items() if k != "payment_reference"})
    box = sandbox_factory(orders=[orders])
    result = submit(box, tmp_path, orders)
    assert result.exit_code == ExitCode.PARTIAL
    gw = rows(result)["GW-1"]
    assert gw["fate"] == "not_sent"
    assert "needs the order's payment_reference" in gw["note"]
    assert box.store.refunds_for("GW-1") == []  # neither leg


def test_a_supplier_that_refuses_holds_the_platform_leg(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    orders = orders_file(tmp_path, GOODWILL)
    box = sandbox_factory(orders=[orders], quote_skew="-10")
    result = submit(box, tmp_path, orders)
    assert result.exit_code == ExitCode.PARTIAL
    gw = rows(result)["GW-1"]
    assert gw["fate"] == "quote_mismatch"
    assert [(leg["payer"], leg["state"]) for leg in gw["legs"]] == [("supplier", "rejected"), ("platform", "planned")]
    assert box.ledger.refunds_of("pi_3GW1") == []  # the platform does not pay for a refund the supplier refused


def test_a_platform_leg_refused_for_good_leaves_the_order_partially_settled(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    orders = orders_file(tmp_path, GOODWILL)
    box = sandbox_factory(orders=[orders])
    unknown = orders_file(tmp_path, GOODWILL | {"payment_reference": "pi_unknown"})
    result = submit(box, tmp_path, unknown)
    assert result.exit_code == ExitCode.PARTIAL
    gw = rows(result)["GW-1"]
    assert gw["fate"] == "partially_settled"
    assert [(leg["payer"], leg["state"]) for leg in gw["legs"]] == [("supplier", "accepted"), ("platform", "rejected")]
    assert "platform: Stripe POST /v1/refunds: HTTP 400 (invalid_request_error/resource_missing" in gw["note"]
    assert len(box.store.refunds_for("GW-1")) == 1  # the supplier's refund stands: nothing reversed silently


def test_a_live_key_against_a_real_provider_needs_yes(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    orders = orders_file(tmp_path, GOODWILL)
    box = sandbox_factory(orders=[orders])
    env = cli_env(tmp_path, box.token) | {"REFUNDCTL_PAYMENTS_TOKEN": "sk_live_51Real"}
    args = ["submit", str(orders), "--api", box.base_url, "--as-of", AS_OF, "--payments", "stripe"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "LIVE stripe key to https://api.stripe.com" in result.stderr
    assert "the platform's share of 1 refund(s), 20.00 CNY" in result.stderr
    assert "sk_live_51Real" not in result.output
    assert box.store.refunds_for("GW-1") == []


def test_a_schema_1_journal_is_migrated_with_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.journal.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE refunds (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE, amount TEXT NOT NULL, currency TEXT NOT NULL,
            outcome TEXT NOT NULL, reason TEXT, waivers TEXT NOT NULL, due_by TEXT,
            state TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'accepted', 'rejected', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0, sent_amount TEXT, quote_id TEXT, quote_amount TEXT,
            refund_id TEXT, refund_status TEXT, answer TEXT, error_type TEXT, error TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT, synced_at TEXT);
        INSERT INTO refunds (order_id, idempotency_key, amount, currency, outcome, waivers, state, sent_amount,
            created_at, updated_at) VALUES ('A', 'rfk_a', '10.00', 'CNY', 'full', '[]', 'sent', '10.00',
            '2026-11-25T12:00:00.000Z', '2026-11-25T12:00:00.000Z');
        PRAGMA application_id = 1380339268;
        PRAGMA user_version = 1;
        """
    )
    db.close()
    journal = Journal.open(path, create=False)
    (entry,) = journal.entries()
    assert (entry.order_id, entry.state, entry.sent_amount, entry.platform) == ("A", "sent", Decimal("10.00"), None)
    journal.plan([Plan("B", "rfk_b", Decimal("0.00"), "CNY", "none", None, (), None)])
    journal.mark_skipped("B")  # the new state is allowed in the migrated table
    with pytest.raises(JournalError, match="only moves forward"):
        journal.mark_skipped("A")  # and the migration installed the triggers: sent never becomes skipped
    journal.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    assert db.execute("SELECT count(*) FROM unsubmitted").fetchone()[0] == 0  # schema 4's table, empty
    db.close()


def test_a_dry_run_shows_both_legs_it_would_send(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    orders = orders_file(tmp_path, GOODWILL)
    box = sandbox_factory(orders=[orders])
    result = submit(box, tmp_path, orders, "--dry-run")
    assert result.exit_code == ExitCode.OK, result.output
    assert rows(result)["GW-1"]["legs"] == [
        {"payer": "supplier", "amount": "1530.00", "state": "would_send", "id": None},
        {"payer": "platform", "amount": "20.00", "state": "would_send", "id": None},
    ]
    assert box.store.refunds_for("GW-1") == [] and box.ledger.refunds_of("pi_3GW1") == []


def test_a_live_key_is_confirmed_by_asking_with_the_platforms_totals() -> None:
    plans = [
        Plan("A", "rfk_a", Decimal("10.00"), "CNY", "partial", None, (), None,
             PlatformPlan("pfk_a", Decimal("20.00"), "pi_a")),
        Plan("B", "rfk_b", Decimal("5.000"), "KWD", "partial", None, (), None,
             PlatformPlan("pfk_b", Decimal("1.250"), "pi_b")),
    ]  # fmt: skip
    due = Due()
    for plan in plans:
        due.add(plan)
    live = PaymentsTarget("stripe", "https://api.stripe.com", "sk_live_x")
    asked: list[str] = []

    def ask(question: str) -> bool:
        asked.append(question)
        return False

    with pytest.raises(ConfigError, match="not confirmed: nothing sent"):
        confirm({"": "http://127.0.0.1:1"}, due, False, ask, live)
    assert asked == [
        "Submit the platform's share of 2 refund(s), 20.00 CNY, 1.250 KWD, with a LIVE stripe key to "
        "https://api.stripe.com?"
    ]
    confirm({"": "http://127.0.0.1:1"}, due, False, lambda q: True, live)  # yes: goes ahead
    confirm({"": "http://127.0.0.1:1"}, due, True, None, live)  # --yes: nobody is asked
    test_key = PaymentsTarget("stripe", "https://api.stripe.com", "sk_test_x")
    confirm({"": "http://127.0.0.1:1"}, due, False, None, test_key)  # test mode moves no real money
