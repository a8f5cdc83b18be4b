"""Deterministic output: the same orders, policies and --as-of give byte-identical output
in separate processes, whatever their string hash seed (set and dict-of-set iteration order).

Two interpreters with different ``PYTHONHASHSEED`` each run ``check -o jsonl`` over the
example orders and the policy test-case orders, and ``explain -o json`` for every order
in them; their outputs must be the same bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import flight, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
ORDERS = [
    ROOT / "examples" / "orders.jsonl",
    ROOT / "examples" / "orders-overrides.jsonl",
    ROOT / "policies" / "tests" / "orders.jsonl",
]
AS_OF = ["2026-11-25T12:00:00Z", "2026-12-02T08:00:00+08:00"]


def two_segments() -> dict[str, Any]:
    """Out flown, back scheduled: the engine's partly-flown case, priced per segment."""
    order = flight(id="TWO-SEGMENTS")
    out = dict(order["segments"][0], status="flown", base="400.00")
    back = dict(order["segments"][0], **{"from": "PEK", "to": "PVG", "flight": "ZA124"}, base="600.00")
    back.update(departs_at="2026-12-05T08:00:00+08:00", arrives_at="2026-12-05T10:15:00+08:00", status="scheduled")
    order["segments"] = [out, back]
    return order


def outputs_per_hash_seed(seeds: tuple[str, ...], paths: list[Path], home: Path) -> list[dict[str, Any]]:
    """One interpreter per seed, side by side: each one's outputs, keyed by command line."""
    argv = [sys.executable, "-m", "tests.support.outputs", ",".join(AS_OF), *map(str, paths)]
    base = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDCTL_")}
    procs = [
        subprocess.Popen(argv, cwd=ROOT, env={**base, "PYTHONHASHSEED": seed, "XDG_CONFIG_HOME": str(home)},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in seeds
    ]  # fmt: skip
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        runs.append(json.loads(out))
    return runs


@pytest.mark.slow  # two interpreters
def test_check_and_explain_are_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    paths = [*ORDERS, write_jsonl(tmp_path / "two-segments.jsonl", [two_segments()])]
    first, second = outputs_per_hash_seed(("1", "2"), paths, tmp_path)
    checks = [argv for argv in first if argv.startswith("check ")]
    explains = [argv for argv in first if argv.startswith("explain ")]
    assert (len(checks), len(explains)) == (2 * 4, 2 * (12 + 8 + 19 + 1))  # every instant, file and order
    assert all(first[argv][0] == 0 and first[argv][1] for argv in first), first  # real output, not errors
    assert sum(first[argv][1].count("\n") for argv in checks) == 2 * 40  # one jsonl row per order
    assert first == second
