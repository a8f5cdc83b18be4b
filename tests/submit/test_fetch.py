"""``refundctl submit --fetch``: orders fetched by supplier id, decided, planned and sent.

Against the real sandbox on loopback, and against Duffel through respx (no test reaches
the internet), where the decision comes from the order's own conditions.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import respx
from click.testing import CliRunner, Result

from refundctl.adapters.duffel import DuffelAdapter
from refundctl.adapters.duffel_orders import conditions_policy, to_order
from refundctl.cli.main import cli
from refundctl.errors import ExitCode, OrderError
from refundctl.orders.ids import IdLine, read_order_ids
from refundctl.policy.loader import load_policies
from refundctl.submit.fetch import fetch_and_decide
from refundctl.submit.journal import Journal
from refundctl.submit.plan import idempotency_key
from tests.support.builders import cli_env
from tests.support.duffel import API, CONFIRM, CREATE, ORDER_ID, TOKEN, cancellation, connection, fixture

ORDER_IDS = ["ZA-1001", "ZA-1002", "HH-2001"]
LATER = {"expires_at": "2099-01-01T00:00:00Z"}  # a cancellation that has not expired yet


def write_ids(tmp_path: Path, text: str, name: str = "ids.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def submit_ids(box: Any, tmp_path: Path, *inputs: str, stdin: str = "") -> Result:
    argv = ["submit", "--fetch", *inputs, "--api", box.base_url, "--journal", str(tmp_path / "j.sqlite")]
    return CliRunner().invoke(
        cli, [*argv, "-o", "jsonl", "--max-time", "20"], env=cli_env(tmp_path, box.token), input=stdin
    )


def rows(result: Result) -> dict[str, dict[str, Any]]:
    return {row["order_id"]: row for row in map(json.loads, result.stdout.splitlines())}


def refunds_on_server(box: Any) -> dict[str, int]:
    return {oid: len(box.store.refunds_for(oid)) for oid in ORDER_IDS}


# Reading the id files.


def test_ids_skip_blank_lines_and_comments(tmp_path: Path) -> None:
    path = write_ids(tmp_path, "# refunds for the ZA strike\n\nZA-1001\n  ZA-1002  \r\n# done\n")
    assert read_order_ids([str(path)]) == [IdLine(str(path), 3, "ZA-1001"), IdLine(str(path), 4, "ZA-1002")]


def test_duplicate_ids_and_two_ids_on_a_line_are_problems_located_by_line(tmp_path: Path) -> None:
    first = write_ids(tmp_path, "ZA-1001\nZA-1002 ZA-1003\n", "a.txt")
    second = write_ids(tmp_path, "ZA-1001\n", "b.txt")
    try:
        read_order_ids([str(first), str(second)])
    except OrderError as exc:
        assert [str(p) for p in exc.problems] == [
            f"{first}:2: expected one order id per line, got 'ZA-1002 ZA-1003'",
            f"{second}:1: id: duplicate order id 'ZA-1001' (first at {first}:1)",
        ]
    else:
        raise AssertionError("expected OrderError")


# End to end against the sandbox.


def test_fetched_orders_are_refunded_once_and_a_rerun_sends_nothing(sandbox: Any, tmp_path: Path) -> None:
    ids = write_ids(tmp_path, "# two flights\nZA-1001\n\nZA-1002\n")
    first = submit_ids(sandbox, tmp_path, str(ids), "-", stdin="HH-2001\n")
    assert first.exit_code == ExitCode.OK, first.output
    fates = rows(first)
    assert list(fates) == ORDER_IDS
    assert {r["fate"] for r in fates.values()} == {"accepted"}
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 1)
    second = submit_ids(sandbox, tmp_path, str(ids), "-", stdin="HH-2001\n")
    assert second.exit_code == ExitCode.OK, second.output
    assert {r["note"] for r in rows(second).values()} == {"earlier run"}
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 1)


def test_an_unknown_id_sends_nothing_and_names_its_line(sandbox: Any, tmp_path: Path) -> None:
    ids = write_ids(tmp_path, "ZA-1001\nZA-9999\nHH-2001\n")
    result = submit_ids(sandbox, tmp_path, str(ids))
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert f"{ids}:2: order 'ZA-9999': cannot be fetched:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 0)
    assert not (tmp_path / "j.sqlite").exists()


def test_a_duplicated_id_sends_nothing(sandbox: Any, tmp_path: Path) -> None:
    ids = write_ids(tmp_path, "ZA-1001\nZA-1001\n")
    result = submit_ids(sandbox, tmp_path, str(ids))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{ids}:2: id: duplicate order id 'ZA-1001' (first at {ids}:1)" in result.stderr
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 0)


def test_dry_run_fetches_and_decides_but_sends_nothing(sandbox: Any, tmp_path: Path) -> None:
    ids = write_ids(tmp_path, "ZA-1001\n")
    result = submit_ids(sandbox, tmp_path, str(ids), "--dry-run")
    assert result.exit_code == ExitCode.OK, result.output
    assert rows(result)["ZA-1001"]["fate"] == "would_send"
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 0)


# Duffel through respx: no policy file covers ZZ, so the order's conditions decide.


def test_fetch_and_decide_uses_the_duffel_order_conditions() -> None:
    with respx.mock(using="httpx", base_url=API) as api:
        api.get(f"/air/orders/{ORDER_ID}").respond(200, json=fixture("order"))

        async def go() -> Any:
            adapter = DuffelAdapter(connection())
            try:
                return await fetch_and_decide(
                    adapter, [IdLine("ids.txt", 1, ORDER_ID)], load_policies(), datetime(2026, 5, 1, tzinfo=UTC), 4
                )
            finally:
                await adapter.aclose()

        [(decision, digest)] = asyncio.run(go())
    assert (decision.outcome, str(decision.refund), decision.currency) == ("partial", "80.80", "GBP")
    assert any("Duffel order conditions" in hit.note for hit in decision.rules)
    assert digest != load_policies().digest


def test_submit_fetch_confirms_the_duffel_refund_under_the_orders_own_digest(tmp_path: Path) -> None:
    ids = write_ids(tmp_path, f"{ORDER_ID}\n")
    journal = tmp_path / "j.sqlite"
    with respx.mock(using="httpx", base_url=API) as api:
        api.get(f"/air/orders/{ORDER_ID}").respond(200, json=fixture("order"))
        api.post(CREATE).respond(201, json=cancellation(**LATER))
        confirmed = fixture("order_cancellation_confirmed")
        confirmed["data"].update(LATER)
        confirm = api.post(CONFIRM).respond(200, json=confirmed)
        argv = ["submit", "--fetch", str(ids), "--adapter", "duffel", "--api", API, "--yes"]
        result = CliRunner().invoke(
            cli, [*argv, "--journal", str(journal), "-o", "jsonl", "--as-of", "2026-05-01T10:05:00Z"],
            env=cli_env(tmp_path, TOKEN),
        )  # fmt: skip
    assert result.exit_code == ExitCode.OK, result.output
    row = rows(result)[ORDER_ID]
    assert (row["fate"], row["amount"], row["currency"]) == ("accepted", "80.80", "GBP")
    assert confirm.call_count == 1
    assert TOKEN not in result.stdout + result.stderr
    data = fixture("order")["data"]
    policy, _ = conditions_policy(data, to_order(data))
    assert policy is not None
    digest = load_policies().with_fallback(policy).digest
    kept = Journal.open(journal)
    entry = kept.get(ORDER_ID)
    kept.close()
    assert entry is not None and entry.refund_status == "succeeded"
    assert entry.plan.idempotency_key == idempotency_key(ORDER_ID, "80.80", "GBP", digest)


def test_a_refused_token_stops_the_fetch_with_exit_4(sandbox: Any, tmp_path: Path) -> None:
    ids = write_ids(tmp_path, "ZA-1001\nZA-1002\n")
    argv = ["submit", "--fetch", str(ids), "--api", sandbox.base_url, "--journal", str(tmp_path / "j.sqlite")]
    result = CliRunner().invoke(cli, argv, env=cli_env(tmp_path, "wrong-secret-value"))
    assert result.exit_code == ExitCode.AUTH, result.output
    assert "wrong-secret-value" not in result.output + result.stderr
    assert "Traceback" not in result.stderr
    assert refunds_on_server(sandbox) == dict.fromkeys(ORDER_IDS, 0)


def test_a_missing_id_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["submit", "--fetch", str(tmp_path / "none.txt")], env=cli_env(tmp_path, "t"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "cannot read order ids" in result.stderr and "Traceback" not in result.stderr
