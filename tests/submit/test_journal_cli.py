"""``submit`` and ``track`` on journals reused, shared, damaged or mistyped (issue 11 "Journals",
issue 10 §2-§5), end to end with CliRunner against the real sandbox on loopback; stdout and
stderr asserted apart."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import shutil
import socket
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import refundctl.submit.run as submit_run
from refundctl.adapters import Connection
from refundctl.cli.main import cli
from refundctl.client import RateLimiter
from refundctl.config import Target
from refundctl.errors import ExitCode
from refundctl.shipped import shipped_policies
from refundctl.submit.journal import Journal, Plan
from refundctl.track import follow
from tests.support.builders import cli_env

ORDERS = Path(__file__).parents[1] / "data" / "sandbox_orders.json"
ORDER_IDS = [o["id"] for o in json.loads(ORDERS.read_text())]


def run(tmp_path: Path, *args: str, token: str = "test-token", env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=cli_env(tmp_path, token) | (env or {}))


def submit(box: Any, tmp_path: Path, *args: str, journal: Path | None = None) -> Result:
    path = journal or tmp_path / "j.sqlite"
    argv = ["submit", str(ORDERS), "--api", box.base_url, "--journal", str(path), "-o", "jsonl", "--max-time", "20"]
    return run(tmp_path, *argv, *args, token=box.token)


def rows(result: Result) -> dict[str, dict[str, Any]]:
    return {r["order_id"]: r for r in map(json.loads, result.stdout.splitlines())}


def on_server(box: Any) -> dict[str, list[Decimal]]:
    return {oid: [r.amount for r in box.store.refunds_for(oid)] for oid in ORDER_IDS}


# -- a journal reused with other decisions ----------------------------------------------------


def test_an_unsent_order_whose_decision_changed_is_refused_with_both_amounts_then_replanned(
    sandbox: Any, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite"
    j = Journal.open(path)  # planned yesterday under other policies; the run stopped before sending
    j.plan([Plan("ZA-1001", "rfk_stale", Decimal("999.00"), "CNY", "full", None, (), None)])
    j.close()
    refused = submit(sandbox, tmp_path)
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert refused.stdout == ""
    decided = rows(submit(sandbox, tmp_path, "--dry-run"))["ZA-1001"]["decided"]
    assert decided != "999.00"
    assert refused.stderr.splitlines() == [
        f"refundctl: error: 1 order(s) in {path} were planned with other amounts than today's decision and nothing "
        "of them was sent; refusing to send the old amounts:",
        f"refundctl: error:   ZA-1001: journaled 999.00 CNY; decided now {decided} CNY",
        "refundctl: error: rerun with --replan to plan them anew from today's decision, or pass a new --journal",
    ]
    assert on_server(sandbox) == {oid: [] for oid in ORDER_IDS}  # nothing of the run was sent
    replanned = submit(sandbox, tmp_path, "--replan")
    assert replanned.exit_code == ExitCode.OK, replanned.output
    assert "refundctl: replanned 1 unsent order(s) from today's decision (--replan)" in replanned.stderr
    assert rows(replanned)["ZA-1001"]["amount"] == decided
    assert on_server(sandbox)["ZA-1001"] == [Decimal(decided)]


def test_a_sent_order_keeps_its_plan_and_the_change_is_said(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    real = submit_run.decide
    monkeypatch.setattr(
        submit_run, "decide", lambda *a: dataclasses.replace(r := real(*a), refund=r.refund - 100, funded_by={})
    )
    again = submit(sandbox, tmp_path, "--replan")
    assert again.exit_code == ExitCode.OK, again.output
    assert {r["note"] for r in rows(again).values()} == {"earlier run"}
    notes = [line for line in again.stderr.splitlines() if "a leg sent is never replanned" in line]
    assert len(notes) == len(ORDER_IDS)
    assert all(len(amounts) == 1 for amounts in on_server(sandbox).values())


def test_the_policy_digest_is_bound_and_a_change_is_said(sandbox: Any, tmp_path: Path) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    j = Journal.open(tmp_path / "j.sqlite", create=False)
    bound = j.meta("policies")
    j.close()
    assert bound is not None and len(bound) >= 12
    edited = tmp_path / "policies"
    shutil.copytree(shipped_policies(), edited)
    first = sorted(edited.rglob("*.toml"))[0]
    first.write_text(first.read_text() + "\n# edited: same rules\n")
    again = submit(sandbox, tmp_path, "--policies", str(edited))
    assert again.exit_code == ExitCode.OK, again.output
    assert f"refundctl: the policies changed since {tmp_path / 'j.sqlite'} was planned (digest {bound[:12]} -> " in (
        again.stderr
    )
    assert "no unsent order's amounts changed" in again.stderr


# -- one run at a time, damage, empty files, permissions ----------------------------------------


def test_a_journal_in_use_is_refused_for_submit_and_track_sync_but_read_by_track(sandbox: Any, tmp_path: Path) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    path = tmp_path / "j.sqlite"
    holder = Journal.open(path, lock=True)
    try:
        busy = submit(sandbox, tmp_path)
        assert busy.exit_code == ExitCode.BAD_INPUT
        assert busy.stdout == ""
        assert busy.stderr.startswith(f"refundctl: error: journal {path} is in use by another refundctl run (pid ")
        sync = run(tmp_path, "track", "--journal", str(path), "--sync", "--api", sandbox.base_url, token=sandbox.token)
        assert sync.exit_code == ExitCode.BAD_INPUT and "is in use by another refundctl run" in sync.stderr
        read = run(tmp_path, "track", "--journal", str(path), "-o", "json")
        assert read.exit_code == ExitCode.OK and len(json.loads(read.stdout)) == len(ORDER_IDS)
    finally:
        holder.close()


def _damage(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(4096)  # the second page: its header and cells
        f.write(random.Random(3).randbytes(256))


@pytest.mark.parametrize("command", ["track", "reconcile", "submit"])
def test_a_damaged_journal_is_exit_2_naming_the_file(sandbox: Any, tmp_path: Path, command: str) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    path = tmp_path / "j.sqlite"
    _damage(path)
    result = submit(sandbox, tmp_path) if command == "submit" else run(tmp_path, command, "--journal", str(path))
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"refundctl: error: journal damaged: {path}: ")
    assert "internal error" not in result.stderr


def test_track_notices_a_journal_without_its_meta_table(sandbox: Any, tmp_path: Path) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    path = tmp_path / "j.sqlite"
    db = sqlite3.connect(path)
    db.execute("DROP TABLE meta")
    db.commit()
    db.close()
    result = run(tmp_path, "track", "--journal", str(path))
    assert (result.exit_code, result.stdout) == (ExitCode.BAD_INPUT, "")
    assert result.stderr == f"refundctl: error: journal damaged: {path}: its table(s) meta are gone\n"


def test_an_empty_file_is_no_journal_for_track_and_a_new_one_for_submit_which_says_so(
    sandbox: Any, tmp_path: Path
) -> None:
    path = tmp_path / "j.sqlite"
    path.touch()
    tracked = run(tmp_path, "track", "--journal", str(path))
    assert (tracked.exit_code, tracked.stdout) == (ExitCode.BAD_INPUT, "")
    assert "is empty (0 bytes): not a journal; is --journal the file submit wrote?" in tracked.stderr
    made = submit(sandbox, tmp_path)
    assert made.exit_code == ExitCode.OK, made.output
    assert f"refundctl: {path} was an empty file (0 bytes): made it a new journal\n" in made.stderr
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_orders_file_named_as_the_journal_is_refused_and_left_alone(tmp_path: Path) -> None:
    orders = tmp_path / "empty.jsonl"
    orders.touch()
    result = run(tmp_path, "submit", str(orders), "--api", "http://127.0.0.1:9", "--journal", str(orders))
    assert (result.exit_code, result.stdout) == (ExitCode.BAD_INPUT, "")
    assert result.stderr == (
        f"refundctl: error: --journal {orders} is one of the ORDERS files; name the journal apart "
        "(e.g. run.journal.sqlite)\n"
    )
    assert orders.stat().st_size == 0


def test_a_journal_submit_creates_is_readable_by_its_owner_only(sandbox: Any, tmp_path: Path) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    assert (tmp_path / "j.sqlite").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--api", "ftp://127.0.0.1:1"), {}, "is not an http(s) URL"),
        (("--payments", "stripe", "--payments-api", "http://127.0.0.1:1"), {}, "no API token: set REFUNDCTL_PAYMENTS"),
        (("--payments", "paypal"), {}, "'paypal' is not one of 'stripe', 'none'"),
        ((), {"REFUNDCTL_TOKEN": None}, "no API token: set REFUNDCTL_TOKEN"),
    ],
)
def test_every_setting_is_checked_before_a_journal_is_made(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str | None], message: str
) -> None:
    path = tmp_path / "j.sqlite"
    argv = ["submit", str(ORDERS), "--api", "http://127.0.0.1:9", "--journal", str(path), *args]
    result = run(tmp_path, *argv, env=env)
    assert (result.exit_code, result.stdout) == (ExitCode.BAD_INPUT, "")
    assert message in result.stderr
    assert not path.exists()


# -- an API that moved, or never answered -------------------------------------------------------


def test_a_sandbox_restarted_on_its_state_at_a_new_port_is_resumed_with_rebind(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    state = tmp_path / "sandbox.sqlite"
    first = sandbox_factory(state=state)
    assert submit(first, tmp_path).exit_code == ExitCode.OK
    db = sqlite3.connect(tmp_path / "j.sqlite")  # killed while HH-2001's request was in flight
    db.execute("DROP TRIGGER refunds_forward")  # forged backwards, as no writer may (the next open restores it)
    db.execute("UPDATE refunds SET state = 'sent', refund_id = NULL WHERE order_id = 'HH-2001'")
    db.commit()
    db.close()
    first.stop()
    second = sandbox_factory(state=state)  # --port 0: another port, the same API
    assert second.base_url != first.base_url
    refused = submit(second, tmp_path)
    assert (refused.exit_code, refused.stdout) == (ExitCode.BAD_INPUT, "")
    assert f"belongs to api '{first.base_url}', not '{second.base_url}': it has sent 3 supplier leg(s)" in (
        refused.stderr
    )
    assert f"resume with --api {first.base_url}, or --rebind if it is the same API at a new URL" in refused.stderr
    moved = submit(second, tmp_path, "--rebind")
    assert moved.exit_code == ExitCode.OK, moved.output
    assert f"api {first.base_url} -> {second.base_url} (--rebind)" in moved.stderr
    assert rows(moved)["HH-2001"]["refund_id"] == second.store.refunds_for("HH-2001")[0].id  # replayed, not doubled
    assert {oid: len(amounts) for oid, amounts in on_server(second).items()} == dict.fromkeys(ORDER_IDS, 1)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_api_that_never_answers_is_exit_6(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_closed_port()}"
    path = tmp_path / "j.sqlite"
    argv = ["submit", str(ORDERS), "--api", api, "--journal", str(path), "-o", "jsonl"]
    result = run(tmp_path, *argv, "--max-attempts", "2", "--max-time", "2")
    assert result.exit_code == ExitCode.SUPPLIER, result.output
    assert {r["fate"] for r in rows(result).values()} == {"failed"}
    assert result.stderr.rstrip().endswith(
        "refundctl: error: no refund could be sent: the API never gave an answer (3 leg(s) failed after every "
        "retry); rerun with --retry-failed once it answers"
    )


def test_retry_failed_re_quotes_quote_mismatches_with_the_tolerance_given_now(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    box = sandbox_factory(quote_skew="-10")
    first = submit(box, tmp_path)
    assert first.exit_code == ExitCode.PARTIAL
    assert {r["fate"] for r in rows(first).values()} == {"quote_mismatch"}
    again = submit(box, tmp_path)
    assert again.exit_code == ExitCode.PARTIAL
    assert all(
        r["note"].startswith(
            "quote mismatch in an earlier run; rerun with --retry-failed (and --tolerance) to re-quote;"
        )
        for r in rows(again).values()
    )
    retried = submit(box, tmp_path, "--retry-failed", "--tolerance", "500")
    assert retried.exit_code == ExitCode.OK, retried.output
    assert (
        "refundctl: --retry-failed: resending 0 failed leg(s) with their keys, re-quoting 3 quote_mismatch "
        "refund(s) with --tolerance 500"
    ) in retried.stderr
    fates = rows(retried)
    assert {r["fate"] for r in fates.values()} == {"accepted"}
    assert {oid: [Decimal(fates[oid]["amount"])] for oid in ORDER_IDS} == on_server(box)


# -- due dates and track ------------------------------------------------------------------------


def test_due_by_without_a_regulation_counts_from_submission_not_from_as_of(sandbox: Any, tmp_path: Path) -> None:
    as_of = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    assert submit(sandbox, tmp_path, "--as-of", as_of).exit_code == ExitCode.OK
    tracked = run(tmp_path, "track", "--journal", str(tmp_path / "j.sqlite"), "-o", "json")
    hotel = next(r for r in json.loads(tracked.stdout) if r["order_id"] == "HH-2001")
    assert hotel["due_by"] == (datetime.now(UTC).date() + timedelta(days=14)).isoformat()


def test_track_with_an_unknown_profile_is_an_error_without_sync(sandbox: Any, tmp_path: Path) -> None:
    assert submit(sandbox, tmp_path).exit_code == ExitCode.OK
    result = run(tmp_path, "track", "--journal", str(tmp_path / "j.sqlite"), "--profile", "nosuch")
    assert (result.exit_code, result.stdout) == (ExitCode.BAD_INPUT, "")
    assert "profile 'nosuch'" in result.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_track_sync_draws_the_shared_meter_on_a_terminal_only(
    sandbox_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = sandbox_factory(latency_ms=150)
    assert submit(box, tmp_path).exit_code == ExitCode.OK
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    def connect(name: str, api: str | None, adapter: str | None) -> tuple[Target, Connection]:
        assert api is not None and adapter is not None
        return Target(api, adapter, box.token), Connection(api, box.token, RateLimiter(None), concurrency=1)

    started = time.monotonic()
    with follow(tmp_path / "j.sqlite", datetime.now(UTC), connect):
        pass
    assert time.monotonic() - started > 0.3  # long enough for the meter's first line
    drawn = terminal.getvalue()
    assert "\r[" in drawn and "3/3 synced" in drawn and drawn.endswith("\n")


def test_each_shard_keeps_its_own_journal_by_default(sandbox: Any, tmp_path: Path) -> None:
    orders = tmp_path / "orders.json"
    shutil.copy(ORDERS, orders)
    for k in (0, 1):
        argv = ["submit", str(orders), "--api", sandbox.base_url, "--shard", f"{k}/2", "-o", "jsonl"]
        result = run(tmp_path, *argv, token=sandbox.token)
        assert result.exit_code == ExitCode.OK, result.output
        assert f"refundctl: journal: {tmp_path / f'orders.shard-{k}-of-2.journal.sqlite'}\n" in result.stderr
    journaled = []
    for k in (0, 1):
        j = Journal.open(tmp_path / f"orders.shard-{k}-of-2.journal.sqlite", create=False)
        journaled += [e.order_id for e in j.entries()]
        j.close()
    assert sorted(journaled) == sorted(ORDER_IDS)
    assert {oid: len(amounts) for oid, amounts in on_server(sandbox).items()} == dict.fromkeys(ORDER_IDS, 1)
