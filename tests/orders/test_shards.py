"""``--shard K/N``: a stable hash of the order id splits a batch; N shard runs decide it exactly once."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from refundctl.cli.main import cli
from refundctl.orders.shards import Shard, parse_shard, shard_of
from refundctl.submit.run import decide_orders
from refundctl.submit.staging import Staging
from tests.support.builders import flight, hotel, with_fare, write_jsonl

AS_OF = "2026-11-25T08:00:00+08:00"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["check", *args])


@pytest.mark.parametrize(
    ("order_id", "first_8_bytes", "mod_4", "mod_1000"),
    [
        ("ZA-1001", 0x97347D832F4772FB, 3, 867),
        ("HH-2001", 0x0AD5B17B8414430E, 2, 246),
        ("例-1", 0x00A01B215DDAFC08, 0, 136),  # UTF-8 bytes, not code points
    ],
)
def test_shard_of_is_the_documented_hash(order_id: str, first_8_bytes: int, mod_4: int, mod_1000: int) -> None:
    # Pinned: SHA-256 of the UTF-8 id, first 8 bytes big-endian, mod N; any machine, any Python.
    assert first_8_bytes % 4 == mod_4 and first_8_bytes % 1000 == mod_1000
    assert shard_of(order_id, 4) == mod_4
    assert shard_of(order_id, 1000) == mod_1000


def test_unreadable_ids_belong_to_shard_0() -> None:
    for bad in (None, 42, ""):
        assert Shard(0, 3).holds(bad)
        assert not Shard(1, 3).holds(bad)


@pytest.mark.parametrize(("text", "shard"), [("0/1", Shard(0, 1)), ("3/4", Shard(3, 4)), (" 1 / 2 ", Shard(1, 2))])
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("4/4", "expected K from 0 to 3 (shards count from 0), got '4/4'"),
        ("0/0", "expected N of at least 1, got '0/0'"),
        ("1", "expected K/N such as 0/4 (K from 0 to N-1), got '1'"),
        ("-1/4", "expected K/N such as 0/4 (K from 0 to N-1), got '-1/4'"),
        ("²/4", "expected K/N such as 0/4 (K from 0 to N-1), got '²/4'"),
    ],
)
def test_bad_shard_is_a_usage_error(tmp_path: Path, value: str, message: str) -> None:
    orders = write_jsonl(tmp_path / "orders.jsonl", [flight()])
    result = run(str(orders), "--shard", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"refundctl: error: Invalid value for '--shard': {message}\n")


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    """60 orders, two bad records with ids, a duplicate id, and a line that is not JSON."""
    orders: list[object] = []
    for n in range(30):
        orders.append(flight(id=f"F-{n}"))
        orders.append(hotel(id=f"H-{n}"))
    orders += [with_fare(flight(id="BAD-1"), base="1.234"), hotel(id="F-7"), with_fare(flight(id="BAD-2"), base="x")]
    path = write_jsonl(tmp_path / "orders.jsonl", orders)
    with path.open("a") as handle:
        handle.write("{not json\n")
    return path


def _check(batch: Path, *extra: str) -> tuple[list[str], list[str]]:
    """(output lines, error-report lines) of one check run over ``batch``."""
    report = batch.with_name(f"report-{'-'.join(extra).replace('/', 'of')}.jsonl")
    result = run(str(batch), "-o", "jsonl", "--as-of", AS_OF, "--keep-going", "--error-report", str(report), *extra)
    assert result.exit_code == 2, result.stderr  # the batch has bad records
    return result.stdout.splitlines(), report.read_text().splitlines() if report.exists() else []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_shards_decide_exactly_the_unsharded_run(batch: Path, jobs: str) -> None:
    whole, whole_errors = _check(batch, "-j", jobs)
    assert len(whole) == 60 and len(whole_errors) == 4
    parts = [_check(batch, "-j", jobs, "--shard", f"{k}/3") for k in range(3)]
    lines = Counter(line for out, _ in parts for line in out)
    errors = Counter(line for _, report in parts for line in report)
    assert lines == Counter(whole)  # every decision once, none added, none lost
    assert errors == Counter(whole_errors)  # every bad record reported once: by id, or by shard 0
    assert all(out for out, _ in parts)  # the split is not degenerate
    for k, (out, _) in enumerate(parts):
        assert all(shard_of(json.loads(line)["order_id"], 3) == k for line in out)


def test_shards_of_submit_input(batch: Path) -> None:
    batch.write_text("".join(line + "\n" for line in batch.read_text().splitlines()[:60]))  # good records only
    as_of = datetime.fromisoformat(AS_OF)

    def decided(shard: Shard | None) -> set[str]:
        with Staging() as staging:
            decide_orders(staging, [str(batch)], None, as_of, shard)
            return {s.order_id for s in staging}

    whole = decided(None)
    parts = [decided(Shard(k, 4)) for k in range(4)]
    assert sum(len(p) for p in parts) == len(whole) == 60
    assert set().union(*parts) == whole
