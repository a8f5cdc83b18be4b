"""``refundctl report`` (issue 14, "Shards for an existing batch engine"): journals of real ``submit --shard K/3``
runs against the sandbox merged into one report that equals the unsharded run's; refused mixes (other policies,
overlapping shards) and --allow-mixed; damaged and older journals. CliRunner, stdout and stderr asserted apart."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.cli.sandbox import engine_quoter
from refundctl.errors import ExitCode
from refundctl.shipped import shipped_policies
from refundctl.submit.journal import SCHEMA_VERSION
from tests.support.builders import cli_env

EXAMPLES = Path(__file__).parents[2] / "examples"
ORDERS = [EXAMPLES / "orders.jsonl", EXAMPLES / "orders-overrides.jsonl"]
AS_OF = "2026-11-25T12:00:00Z"


def run(tmp_path: Path, *args: str, token: str = "test-token") -> Result:
    return CliRunner().invoke(cli, list(args), env=cli_env(tmp_path, token))


@pytest.fixture
def box(sandbox_factory: Any) -> Any:
    return sandbox_factory(orders=ORDERS, quoter=engine_quoter(None, datetime(2026, 11, 25, 12, tzinfo=UTC)))


def submit(box: Any, tmp_path: Path, journal: Path, *args: str) -> Result:
    argv = ["submit", *map(str, ORDERS), "--api", box.base_url, "--as-of", AS_OF, "--journal", str(journal)]
    return run(tmp_path, *argv, "-o", "jsonl", "--max-time", "20", *args, token=box.token)


def report(tmp_path: Path, *journals: Path, args: tuple[str, ...] = ()) -> Result:
    return run(tmp_path, "report", *map(str, journals), "--as-of", AS_OF, *args)


def data(result: Result) -> list[dict[str, Any]]:
    return json.loads(result.stdout)


def shards(sandbox_factory: Any, tmp_path: Path) -> list[Path]:
    other = sandbox_factory(orders=ORDERS, quoter=engine_quoter(None, datetime(2026, 11, 25, 12, tzinfo=UTC)))
    paths = []
    for k in range(3):
        path = tmp_path / f"orders.shard-{k}-of-3.journal.sqlite"
        result = submit(other, tmp_path, path, "--shard", f"{k}/3")
        assert result.exit_code in (ExitCode.OK, ExitCode.PARTIAL), result.output
        paths.append(path)
    return paths


SECTIONS = ("summary", "reasons", "fates", "payers")


def test_three_shards_merge_into_the_unsharded_report(box: Any, sandbox_factory: Any, tmp_path: Path) -> None:
    whole = tmp_path / "whole.journal.sqlite"
    unsharded = submit(box, tmp_path, whole)
    parts = shards(sandbox_factory, tmp_path)
    for section in SECTIONS:
        one = report(tmp_path, whole, args=("--section", section, "-o", "json"))
        merged = report(tmp_path, *parts, args=("--section", section, "-o", "json"))
        assert one.exit_code == merged.exit_code == ExitCode.OK, merged.output
        assert data(one) == data(merged), section
    # The fates are the unsharded submit's own summary; every input order is counted.
    orders = [json.loads(line) for line in unsharded.stdout.splitlines()]
    fates = data(report(tmp_path, *parts, args=("--section", "fates", "-o", "json")))
    assert sum(row["orders"] for row in fates) == len(orders)
    assert {(r["fate"], r["orders"]) for r in fates} == {
        (f, sum(o["fate"] == f for o in orders)) for f in {o["fate"] for o in orders}
    }
    summary = {r["handling"]: r for r in data(report(tmp_path, *parts, args=("-o", "json")))}
    review = {o["outcome"]: 0 for o in orders if o["outcome"] in ("manual_review", "needs_evidence")}
    for o in orders:
        if o["outcome"] in review:
            review[o["outcome"]] += 1
    assert summary["manual_review"]["orders"] == review["manual_review"] > 0
    assert summary["needs_evidence"]["orders"] == review["needs_evidence"] > 0
    accepted = sum(o["fate"] == "accepted" for o in orders)
    assert summary["without_person"]["orders"] >= accepted > 0
    assert sum(r["orders"] for r in summary.values()) == len(orders)
    every = report(tmp_path, *parts, args=("--section", "orders", "-o", "jsonl"))
    assert sorted(json.loads(line)["order_id"] for line in every.stdout.splitlines()) == sorted(
        o["order_id"] for o in orders
    )
    # The reasons are the decisions' own, counted.
    reasons = data(report(tmp_path, *parts, args=("--section", "reasons", "-o", "json")))
    assert {r["reason"] for r in reasons} == {o["note"] for o in orders if o["outcome"] in review}


def test_the_default_report_leads_with_the_share_on_stdout_and_summarises_on_stderr(
    box: Any, sandbox_factory: Any, tmp_path: Path
) -> None:
    parts = shards(sandbox_factory, tmp_path)
    result = report(tmp_path, *parts)
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout.splitlines()[0].split() == ["handling", "orders", "percent"]
    assert result.stdout.splitlines()[2].split()[0] == "without_person"
    assert "manual_review" in result.stderr and "payer" in result.stderr and "fate" in result.stderr
    last = result.stderr.splitlines()
    assert last[-2].startswith("refundctl: 3 journal(s), shard(s) 0/3, 1/3, 2/3, policies ")
    assert "decided and settled without a person" in last[-1] and last[-1].endswith("; 0 leg(s) overdue")


def test_overdue_legs_exit_5(box: Any, tmp_path: Path) -> None:
    whole = tmp_path / "whole.journal.sqlite"
    submit(box, tmp_path, whole)
    result = run(tmp_path, "report", str(whole), "--as-of", "2027-06-01T00:00:00Z", "--section", "payers", "-o", "json")
    assert result.exit_code == ExitCode.OVERDUE, result.output
    assert sum(row["overdue"] for row in json.loads(result.stdout)) > 0
    assert result.stderr.splitlines()[-1].endswith("leg(s) overdue") and " 0 leg(s) overdue" not in result.stderr


def test_overlapping_shards_are_refused_unless_allow_mixed(box: Any, sandbox_factory: Any, tmp_path: Path) -> None:
    whole = tmp_path / "whole.journal.sqlite"
    submit(box, tmp_path, whole)
    parts = shards(sandbox_factory, tmp_path)
    refused = report(tmp_path, whole, parts[0])
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert refused.stdout == ""
    assert refused.stderr.startswith("refundctl: error: refusing to merge these journals as one batch:\n")
    assert f"{whole} (shard 0/1) and {parts[0]} (shard 0/3) overlap" in refused.stderr
    assert "order(s) are in more than one journal" in refused.stderr
    assert "pass --allow-mixed" in refused.stderr
    allowed = report(tmp_path, whole, parts[0], args=("--allow-mixed", "-o", "json"))
    assert allowed.exit_code == ExitCode.OK, allowed.output
    assert data(allowed) == data(report(tmp_path, whole, args=("-o", "json")))  # each order counted once
    assert "refundctl: merged anyway (--allow-mixed): " in allowed.stderr
    # The same shard twice: the recorded shards say so.
    copy = tmp_path / "copy.journal.sqlite"
    shutil.copy(parts[1], copy)
    again = report(tmp_path, parts[1], copy)
    assert again.exit_code == ExitCode.BAD_INPUT and "(shard 1/3) and" in again.stderr


def test_journals_of_other_policies_are_refused_unless_allow_mixed(
    box: Any, sandbox_factory: Any, tmp_path: Path
) -> None:
    parts = shards(sandbox_factory, tmp_path)
    policies = tmp_path / "policies"
    shutil.copytree(shipped_policies(), policies)
    carriers = next((policies / "carriers").glob("*.toml"))
    carriers.write_text(carriers.read_text() + "\n# edited: the same rules, another digest\n")
    other = tmp_path / "other.journal.sqlite"
    result = submit(box, tmp_path, other, "--shard", "2/3", "--policies", str(policies))
    assert result.exit_code in (ExitCode.OK, ExitCode.PARTIAL), result.output
    digest = sqlite3.connect(other).execute("SELECT value FROM meta WHERE key = 'policies'").fetchone()[0]
    refused = report(tmp_path, parts[0], parts[1], other)
    assert refused.exit_code == ExitCode.BAD_INPUT and refused.stdout == ""
    assert "the journals were planned under different policies (" in refused.stderr
    assert f"{other} {digest[:12]}" in refused.stderr
    allowed = report(tmp_path, parts[0], parts[1], other, args=("--allow-mixed", "-o", "json"))
    assert allowed.exit_code == ExitCode.OK, allowed.output
    assert data(allowed) == data(report(tmp_path, *parts, args=("-o", "json")))  # the same rules decided
    assert digest[:12] in allowed.stderr.splitlines()[-2]


def _damage(path: Path) -> None:
    with path.open("r+b") as f:
        f.seek(4096)
        f.write(bytes(range(256)))


def test_a_damaged_journal_is_journal_damaged_exit_2(box: Any, tmp_path: Path) -> None:
    whole = tmp_path / "whole.journal.sqlite"
    submit(box, tmp_path, whole)
    _damage(whole)
    result = report(tmp_path, whole)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert result.stderr.startswith(f"refundctl: error: journal damaged: {whole}: ")


def test_a_missing_journal_is_exit_2(tmp_path: Path) -> None:
    result = report(tmp_path, tmp_path / "nope.journal.sqlite")
    assert result.exit_code == ExitCode.BAD_INPUT and result.stdout == ""
    assert result.stderr.startswith("refundctl: error: no journal at ")


def test_a_schema_3_journal_is_migrated_and_counted_with_a_note_until_submit_runs_on_it(
    box: Any, tmp_path: Path
) -> None:
    whole = tmp_path / "whole.journal.sqlite"
    submit(box, tmp_path, whole)
    full = data(report(tmp_path, whole, args=("--section", "fates", "-o", "json")))
    db = sqlite3.connect(whole)  # as schema 3 left it: no unsubmitted orders, no shards, no targets
    db.executescript(
        "DROP TABLE unsubmitted; DELETE FROM meta WHERE key = 'shards'; ALTER TABLE refunds DROP COLUMN target; "
        "PRAGMA user_version = 3;"
    )
    db.close()
    old = report(tmp_path, whole, args=("--section", "fates", "-o", "json"))
    assert old.exit_code == ExitCode.OK, old.output
    assert {r["fate"] for r in data(old)} == {r["fate"] for r in full} - {"not_eligible"}
    assert f"refundctl: {whole} was last written before journals recorded the orders not submitted" in old.stderr
    assert sqlite3.connect(whole).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    submit(box, tmp_path, whole)  # the rerun resumes (nothing sent twice) and records every order
    assert data(report(tmp_path, whole, args=("--section", "fates", "-o", "json"))) == full
