"""One run, many suppliers: each refund through its supplier's target, each target paced on its own.

End to end against two real sandboxes on loopback (routing, track --sync, a rerun after a crash,
the dry run's estimate), and with respx on virtual time for the 429 isolation between targets.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from click.testing import CliRunner, Result

from refundctl.adapters import Connection
from refundctl.cli.main import cli
from refundctl.config import Target
from refundctl.errors import ExitCode
from refundctl.submit.fates import Fate
from refundctl.submit.journal import Entry, Journal, Plan
from refundctl.submit.pipeline import Settings
from refundctl.submit.routes import send_lanes
from refundctl.submit.run import decide_orders
from refundctl.submit.staging import Staging
from tests.support.clock import VirtualTime

DATA = Path(__file__).parent.parent / "data"
ORDERS = DATA / "sandbox_orders.json"  # ZA-1001, ZA-1002 (supplier ZA) and HH-2001 (supplier HARBOR-SHA)
AS_OF = "2026-11-25T12:00:00Z"
PROFILE = """\
profile = "disruption"

[profiles.disruption]
{default}

[profiles.disruption.targets.zephyr]
suppliers = [{za}]
api = "{a}"
token_env = "ZEPHYR_TOKEN"
rate = 10
concurrency = 2

[profiles.disruption.targets.hotels]
suppliers = [{hh}]
api = "{b}"
token_env = "HOTELS_TOKEN"
rate = 2
"""


def _profile(tmp_path: Path, a: Any, b: Any, *, default: str = "", za: str = '"ZA"', hh: str = '"HARBOR-SHA"') -> None:
    default_line = f'default_target = "{default}"' if default else ""
    text = PROFILE.format(default=default_line, za=za, hh=hh, a=a.base_url, b=b.base_url)
    (tmp_path / "config.toml").write_text(text)


def _run(tmp_path: Path, a: Any, b: Any, *args: str) -> Result:
    env = {
        "REFUNDCTL_CONFIG": str(tmp_path / "config.toml"),
        "ZEPHYR_TOKEN": a.token,
        "HOTELS_TOKEN": b.token,
        "REFUNDCTL_TOKEN": None,
        "REFUNDCTL_API": None,
        "REFUNDCTL_PROFILE": None,
    }
    return CliRunner().invoke(cli, list(args), env=env)


def _submit(tmp_path: Path, a: Any, b: Any, *args: str) -> Result:
    argv = ["submit", str(ORDERS), "--as-of", AS_OF, "--journal", str(tmp_path / "j.sqlite"), "-o", "jsonl"]
    return _run(tmp_path, a, b, *argv, *args)


def _on(box: Any) -> dict[str, int]:
    return {oid: n for oid in ("ZA-1001", "ZA-1002", "HH-2001") if (n := len(box.store.refunds_for(oid)))}


@pytest.fixture
def boxes(sandbox_factory: Any) -> tuple[Any, Any]:
    return sandbox_factory(settle_after=0), sandbox_factory(settle_after=0)


def test_orders_of_two_suppliers_go_to_two_targets_and_track_asks_each(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    result = _submit(tmp_path, a, b)
    assert result.exit_code == 0, result.output
    assert {json.loads(line)["fate"] for line in result.stdout.splitlines()} == {"accepted"}
    assert (_on(a), _on(b)) == ({"ZA-1001": 1, "ZA-1002": 1}, {"HH-2001": 1})
    db = sqlite3.connect(tmp_path / "j.sqlite")
    assert dict(db.execute("SELECT order_id, target FROM refunds")) == {
        "ZA-1001": "zephyr", "ZA-1002": "zephyr", "HH-2001": "hotels"}  # fmt: skip
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key LIKE 'api:%'"))
    assert meta == {"api:zephyr": a.base_url, "api:hotels": b.base_url}
    # Each refund is known only to the sandbox that created it: asking the other would be answered 404.
    tracked = _run(tmp_path, a, b, "track", "--journal", str(tmp_path / "j.sqlite"), "--sync", "-o", "jsonl")
    assert tracked.exit_code == 0, tracked.output
    assert {json.loads(line)["status"] for line in tracked.stdout.splitlines()} == {"succeeded"}
    assert "could not sync" not in tracked.stderr


def test_a_supplier_without_a_target_is_refused_before_anything_is_sent(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b, hh='"OTHER"')
    result = _submit(tmp_path, a, b)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"profile 'disruption' in {tmp_path / 'config.toml'} routes no target for these suppliers" in result.stderr
    assert "supplier 'HARBOR-SHA': 1 order(s) (HH-2001)" in result.stderr
    assert "add them to a target's suppliers, or set default_target" in result.stderr
    assert (_on(a), _on(b)) == ({}, {}) and not (tmp_path / "j.sqlite").exists()
    _profile(tmp_path, a, b, hh='"OTHER"', default="hotels")  # the default target takes the unlisted supplier
    assert _submit(tmp_path, a, b).exit_code == 0
    assert (_on(a), _on(b)) == ({"ZA-1001": 1, "ZA-1002": 1}, {"HH-2001": 1})


def test_flags_for_one_api_are_refused_with_a_routed_profile(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    for args, said in ((("--api", a.base_url), "--api would send"), (("--rate", "5/s"), "--rate cannot apply")):
        result = _submit(tmp_path, a, b, *args)
        assert result.exit_code == 2 and said in result.stderr, result.output
    assert (_on(a), _on(b)) == ({}, {})


def test_a_rerun_after_a_crash_keeps_each_refund_on_its_target(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    # The state a crash leaves: every plan journaled with its target, ZA-1001's refund committed sent, no answer.
    with Staging() as staging:
        decide_orders(staging, [str(ORDERS)], None, datetime.fromisoformat(AS_OF))
        orders = list(staging)
    targets = {"ZA": "zephyr", "HH": "hotels"}  # by the order id's prefix: ZA-1001, ZA-1002, HH-2001
    plans = [replace(s.plan, target=targets[s.order_id[:2]]) for s in orders if s.plan is not None]
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.plan(plans)
    journal.mark_sent("ZA-1001", plans[0].amount, None, None)
    journal.close()
    # The profile now routes ZA to the hotels target: the journaled refunds still go through zephyr.
    _profile(tmp_path, a, b, za='"ZA", "HARBOR-SHA"', hh='"NONE"')
    result = _submit(tmp_path, a, b, "--no-verify-quote")
    assert result.exit_code == 0, result.output
    assert (_on(a), _on(b)) == ({"ZA-1001": 1, "ZA-1002": 1}, {"HH-2001": 1})


def test_dry_run_estimates_each_target_at_its_rate(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    result = _submit(tmp_path, a, b, "--dry-run")
    assert result.exit_code == 0, result.output
    table = [line.split() for line in result.stderr.splitlines() if line.startswith(("zephyr", "hotels"))]
    assert table == [
        ["zephyr", a.base_url, "sandbox", "2", "2310.00", "CNY", "4", "10/s", "0.4", "s"],
        ["hotels", b.base_url, "sandbox", "1", "1060.00", "CNY", "2", "2/s", "1.0", "s"],
    ]
    assert "refundctl: estimate: at least 1.0 s, the slowest target's (hotels) at its rate limit" in result.stderr
    assert (_on(a), _on(b)) == ({}, {})
    sharded = _submit(tmp_path, a, b, "--dry-run", "--shard", "0/2", "--no-verify-quote")
    assert "each target's rate is shared by 2 shards: zephyr 5/s, hotels 1/s" in sharded.stderr


def _plan(order_id: str, target: str, amount: str = "100.00") -> Plan:
    return Plan(order_id, f"rfk_{order_id}", Decimal(amount), "CNY", "full", None, (), None, target=target)


def test_a_429_from_one_target_slows_that_target_only(tmp_path: Path) -> None:
    """Target A answers its first refund 429 with Retry-After: 30; B's refunds keep their own pace, 5/s."""
    time = VirtualTime()
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.plan([*(_plan(f"A{i}", "a") for i in range(3)), *(_plan(f"B{i}", "b") for i in range(4))])
    starts: dict[str, list[float]] = {"a.test": [], "b.test": []}

    def answer(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        starts[host].append(time.now)
        body = json.loads(request.content)
        if host == "a.test" and len(starts[host]) == 1:
            return httpx.Response(429, headers={"Retry-After": "30"}, json={"error": {"type": "rate_limited"}})
        refund = {"id": f"rf_{body['order_id']}", "order_id": body["order_id"], "amount": body["amount"],
                  "currency": "CNY", "status": "pending", "failure_reason": None}  # fmt: skip
        return httpx.Response(201, json=refund)

    def lane(name: str, rate: float) -> tuple[Target, Connection]:
        api = f"http://{name}.test"
        # One attempt: the 429 is not retried here (tenacity's own waits are not on the virtual clock).
        return Target(api, "sandbox", "t", name, rate, 4), Connection(api, "t", time.limiter(rate), max_attempts=1)

    lanes = {"a": lane("a", 10), "b": lane("b", 5)}
    with respx.mock(using="httpx") as router:
        router.post(url__regex=r"http://[ab]\.test/v1/refunds").mock(side_effect=answer)
        settings = Settings(concurrency=4, verify_quote=False)
        fates: dict[str, Fate] = {}

        def mine(name: str) -> list[Entry]:
            return [e for e in journal.entries() if e.plan.target == name]

        answered, unanswered = time.run(
            send_lanes(lanes, journal, mine, settings, None, lambda f: fates.update({f.order_id: f}))
        )
    journal.close()
    assert starts["b.test"] == [0.0, 0.2, 0.4, 0.6000000000000001]  # B at its own rate, never paused
    assert starts["a.test"][:2] == [0.0, 30.0] and starts["a.test"][2] == pytest.approx(30.1)  # A waited 30 s
    assert (lanes["a"][1].limiter.pauses, lanes["b"][1].limiter.pauses) == (1, 0)
    assert {oid: f.fate for oid, f in fates.items()} == {"A0": "failed", **{o: "accepted" for o in ("A1", "A2",
                                                          "B0", "B1", "B2", "B3")}}  # fmt: skip
    assert (answered, unanswered) == (6, 1)


def test_track_asks_only_the_targets_with_open_legs(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    assert _submit(tmp_path, a, b).exit_code == 0
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.record_status("HH-2001", status="succeeded", answer={})
    journal.close()
    no_hotels_token = replace(b, token="")
    tracked = _run(
        tmp_path, a, no_hotels_token, "track", "--journal", str(tmp_path / "j.sqlite"), "--sync", "-o", "jsonl"
    )
    assert tracked.exit_code == 0, tracked.output  # the hotels target, with nothing open, was not asked
    assert {json.loads(line)["status"] for line in tracked.stdout.splitlines()} == {"succeeded"}


def test_a_target_the_profile_no_longer_has_is_an_error_not_a_guess(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    assert _submit(tmp_path, a, b).exit_code == 0
    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace("targets.hotels]", "targets.harbor]"))
    again = _submit(tmp_path, a, b)
    assert again.exit_code == 2 and again.stdout == ""
    assert "has no target 'hotels' (known: zephyr, harbor); refunds journaled through it are sent and tracked only " \
        "through it: restore the target in the profile" in again.stderr  # fmt: skip
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.record_status("HH-2001", status="pending", answer={})  # still open: track must ask its target
    journal.close()
    tracked = _run(tmp_path, a, b, "track", "--journal", str(tmp_path / "j.sqlite"), "--sync")
    assert tracked.exit_code == 2 and "has no target 'hotels'" in tracked.stderr
    assert (_on(a), _on(b)) == ({"ZA-1001": 1, "ZA-1002": 1}, {"HH-2001": 1})


def test_smoke_with_a_routed_profile_tests_the_target_named(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    smoke = ["smoke", "--order", "HH-2001", "--as-of", AS_OF, "--max-attempts", "2"]
    unnamed = _run(tmp_path, a, b, *smoke)
    assert unnamed.exit_code == ExitCode.BAD_INPUT and unnamed.stdout == ""
    assert "name the one to smoke-test with --target (one of: zephyr, hotels)" in unnamed.stderr
    passed = _run(tmp_path, a, b, *smoke, "--target", "hotels")
    assert passed.exit_code == 0, passed.stderr
    assert f"smoke: passed against {b.base_url} (sandbox)" in passed.stdout
    unknown = _run(tmp_path, a, b, *smoke, "--target", "trains")
    assert unknown.exit_code == ExitCode.BAD_INPUT
    assert "has no target 'trains' (known: zephyr, hotels)" in unknown.stderr


def test_smoke_target_without_a_routed_profile_is_refused(boxes: tuple[Any, Any], tmp_path: Path) -> None:
    a, b = boxes
    (tmp_path / "config.toml").write_text("")
    result = _run(tmp_path, a, b, "smoke", "--api", a.base_url, "--order", "ZA-1001", "--target", "zephyr")
    assert result.exit_code == ExitCode.BAD_INPUT and result.stdout == ""
    assert "--target zephyr: the profile routes no suppliers to targets" in result.stderr


def test_track_sync_of_a_routed_journal_without_a_routed_profile_says_which_profile_to_pass(
    boxes: tuple[Any, Any], tmp_path: Path
) -> None:
    a, b = boxes
    _profile(tmp_path, a, b)
    assert _submit(tmp_path, a, b).exit_code == 0
    journal = Journal.open(tmp_path / "j.sqlite")
    journal.record_status("HH-2001", status="pending", answer={})  # still open: track must ask its target
    journal.close()
    (tmp_path / "config.toml").write_text("")  # a profile that routes nothing
    tracked = _run(tmp_path, a, b, "track", "--journal", str(tmp_path / "j.sqlite"), "--sync")
    assert tracked.exit_code == 2 and tracked.stdout == ""
    assert "the journal's refunds went through target 'hotels' of a routed profile: pass that profile" in tracked.stderr
