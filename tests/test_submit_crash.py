"""Kill ``refundctl submit`` with SIGKILL at random moments, rerun: every refund exists exactly once.

The sandbox runs in this process (so it outlives every kill) with drops and 5xx
errors on; refundctl runs in a subprocess, as a user would run it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from refundctl.errors import ExitCode
from refundctl.submit.journal import Journal

TEMPLATE = json.loads((Path(__file__).parent / "data" / "sandbox_orders.json").read_text())[2]  # a hotel, full
ORDERS = 150


def _orders(tmp_path: Path) -> tuple[Path, list[str]]:
    ids = [f"HH-{9000 + i}" for i in range(ORDERS)]
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(TEMPLATE | {"id": oid}) + "\n" for oid in ids))
    return path, ids


def test_sigkill_at_random_points_then_rerun_creates_each_refund_exactly_once(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    orders, ids = _orders(tmp_path)
    box = sandbox_factory(orders=[orders], drop_rate=0.15, error_rate=0.15, seed=5)
    journal = tmp_path / "orders.journal.sqlite"
    env = os.environ | {"REFUNDCTL_TOKEN": box.token, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("REFUNDCTL_API", None)
    argv = [
        sys.executable,
        "-m",
        "refundctl",
        "submit",
        str(orders),
        "--api",
        box.base_url,
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
    for _ in range(5):
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if journal.exists():
            j = Journal.open(journal, create=False)
            interrupted_in_flight += any(e.state == "sent" for e in j.entries())
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
    j = Journal.open(journal, create=False)
    assert {e.state for e in j.entries()} == {"accepted"}
    assert sorted(e.refund_id for e in j.entries()) == sorted(box.store.refunds_for(oid)[0].id for oid in ids)
    j.close()


def test_ctrl_c_exits_130_with_the_journal_committed(sandbox_factory: Any, tmp_path: Path) -> None:
    orders, ids = _orders(tmp_path)
    box = sandbox_factory(orders=[orders], latency_ms=20)  # slow enough to interrupt mid-run
    env = os.environ | {"REFUNDCTL_TOKEN": box.token, "XDG_CONFIG_HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "refundctl", "submit", str(orders), "--api", box.base_url, "--concurrency", "2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    j = Journal.open(tmp_path / "orders.journal.sqlite", create=False)
    accepted = {e.order_id for e in j.entries() if e.state == "accepted"}
    j.close()
    created = {oid for oid in ids if box.store.refunds_for(oid)}
    assert 0 < len(accepted) < len(ids)
    assert accepted <= created  # every refund the journal calls accepted exists on the server
