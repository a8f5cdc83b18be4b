"""``submit`` streams (issue 14, memory flat in the number of orders): orders are decided onto an on-disk stage,
the journal is planned and read a page at a time. Every rule of the batch holds across pages: a bad record last
stops everything, a crash after planning resumes, and the output is the same whatever the page size."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.cli.sandbox import engine_quoter
from refundctl.errors import ExitCode
from refundctl.submit import journal as journal_module
from refundctl.submit import run as submit_run
from refundctl.submit import staging as staging_module
from refundctl.submit.fates import Fate, fate_of_unsubmitted
from refundctl.submit.journal import Journal, Plan, PlatformPlan, Unsubmitted
from refundctl.submit.staging import Staged, Staging
from tests.support.builders import GOODWILL, cli_env, flight
from tests.support.sandbox import PAYMENTS_TOKEN, RunningSandbox, SandboxFactory

AS_OF = "2026-11-25T12:00:00Z"
ROOT = Path(__file__).resolve().parents[2]


def _orders(path: Path, count: int, *tail: str) -> Path:
    """``count`` refundable flights (more than one page of the stage and of the journal's plan inserts), one in
    ten refunded in two legs (supplier, then the platform through the payments API); then ``tail`` lines."""
    records = [
        GOODWILL | {"id": f"GW-{n}", "payment_reference": f"pi_GW{n}"} if n % 10 == 0 else flight(id=f"ZA-{n}")
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(line + "\n" for line in tail))
    return path


def _submit(box: RunningSandbox, tmp_path: Path, orders: Path, *args: str) -> Result:
    env = cli_env(tmp_path, box.token) | {"REFUNDCTL_PAYMENTS_TOKEN": PAYMENTS_TOKEN}
    argv = ["submit", str(orders), "--api", box.base_url, "--payments", "stripe", "--payments-api", box.payments_url,
            "--as-of", AS_OF, "--journal", str(tmp_path / "run.journal.sqlite"), "-o", "jsonl", *args]  # fmt: skip
    return CliRunner().invoke(cli, argv, env=env)


def _rows(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def _sent(box: RunningSandbox, count: int) -> int:
    """Refunds the sandbox holds for the orders of ``_orders(count)``: supplier refunds and platform refunds."""
    ids = [f"GW-{n}" if n % 10 == 0 else f"ZA-{n}" for n in range(count)]
    supplier = sum(len(box.store.refunds_for(oid)) for oid in ids)
    return supplier + sum(len(box.ledger.refunds_of(f"pi_GW{n}")) for n in range(0, count, 10))


def test_a_bad_record_last_in_a_large_input_stops_everything(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    count = 2_400  # past several stage pages and journal chunks: staging had gone far when the bad record came
    box = sandbox_factory(orders=[_orders(tmp_path / "good.jsonl", count)])
    orders = _orders(tmp_path / "orders.jsonl", count, '{"id": "BAD-1", "kind": "flight"}')
    lines = orders.read_text().splitlines()
    lines[3] = lines[3].replace('"currency": "CNY"', '"currency": "cny"')  # a bad record early too
    orders.write_text("\n".join(lines) + "\n")
    result = _submit(box, tmp_path, orders)
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert result.stdout == ""
    assert f"{orders}:4" in result.stderr and f"{orders}:{count + 1}" in result.stderr  # every bad record named
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run.journal.sqlite").exists()  # nothing planned
    assert _sent(box, count) == 0  # nothing sent


class _Killed(BaseException):
    """The process dying between planning and sending (every commit made so far stands)."""


def test_a_crash_after_planning_resumes_and_pays_every_leg_once(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 300  # with pages of 64 and plan inserts of 100: many of each, as 200,000 orders would be
    monkeypatch.setattr(staging_module, "PAGE", 64)
    monkeypatch.setattr(journal_module, "_CHUNK", 100)
    orders = _orders(tmp_path / "orders.jsonl", count)
    box = sandbox_factory(orders=[orders])

    def killed(*args: object) -> None:
        raise _Killed

    with monkeypatch.context() as patch:
        patch.setattr(submit_run, "_send", killed)
        with pytest.raises(_Killed):
            CliRunner().invoke(cli, _argv(box, tmp_path, orders), env=_env(box, tmp_path), catch_exceptions=False)
    journal = Journal.open(tmp_path / "run.journal.sqlite", create=False)
    entries = journal.entries()
    journal.close()
    assert [e.order_id for e in entries] == [f"GW-{n}" if n % 10 == 0 else f"ZA-{n}" for n in range(count)]
    assert {leg.state for e in entries for leg in e.legs} == {"planned"}  # planned in input order, all of it
    assert sum(e.platform is not None for e in entries) == count // 10
    assert _sent(box, count) == 0

    resumed = _submit(box, tmp_path, orders)
    assert resumed.exit_code == ExitCode.OK, resumed.output
    rows = _rows(resumed)
    assert [r["order_id"] for r in rows] == [e.order_id for e in entries]  # input order, across pages
    assert {r["fate"] for r in rows} == {"accepted"}
    assert _sent(box, count) == count + count // 10  # every leg once

    again = _submit(box, tmp_path, orders)  # and a rerun sends nothing
    assert again.exit_code == ExitCode.OK, again.output
    assert [(r["order_id"], r["fate"], r["note"]) for r in _rows(again)] == [
        (r["order_id"], "accepted", "earlier run") for r in rows
    ]
    assert _sent(box, count) == count + count // 10


def _env(box: RunningSandbox, tmp_path: Path) -> dict[str, str | None]:
    return cli_env(tmp_path, box.token) | {"REFUNDCTL_PAYMENTS_TOKEN": PAYMENTS_TOKEN}


def _argv(box: RunningSandbox, tmp_path: Path, *orders: Path, journal: str = "run") -> list[str]:
    return ["submit", *map(str, orders), "--api", box.base_url, "--payments", "stripe", "--payments-api",
            box.payments_url, "--as-of", AS_OF, "--journal", str(tmp_path / f"{journal}.journal.sqlite"),
            "-o", "jsonl"]  # fmt: skip


def _without_ids(result: Result) -> list[dict[str, Any]]:
    """The output rows without the providers' refund ids (random per sandbox)."""
    return [r | {"refund_id": None, "legs": [leg | {"id": None} for leg in r["legs"]]} for r in _rows(result)]


def test_the_output_is_the_same_whatever_the_page_size(
    sandbox_factory: SandboxFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = [ROOT / "examples" / "orders.jsonl", ROOT / "examples" / "orders-overrides.jsonl"]
    outputs = []
    for n, page in enumerate((staging_module.PAGE, 3)):
        monkeypatch.setattr(staging_module, "PAGE", page)
        box = sandbox_factory(orders=examples, quoter=engine_quoter(None, datetime.fromisoformat(AS_OF)))
        runner, env, journal = CliRunner(), _env(box, tmp_path), f"run-{n}"
        dry = runner.invoke(cli, [*_argv(box, tmp_path, *examples, journal=journal), "--dry-run"])
        first = runner.invoke(cli, _argv(box, tmp_path, *examples, journal=journal), env=env)
        again = runner.invoke(cli, _argv(box, tmp_path, *examples, journal=journal), env=env)
        assert (dry.exit_code, first.exit_code, again.exit_code) == (0, 0, 0), first.output + again.output
        outputs.append((dry.stdout, _without_ids(first), first.stderr.replace(journal, "run"), _without_ids(again)))
    assert outputs[0] == outputs[1]
    assert len(outputs[0][1]) == 20 and {r["fate"] for r in outputs[0][1]} == {"accepted", "not_eligible"}


def test_the_stage_keeps_input_order_and_each_fate_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging_module, "PAGE", 3)  # fates flushed, and pages read, in threes
    ids = [f"O-{n}" for n in range(10)]
    with Staging() as stage:
        for batch in (ids[:4], ids[4:]):
            stage.add([Staged(Unsubmitted(oid, "not_eligible", "none", "CNY", 0, None), None, "d") for oid in batch])
        ended: dict[str, Fate] = {}
        for oid in reversed(ids[1::2]):  # fates end in any order
            ended[oid] = fate_of_unsubmitted(Unsubmitted(oid, "not_sent", "full", "CNY", 1, None, "refused"))
            stage.record(ended[oid])
        assert stage.count == 10 and stage.digests == {"d"}
        unsent = fate_of_unsubmitted
        assert list(stage.fates(lambda s: unsent(s.order))) == [
            ended.get(oid) or unsent(Unsubmitted(oid, "not_eligible", "none", "CNY", 0, None)) for oid in ids
        ]
        assert [oid for page in stage.id_pages() for oid in page] == [s.order_id for s in stage] == ids


def test_a_page_of_the_journal_is_the_journaled_orders_among_its_ids(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite")
    try:
        plans = [
            Plan(oid, f"rfk_{oid}", Decimal("10.00"), "CNY", "full", None, (), None, platform)
            for oid, platform in (("A", PlatformPlan("pfk_A", Decimal("2.00"), "pi_A")), ("B", None), ("C", None))
        ]
        journal.plan(plans)
        page = journal.entries_of(["C", "A", "X"])
        assert page == {"A": journal.get("A"), "C": journal.get("C")}  # X is not journaled; B was not asked for
        assert page["A"].platform is not None and page["A"].plan.platform == plans[0].platform
    finally:
        journal.close()
