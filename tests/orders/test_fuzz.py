"""Fuzzed order files in every input format through ``refundctl check`` (issue 11 "Keep it fixed").

A seeded generator (the same cases on every run, a few seconds in all) mutates the example
orders: hostile values in random fields (lone surrogates, deep nesting, huge numbers,
control characters, formulas, long strings, wrong types), then damaged text (flipped
bytes, truncation, stray brackets, invalid UTF-8), written as a JSON file, a JSON array,
JSON Lines or CSV. Each run must end in exit 0 with every invariant holding, or exit 2
with every message located by file and line: never exit 1, never a traceback, never a hang.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import re
import signal
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from click.testing import CliRunner

from refundctl.cli.main import cli
from tests.support.builders import flight, hotel
from tests.support.orders import FLIGHT_ROW, HOTEL_ROW, csv_text, parent_of, value_paths

SEED = 20261125
CASES = 120
AS_OF = "2026-11-25T08:00:00+08:00"
LOCATED = re.compile(r"^refundctl: (error|bad record): \S+:\d+: ")
HOSTILE_VALUES: list[Any] = [
    "\ud800", "\udfff", "\x1b[31mred", "=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "", " ", "x" * 100_000,
    -1, 0, 1e308, 10**40, True, False, None, [], {}, [[[[]]]], "[" * 40, "9" * 5000,
    "2026-02-30", "2026-11-01T10:00:00", "9999-12-31T23:59:59+00:00", "Mars/Olympus", "A" * 300,
    "../../etc/passwd", "1e5", "NaN", "-0.00", "0.001", "12.50", "JPY", "XXX", "flight", "hotel",
]  # fmt: skip
CSV_HOSTILE = [
    "yes", "1", "Y", "maybe", "TRUE", "bag=1.00:USED", "bag=1.00:maybe", "X=", "=1+1", ";;;", "a=b=c",
    '"quoted"', "line\nbreak", "\x00", "9" * 30, "-5", "2.5", "Europe/Paris", "\ud800",
]  # fmt: skip


pytestmark = pytest.mark.slow  # hundreds of generated order files through the CLI


def _set(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    target = value
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return value


def mutate_order(rng: random.Random, order: dict[str, Any]) -> Any:
    value: Any = copy.deepcopy(order)
    for _ in range(rng.randint(0, 3)):
        paths = list(value_paths(value))
        path = rng.choice(paths)
        action = rng.random()
        if action < 0.6:
            new = rng.choice(HOSTILE_VALUES)
            value = _set(value, path, _nested(rng) if new == "[" * 40 else copy.deepcopy(new))
        elif action < 0.8 and path and isinstance(parent_of(value, path), dict):
            del parent_of(value, path)[path[-1]]
        elif isinstance(value, dict):
            value[rng.choice(["extra", "id", "kind", "fare", "stay", "segments"])] = rng.choice(HOSTILE_VALUES[:12])
    return value


def _nested(rng: random.Random) -> Any:
    inner: Any = []
    for _ in range(rng.choice((20, 40, 600))):
        inner = [inner]
    return inner


def damage(rng: random.Random, data: bytes) -> bytes:
    """Text-level damage, sometimes none."""
    choice = rng.random()
    if choice < 0.55 or not data:
        return data
    at = rng.randrange(len(data))
    if choice < 0.7:
        return data[:at]
    if choice < 0.8:
        return data[:at] + bytes([rng.randrange(256)]) + data[at + 1 :]
    if choice < 0.9:
        return data[:at] + rng.choice([b"[", b"]", b"{", b"}", b",", b'"', b"\\", b"\xff", b"\n"]) + data[at:]
    return data + data[at:]


def order_file(rng: random.Random, directory: Path, case: int) -> Path:
    kind = rng.choice(["json", "array", "jsonl", "csv"])
    if kind == "csv":
        rows = [dict(rng.choice([FLIGHT_ROW, HOTEL_ROW])) for _ in range(rng.randint(1, 3))]
        for row in rows:
            row["id"] = f"C{case}-{rng.randrange(10**6)}"
            for _ in range(rng.randint(0, 2)):
                row[rng.choice(list(row))] = rng.choice(CSV_HOSTILE)
        text = csv_text(*rows).encode("utf-8", "surrogatepass")
        path = directory / f"case{case}.csv"
    else:
        orders = [mutate_order(rng, rng.choice([flight, hotel])(id=f"O{case}-{n}")) for n in range(rng.randint(1, 3))]
        if kind == "json":
            text = json.dumps(orders[0], indent=rng.choice([None, 2])).encode()
        elif kind == "array":
            text = json.dumps(orders, indent=rng.choice([None, 1, 2])).encode()
        else:
            text = "\n".join(json.dumps(order) for order in orders).encode() + b"\n"
        path = directory / f"case{case}.{'jsonl' if kind == 'jsonl' else 'json'}"
    path.write_bytes(damage(rng, text))
    return path


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def invariants_hold(stdout: str) -> None:
    for row in json.loads(stdout):
        paid, refund = Decimal(row["paid"]), Decimal(row["refund"])
        assert Decimal(0) <= refund <= paid, row
        assert refund + Decimal(row["penalty"]) + Decimal(row["non_refundable"]) == paid, row
        assert sum(Decimal(v) for v in row["funded_by"].values()) == refund, row


def run_case(path: Path, args: list[str], stdin: bytes | None = None) -> int:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        result = CliRunner().invoke(cli, ["check", "--as-of", AS_OF, *args], input=stdin)
    except Hang:
        pytest.fail(f"check hung on {path}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    context = f"{path} {args}: exit {result.exit_code}\n{result.stderr[:2000]}"
    assert result.exit_code in (0, 2), context
    assert result.exception is None or isinstance(result.exception, SystemExit), context
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, context
    if result.exit_code == 2:
        messages = [
            line for line in result.stderr.splitlines() if line.startswith(("refundctl: error:", "refundctl: bad"))
        ]
        assert messages, context
        assert all(LOCATED.match(line) for line in messages), context
    elif args[1] == "json":
        invariants_hold(result.stdout)
    elif args[1] == "csv":
        assert next(csv.reader(io.StringIO(result.stdout)))[0] == "order_id", context
    return result.exit_code


def test_fuzzed_order_files_end_in_a_result_or_a_located_error(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    outcomes: Counter[int] = Counter()
    for case in range(CASES):
        path = order_file(rng, tmp_path, case)
        fmt = rng.choice(["table", "json", "json", "jsonl", "csv"])
        args = ["-o", fmt, "-j", "2" if case % 40 == 39 else "1"]
        if rng.random() < 0.3:
            args.append("--keep-going")
            args += ["--error-report", str(tmp_path / f"case{case}.errors.jsonl")]
        if rng.random() < 0.15:
            outcomes[run_case(path, [*args, "-"], stdin=path.read_bytes())] += 1
        else:
            outcomes[run_case(path, [*args, str(path)])] += 1
    # The generator reaches both ends: good orders decided, and bad ones refused.
    assert outcomes[0] >= CASES // 10 and outcomes[2] >= CASES // 10, outcomes
