"""``refundctl smoke`` against a real sandbox server: each step, each failure kind and its exit code."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.errors import ExitCode
from tests.support.builders import GOODWILL
from tests.support.sandbox import RunningSandbox, SandboxFactory

TOKEN = "smoke-s3cret-token"


def smoke(box: RunningSandbox, *args: str, token: str = TOKEN) -> Result:
    env = {"REFUNDCTL_TOKEN": token, "REFUNDCTL_CONFIG": "", "XDG_CONFIG_HOME": "/nonexistent"}
    return CliRunner().invoke(cli, ["smoke", "--api", box.base_url, "--max-attempts", "2", *args], env=env)


def step_lines(result: Result) -> dict[str, str]:
    """Step name -> its status column, from stdout."""
    out = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[0] in ("ok", "failed", "skipped"):
            out[parts[1]] = parts[0]
    return out


@pytest.fixture
def box(sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sandbox_factory(token=TOKEN, settle_after=0.2)


def test_dry_run_stops_at_the_quote_and_sends_no_refund(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "ZA-1001")
    assert result.exit_code == 0, result.stderr
    assert step_lines(result) == {
        "fetch": "ok",
        "decide": "ok",
        "quote": "ok",
        "submit": "skipped",
        "track": "skipped",
    }
    assert "780.00 CNY matches the decision" in result.stdout
    assert "smoke: passed" in result.stdout
    assert result.stderr == ""
    assert box.store.refunds_for("ZA-1001") == []


def test_commit_submits_and_tracks_until_final(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "ZA-1002", "--commit", "--wait", "10")
    assert result.exit_code == 0, result.stderr
    assert step_lines(result) == {"fetch": "ok", "decide": "ok", "quote": "ok", "submit": "ok", "track": "ok"}
    assert "succeeded" in result.stdout
    refunds = box.store.refunds_for("ZA-1002")
    assert len(refunds) == 1 and str(refunds[0].amount) == "1530.00"
    # A second run finds the refund already there (same idempotency key): no second refund.
    again = smoke(box, "--order", "ZA-1002", "--commit", "--wait", "10")
    assert again.exit_code == 0, again.stderr
    assert "already submitted" in again.stdout
    assert len(box.store.refunds_for("ZA-1002")) == 1


def test_every_step_is_timed(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "ZA-1001")
    timed = [line for line in result.stdout.splitlines() if line.startswith("ok")]
    assert len(timed) == 3 and all(" ms " in line for line in timed)


def test_bad_token_exits_4_naming_the_step_and_redacting_the_token(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "ZA-1001", token="wrong-token-123")
    assert result.exit_code == ExitCode.AUTH == 4
    assert step_lines(result) == {"fetch": "failed"}
    assert "smoke failed at step fetch (authentication, exit 4)" in result.stderr
    assert "> GET " in result.stderr and "/v1/orders/ZA-1001" in result.stderr
    assert "authorization: bearer ***" in result.stderr.lower()
    assert "< HTTP 401" in result.stderr
    assert "wrong-token-123" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_quote_below_the_decision_exits_7(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(token=TOKEN, quote_skew="-10")
    result = smoke(box, "--order", "ZA-1001", "--commit")
    assert result.exit_code == ExitCode.MISMATCH == 7
    assert step_lines(result) == {"fetch": "ok", "decide": "ok", "quote": "failed"}
    assert "refund mismatch, exit 7" in result.stderr
    assert "the supplier quotes 702.00 CNY" in result.stderr and "refundctl decided 780.00 CNY" in result.stderr
    assert "< HTTP 201" in result.stderr  # the quote exchange that disagreed
    assert box.store.refunds_for("ZA-1001") == []  # nothing submitted


def test_quote_within_the_tolerance_passes(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(token=TOKEN, quote_skew="-0.1")
    assert smoke(box, "--order", "ZA-1001").exit_code == 7
    result = smoke(box, "--order", "ZA-1001", "--tolerance", "1.00")
    assert result.exit_code == 0, result.stderr


def test_quote_above_the_decision_passes_as_in_submit(sandbox_factory: SandboxFactory) -> None:
    # --tolerance is one-sided in smoke as in submit: a supplier refunding more is confirmed.
    box = sandbox_factory(token=TOKEN, quote_skew="0.1")
    result = smoke(box, "--order", "ZA-1001")
    assert result.exit_code == 0, result.stderr
    assert "780.78 CNY matches the decision" in result.stdout


def test_refund_not_final_within_the_wait_exits_8(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(token=TOKEN, settle_after=30)
    result = smoke(box, "--order", "ZA-1001", "--commit", "--wait", "0.2")
    assert result.exit_code == ExitCode.TIMEOUT == 8
    assert step_lines(result)["track"] == "failed"
    assert "smoke failed at step track (timeout, exit 8)" in result.stderr
    assert "still pending after 0.2 s" in result.stderr


def test_failed_refund_exits_6(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(token=TOKEN, settle_after=0.1, failure_rate=1.0)
    result = smoke(box, "--order", "ZA-1001", "--commit", "--wait", "10")
    assert result.exit_code == ExitCode.SUPPLIER == 6
    assert step_lines(result)["track"] == "failed"
    assert "supplier error, exit 6" in result.stderr


def test_unknown_order_exits_6_with_the_supplier_error(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "NOPE-1")
    assert result.exit_code == 6
    assert "HTTP 404" in result.stderr and "not_found" in result.stderr


def test_supplier_errors_that_outlast_retries_exit_6(sandbox_factory: SandboxFactory) -> None:
    box = sandbox_factory(token=TOKEN, error_rate=1.0, seed=3)
    result = smoke(box, "--order", "ZA-1001", "--max-time", "1")
    assert result.exit_code == 6
    assert "gave up after" in result.stderr


def test_missing_token_is_a_usage_error_not_a_traceback(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "ZA-1001", token="")
    assert result.exit_code == 2
    assert "REFUNDCTL_TOKEN" in result.stderr
    assert result.stdout == ""


def test_unknown_adapter_is_a_usage_error(box: RunningSandbox) -> None:
    result = smoke(box, "--order", "ZA-1001", "--adapter", "nope")
    assert result.exit_code == 2
    assert "Invalid value for '--adapter': 'nope' is not one of 'duffel', 'sandbox'." in result.stderr


def test_order_is_required() -> None:
    result = CliRunner().invoke(cli, ["smoke", "--api", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--order" in result.stderr


def test_smoke_checks_and_sends_the_suppliers_share_only(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    orders = tmp_path / "orders.jsonl"
    orders.write_text(json.dumps(GOODWILL) + "\n")
    box = sandbox_factory(token=TOKEN, orders=[orders], settle_after=0.1)
    result = smoke(box, "--order", "GW-1", "--commit", "--wait", "5")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "1530.00 CNY matches the decision" in result.stdout  # not 1550.00: 20.00 is the platform's to pay
    assert [r.amount for r in box.store.refunds_for("GW-1")] == [Decimal("1530.00")]
