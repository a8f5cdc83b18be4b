"""Kill ``refundctl submit`` with SIGKILL at random moments, rerun: every leg of every refund exists exactly once.

The sandbox runs in this process (so it outlives every kill) with drops and 5xx
errors on, on both its APIs: the supplier's and the payments provider's (Stripe-like);
refundctl runs in a subprocess, as a user would run it. Half the orders are refunded
in two legs (a goodwill code makes the platform fund 20.00 of each), half in one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from refundctl.errors import ExitCode
from refundctl.submit.journal import Journal
from tests.support.builders import GOODWILL
from tests.support.sandbox import PAYMENTS_TOKEN

TEMPLATE = json.loads((Path(__file__).parents[1] / "data" / "sandbox_orders.json").read_text())[2]  # a hotel, full
ORDERS = 150


pytestmark = pytest.mark.slow  # real processes killed at random points, then rerun


def _orders(tmp_path: Path) -> tuple[Path, list[str]]:
    """Hotels refunded whole by the supplier, and goodwill flights in two legs (supplier 1530.00, platform 20.00)."""
    ids = [f"HH-{9000 + i}" for i in range(ORDERS // 2)] + [f"GW-{9000 + i}" for i in range(ORDERS // 2)]
    records = [TEMPLATE | {"id": oid} for oid in ids[: ORDERS // 2]]
    records += [GOODWILL | {"id": oid, "payment_reference": f"pi_{oid.replace('-', '')}"} for oid in ids[ORDERS // 2 :]]
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path, ids


def test_sigkill_at_random_points_then_rerun_creates_each_refund_exactly_once(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    orders, ids = _orders(tmp_path)
    box = sandbox_factory(orders=[orders], drop_rate=0.15, error_rate=0.15, seed=5)
    journal = tmp_path / "orders.journal.sqlite"
    env = os.environ | {
        "REFUNDCTL_TOKEN": box.token,
        "REFUNDCTL_PAYMENTS_TOKEN": PAYMENTS_TOKEN,
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    env.pop("REFUNDCTL_API", None)
    argv = [
        sys.executable,
        "-m",
        "refundctl",
        "submit",
        str(orders),
        "--api",
        box.base_url,
        "--payments",
        "stripe",
        "--payments-api",
        box.payments_url,
        "--retry-failed",
        "--concurrency",
        "8",
        "--max-attempts",
        "3",
        "--max-time",
        "5",
        "-o",
        "jsonl",
    ]
    rng = random.Random(20261125)
    interrupted_in_flight = 0
    startup: float | None = None
    for _ in range(5):
        started = time.monotonic()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if startup is None:
            # Kill while sending, however long start-up takes on a loaded machine: measured once, by
            # the time the first run takes to create its journal.
            while not journal.exists() and proc.poll() is None and time.monotonic() - started < 20:
                time.sleep(0.02)
            startup = time.monotonic() - started
        time.sleep(max(0.0, started + startup - time.monotonic()) + rng.uniform(0.05, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if journal.exists():
            j = Journal.open(journal, create=False)
            interrupted_in_flight += any(leg.state == "sent" for e in j.entries() for leg in e.legs)
            j.close()

    for _ in range(6):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == ExitCode.OK:
            break
        assert done.returncode == ExitCode.PARTIAL, done.stderr
    assert done.returncode == ExitCode.OK, done.stderr

    assert interrupted_in_flight > 0  # some kill hit requests in flight, or this test proved nothing
    counts = {oid: len(box.store.refunds_for(oid)) for oid in ids}
    assert counts == dict.fromkeys(ids, 1)
    two_legs = [oid for oid in ids if oid.startswith("GW-")]
    platform = {oid: box.ledger.refunds_of(f"pi_{oid.replace('-', '')}") for oid in two_legs}
    assert {oid: tuple(r.amount for r in refunds) for oid, refunds in platform.items()} == dict.fromkeys(
        two_legs, (2000,)
    )
    assert {box.store.refunds_for(oid)[0].amount for oid in two_legs} == {Decimal("1530.00")}
    j = Journal.open(journal, create=False)
    assert {e.state for e in j.entries()} == {"accepted"}
    assert sorted(e.refund_id for e in j.entries()) == sorted(box.store.refunds_for(oid)[0].id for oid in ids)
    legs = {e.order_id: e.platform for e in j.entries() if e.platform is not None}
    assert sorted(legs) == sorted(two_legs)
    assert {leg.state for leg in legs.values()} == {"accepted"}
    assert {oid: leg.refund_id for oid, leg in legs.items()} == {
        oid: refunds[0].id for oid, refunds in platform.items()
    }
    j.close()


def _wait_for_accepted(journal: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
                if db.execute("SELECT 1 FROM refunds WHERE state = 'accepted' LIMIT 1").fetchone():
                    return
        except sqlite3.OperationalError:
            pass  # not created yet, or its tables not yet
        time.sleep(0.02)
    raise AssertionError(f"no refund accepted within {timeout} s (exit code {proc.poll()})")


def test_ctrl_c_exits_130_with_the_journal_committed(sandbox_factory: Any, tmp_path: Path) -> None:
    orders, ids = _orders(tmp_path)
    box = sandbox_factory(orders=[orders], latency_ms=50)  # slow enough to interrupt mid-run
    env = os.environ | {"REFUNDCTL_TOKEN": box.token, "XDG_CONFIG_HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "refundctl", "submit", str(orders), "--api", box.base_url, "--concurrency", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Interrupt once the journal has an accepted refund, not after a fixed time: on a loaded machine
    # a fixed time may come before the first answer.
    _wait_for_accepted(tmp_path / "orders.journal.sqlite", proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert "Traceback" not in stderr
    j = Journal.open(tmp_path / "orders.journal.sqlite", create=False)
    accepted = {e.order_id for e in j.entries() if e.state == "accepted"}
    j.close()
    created = {oid for oid in ids if box.store.refunds_for(oid)}
    assert 0 < len(accepted) < len(ids)
    assert accepted <= created  # every refund the journal calls accepted exists on the server
    # Where the run stands, and the command that resumes it.
    said = re.search(
        r"refundctl: error: interrupted: (\d+) accepted, (\d+) in flight, (\d+) not yet sent(?:, (\d+) otherwise "
        r"settled or refused)?; the journal is committed\nrefundctl: error: resume with: (.+)\n",
        stderr,
    )
    assert said is not None, stderr
    counts = [int(n or 0) for n in said.groups()[:4]]
    assert sum(counts) == len(ids)
    resume = shlex.split(said.group(5))
    journal = str(tmp_path / "orders.journal.sqlite")
    assert resume == [
        "refundctl",
        "submit",
        str(orders),
        "--api",
        box.base_url,
        "--concurrency",
        "2",
        "--journal",
        journal,
    ]
    done = subprocess.run(
        [sys.executable, "-m", *resume], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == ExitCode.PARTIAL, done.stderr  # the platform legs are left to pay by hand
    assert {oid: len(box.store.refunds_for(oid)) for oid in ids} == dict.fromkeys(ids, 1)


def test_four_runs_on_one_journal_one_at_a_time_each_refund_once(sandbox_factory: Any, tmp_path: Path) -> None:
    """Issue 11: four processes on one journal once moved accepted rows back to failed. Now the first holds
    the journal; the others are refused naming it (or, started after it ended, find everything done)."""
    ids = [f"HH-{7000 + i}" for i in range(25)]
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(json.dumps(TEMPLATE | {"id": oid}) + "\n" for oid in ids))
    box = sandbox_factory(orders=[orders], latency_ms=30)  # 25 orders one at a time: seconds of holding
    env = os.environ | {"REFUNDCTL_TOKEN": box.token, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("REFUNDCTL_API", None)
    argv = [sys.executable, "-m", "refundctl", "submit", str(orders), "--api", box.base_url, "--concurrency", "1"]
    runs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    ended = [(proc.wait(timeout=120), proc.communicate()[1]) for proc in runs]
    refused = [stderr for code, stderr in ended if code == ExitCode.BAD_INPUT]
    assert {code for code, _ in ended} <= {ExitCode.OK, ExitCode.BAD_INPUT}, ended
    assert refused, "no run overlapped another: this test proved nothing"
    pids = {str(proc.pid) for proc in runs}
    for stderr in refused:
        said = re.search(r"is in use by another refundctl run \(pid (\d+) on .+, since 20\d\d-", stderr)
        assert said is not None and said.group(1) in pids, stderr
    j = Journal.open(tmp_path / "orders.journal.sqlite", create=False)
    assert {e.state for e in j.entries()} == {"accepted"}
    j.close()
    assert {oid: len(box.store.refunds_for(oid)) for oid in ids} == dict.fromkeys(ids, 1)
