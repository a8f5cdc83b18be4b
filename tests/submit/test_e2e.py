"""``refundctl submit`` end to end against the real sandbox on loopback."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import refundctl.submit.run as submit_run
from refundctl.cli.main import cli
from refundctl.errors import ExitCode
from tests.support.builders import cli_env

DATA = Path(__file__).parents[1] / "data"
ORDERS = DATA / "sandbox_orders.json"
ORDER_IDS = [o["id"] for o in json.loads(ORDERS.read_text())]


def submit(
    box: Any, tmp_path: Path, *args: str, token: str | None = None, journal: str = "j.sqlite", stdin: str = ""
) -> Result:
    env = cli_env(tmp_path, box.token if token is None else token)
    argv = ["submit", str(ORDERS), "--api", box.base_url, "--journal", str(tmp_path / journal), "-o", "jsonl"]
    return CliRunner().invoke(cli, [*argv, "--max-time", "20", *args], env=env, input=stdin)


def rows(result: Result) -> dict[str, dict[str, Any]]:
    parsed = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["order_id"]: row for row in parsed}


def refunds_on_server(box: Any) -> dict[str, int]:
    return {oid: len(box.store.refunds_for(oid)) for oid in ORDER_IDS}


def test_submits_every_eligible_refund_once_and_a_rerun_sends_nothing(sandbox: Any, tmp_path: Path) -> None:
    first = submit(sandbox, tmp_path)
    assert first.exit_code == ExitCode.OK, first.output
    fates = rows(first)
    assert {r["fate"] for r in fates.values()} == {"accepted"}
    assert all(r["refund_id"].startswith("rf_") and r["amount"] == r["decided"] for r in fates.values())
    assert "journal:" in first.stderr and "accepted" in first.stderr  # the summary
    assert "\r[" not in first.stderr  # no progress bar when stderr is not a TTY
    second = submit(sandbox, tmp_path)
    assert second.exit_code == ExitCode.OK
    assert {r["note"] for r in rows(second).values()} == {"earlier run"}
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 1)


def test_drops_and_errors_end_with_exactly_one_refund_each(sandbox_factory: Any, tmp_path: Path) -> None:
    box = sandbox_factory(drop_rate=0.3, error_rate=0.3, seed=11)
    for _ in range(6):
        result = submit(box, tmp_path, "--retry-failed", "--max-attempts", "4")
        if result.exit_code == ExitCode.OK:
            break
        assert result.exit_code == ExitCode.PARTIAL, result.output
    assert result.exit_code == ExitCode.OK
    assert refunds_on_server(box) == dict.fromkeys(ORDER_IDS, 1)


def test_a_second_journal_finds_the_refunds_instead_of_doubling_them(sandbox: Any, tmp_path: Path) -> None:
    assert submit(sandbox, tmp_path, journal="a.sqlite").exit_code == ExitCode.OK
    again = submit(sandbox, tmp_path, journal="b.sqlite")  # new quotes: same keys, other bodies
    assert again.exit_code == ExitCode.OK, again.output
    assert {r["fate"] for r in rows(again).values()} == {"accepted"}
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 1)


def test_a_supplier_quoting_less_is_caught_not_confirmed(sandbox_factory: Any, tmp_path: Path) -> None:
    box = sandbox_factory(quote_skew="-10")
    result = submit(box, tmp_path)
    assert result.exit_code == ExitCode.PARTIAL
    row = rows(result)["HH-2001"]
    assert (row["fate"], row["decided"], row["quote"]) == ("quote_mismatch", "1060.00", "954.00")
    assert "quotes 954.00 CNY; we decided 1060.00 CNY" in row["note"]
    assert refunds_on_server(box) == dict.fromkeys(ORDER_IDS, 0)


def test_tolerance_confirms_a_quote_slightly_below(sandbox_factory: Any, tmp_path: Path) -> None:
    box = sandbox_factory(quote_skew="-1")
    result = submit(box, tmp_path, "--tolerance", "20")
    assert result.exit_code == ExitCode.OK, result.output
    assert rows(result)["HH-2001"]["amount"] == "1049.40"


def test_rate_limited_server_is_obeyed(sandbox_factory: Any, tmp_path: Path) -> None:
    box = sandbox_factory(rate_limit=3)
    result = submit(box, tmp_path, "--concurrency", "6")
    assert result.exit_code == ExitCode.OK, result.output
    assert refunds_on_server(box) == dict.fromkeys(ORDER_IDS, 1)


def test_wrong_token_exits_4_without_printing_it(sandbox: Any, tmp_path: Path) -> None:
    result = submit(sandbox, tmp_path, token="wrong-secret-value")
    assert result.exit_code == ExitCode.AUTH
    assert "refused the token" in result.stderr
    assert "wrong-secret-value" not in result.output + result.stderr
    assert "Traceback" not in result.stderr


def test_dry_run_sends_nothing_and_needs_no_token(sandbox: Any, tmp_path: Path) -> None:
    result = submit(sandbox, tmp_path, "--dry-run", token="")
    assert result.exit_code == ExitCode.OK, result.output
    assert {r["fate"] for r in rows(result).values()} == {"would_send"}
    assert all(r["idempotency_key"].startswith("rfk_") for r in rows(result).values())
    assert not (tmp_path / "j.sqlite").exists()
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 0)


def test_missing_token_is_a_clear_error(sandbox: Any, tmp_path: Path) -> None:
    result = submit(sandbox, tmp_path, token="")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no API token" in result.stderr


def test_token_file(sandbox: Any, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.token + "\n")
    assert submit(sandbox, tmp_path, "--token-file", str(token_file), token="").exit_code == ExitCode.OK


def test_remote_api_needs_yes(tmp_path: Path) -> None:
    class Remote:
        base_url = "https://refunds.example.com"
        token = "t"

    result = submit(Remote(), tmp_path)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "refusing to submit 3 refund(s) totalling" in result.stderr
    assert "CNY to https://refunds.example.com without --yes" in result.stderr


def test_remote_api_asks_a_person_and_no_means_nothing_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Remote:
        base_url = "https://refunds.example.com"
        token = "t"

    monkeypatch.setattr("refundctl.cli.submit._interactive", lambda: True)
    result = submit(Remote(), tmp_path, stdin="n\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Submit 3 refund(s) totalling" in result.stderr
    assert "not confirmed: nothing sent" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "fast"], "expected a positive rate"),
        (["--tolerance", "-1"], "non-negative amount"),
        (["--concurrency", "0"], "--concurrency"),
    ],
)
def test_bad_flags(sandbox: Any, tmp_path: Path, args: list[str], message: str) -> None:
    result = submit(sandbox, tmp_path, *args)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert message in result.stderr


def test_foreign_journal_is_refused(sandbox: Any, tmp_path: Path) -> None:
    (tmp_path / "j.sqlite").write_text("not a journal" * 200)
    result = submit(sandbox, tmp_path)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "not a refundctl journal" in result.stderr


def test_journal_of_another_api_is_refused(sandbox_factory: Any, tmp_path: Path) -> None:
    assert submit(sandbox_factory(), tmp_path).exit_code == ExitCode.OK
    result = submit(sandbox_factory(), tmp_path)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "belongs to api 'http://127.0.0.1:" in result.stderr
    assert "or --rebind if it is the same API at a new URL; or pass a new --journal" in result.stderr


def test_a_journaled_order_no_longer_eligible_is_still_followed_to_the_end(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun decides anew (--as-of now), but the journal's plans stand: in flight is resent, done is reported."""
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    db = sqlite3.connect(tmp_path / "j.sqlite")  # a run killed while HH-2001's request was in flight
    db.execute("DROP TRIGGER refunds_forward")  # forged backwards, as no writer may (the next open restores it)
    db.execute("UPDATE refunds SET state = 'sent', refund_id = NULL, refund_status = NULL WHERE order_id = 'HH-2001'")
    db.commit()
    db.close()
    real = submit_run.decide
    monkeypatch.setattr(
        submit_run, "decide", lambda *args: dataclasses.replace(real(*args), outcome="none", refund=Decimal(0))
    )
    again = submit(sandbox, tmp_path)
    assert again.exit_code == ExitCode.OK, again.output
    fates = rows(again)
    assert {oid: r["fate"] for oid, r in fates.items()} == dict.fromkeys(ORDER_IDS, "accepted")
    assert fates["HH-2001"]["refund_id"] == sandbox.store.refunds_for("HH-2001")[0].id
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 1)
