"""``refundctl track``: status, age, due dates, --sync against the sandbox, --overdue exit code (the flow's own
functions: tests/track/test_run.py)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.errors import ExitCode
from refundctl.submit.journal import Journal
from tests.support.builders import cli_env

ORDERS = Path(__file__).parents[1] / "data" / "sandbox_orders.json"
LATER = (datetime.now(UTC) + timedelta(days=400)).isoformat()


def invoke(box: Any, tmp_path: Path, *args: str, token: str | None = None) -> Result:
    env = cli_env(tmp_path, box.token if token is None else token)
    return CliRunner().invoke(cli, list(args), env=env)


def submitted(box: Any, tmp_path: Path) -> Path:
    journal = tmp_path / "orders.journal.sqlite"
    result = invoke(box, tmp_path, "submit", str(ORDERS), "--api", box.base_url, "--journal", str(journal))
    assert result.exit_code == ExitCode.OK, result.output
    return journal


def track(box: Any, tmp_path: Path, journal: Path, *args: str, token: str | None = None) -> Result:
    return invoke(box, tmp_path, "track", "--journal", str(journal), "-o", "json", *args, token=token)


def test_lists_submitted_refunds_and_sync_follows_them_to_the_end(sandbox_factory: Any, tmp_path: Path) -> None:
    box = sandbox_factory(settle_after=0.3)
    journal = submitted(box, tmp_path)
    before = json.loads(track(box, tmp_path, journal).stdout)
    assert {r["status"] for r in before} == {"pending"}
    assert all(r["due_by"] and r["age_days"] == 0 and r["overdue"] is False for r in before)
    time.sleep(0.4)
    synced = track(box, tmp_path, journal, "--sync")
    assert synced.exit_code == ExitCode.OK, synced.output
    assert {r["status"] for r in json.loads(synced.stdout)} == {"succeeded"}
    assert "3 refund(s), 0 overdue" in synced.stderr


def test_overdue_exits_5_until_the_money_arrives(sandbox_factory: Any, tmp_path: Path) -> None:
    box = sandbox_factory(settle_after=0.2, failure_rate=1.0)
    journal = submitted(box, tmp_path)
    late = track(box, tmp_path, journal, "--overdue", "--as-of", LATER)
    assert late.exit_code == ExitCode.OVERDUE
    assert len(json.loads(late.stdout)) == 3
    time.sleep(0.3)
    failed = track(box, tmp_path, journal, "--sync", "--overdue", "--as-of", LATER)
    assert failed.exit_code == ExitCode.OVERDUE  # a failed refund is still money not returned
    assert {r["status"] for r in json.loads(failed.stdout)} == {"failed"}
    on_time = track(box, tmp_path, journal, "--overdue")
    assert (on_time.exit_code, json.loads(on_time.stdout)) == (ExitCode.OK, [])


def test_sync_with_a_refused_token_exits_4(sandbox: Any, tmp_path: Path) -> None:
    journal = submitted(sandbox, tmp_path)
    result = track(sandbox, tmp_path, journal, "--sync", token="nope-secret")
    assert result.exit_code == ExitCode.AUTH
    assert "nope-secret" not in result.stderr


def test_missing_journal_is_a_clear_error(sandbox: Any, tmp_path: Path) -> None:
    result = track(sandbox, tmp_path, tmp_path / "none.sqlite")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no journal at" in result.stderr


def test_reading_works_while_a_run_holds_the_journal_and_sync_is_refused(sandbox: Any, tmp_path: Path) -> None:
    """A submit holds the journal's lock for its whole run and writes in transactions: track without --sync reads
    the last commit (WAL readers never block the writer nor wait for it); --sync, which writes, is refused."""
    journal = submitted(sandbox, tmp_path)
    alone = track(sandbox, tmp_path, journal)
    holder = Journal.open(journal, create=False, lock=True)  # as a running submit holds it
    writing = sqlite3.connect(journal, isolation_level=None)
    try:
        writing.execute("BEGIN IMMEDIATE")  # mid-commit: a leg's answer being written, not committed yet
        writing.execute("UPDATE refunds SET refund_status = 'succeeded'")
        read = track(sandbox, tmp_path, journal)
        assert read.exit_code == ExitCode.OK, read.output
        assert read.stdout == alone.stdout and read.stderr == alone.stderr == "refundctl: 3 refund(s), 0 overdue\n"
        synced = track(sandbox, tmp_path, journal, "--sync")
        assert synced.exit_code == ExitCode.BAD_INPUT and synced.stdout == ""
        assert synced.stderr == (
            f"refundctl: error: journal {journal} is in use by another refundctl run (pid {os.getpid()} on "
            f"{socket.gethostname()}, since {json.loads(holder.meta('holder') or '{}')['since']}); one run at a time "
            "per journal (track --sync records what the providers answer, so it waits for that run to end: run "
            "track without --sync to read the journal now, or --sync again once that run has finished)\n"
        )
    finally:
        writing.execute("ROLLBACK")
        writing.close()
        holder.close()
