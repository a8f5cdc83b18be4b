"""Exit codes survive a closed pipe (`refundctl ... | head -1`).

Each command runs as a real process whose stdout is a pipe the reader has already closed,
so every write meets EPIPE: the command must still exit with the code it earned (or 141,
the shell's code for SIGPIPE, when it stopped early and had earned nothing else), and
still print its summary on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from refundctl.errors import ExitCode
from tests.support.builders import FLIGHT, write_jsonl
from tests.support.sandbox import SandboxFactory

REFUNDCTL = str(Path(sys.executable).with_name("refundctl"))
ORDERS = Path(__file__).parents[1] / "data" / "sandbox_orders.json"
AS_OF = "2026-11-25T12:00:00Z"


pytestmark = pytest.mark.slow  # real processes in real shell pipes


def closed_pipe(tmp_path: Path, *args: str, token: str = "") -> tuple[int, str]:
    """Run refundctl with stdout a pipe closed before the first write; its exit code and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDCTL_")}
    env.update({"REFUNDCTL_TOKEN": token, "XDG_CONFIG_HOME": str(tmp_path / "no-config")})
    read, write = os.pipe()
    os.close(read)  # the reader is gone before refundctl writes a byte
    try:
        done = subprocess.run([REFUNDCTL, *args], stdout=write, stderr=subprocess.PIPE, text=True, env=env, check=False)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    return done.returncode, done.stderr


def many_orders(tmp_path: Path, count: int, bad_first: bool = False) -> Path:
    orders = [{**FLIGHT, "id": f"P-{i}"} for i in range(count)]
    path = write_jsonl(tmp_path / "many.jsonl", orders)
    if bad_first:
        path.write_text("{bad\n" + path.read_text())
    return path


def test_check_that_decided_everything_keeps_exit_0(tmp_path: Path) -> None:
    code, err = closed_pipe(tmp_path, "check", str(many_orders(tmp_path, 3)), "--as-of", AS_OF, "-o", "jsonl")
    assert code == ExitCode.OK
    assert "refundctl: 3 order(s) decided: 3 partial" in err


def test_check_keep_going_keeps_exit_2_for_a_bad_record_already_read(tmp_path: Path) -> None:
    orders = many_orders(tmp_path, 3000, bad_first=True)
    args = ["check", str(orders), "--keep-going", "--as-of", AS_OF, "-o", "jsonl", "-j", "1"]
    code, err = closed_pipe(tmp_path, *args)
    assert code == ExitCode.BAD_INPUT
    assert "bad record(s) with 1 problem(s); report written to" in err


def test_check_streaming_into_a_closed_pipe_stops_early_with_141(tmp_path: Path) -> None:
    orders = many_orders(tmp_path, 3000)
    code, err = closed_pipe(tmp_path, "check", str(orders), "--keep-going", "--as-of", AS_OF, "-o", "jsonl", "-j", "1")
    assert code == ExitCode.CLOSED_PIPE == 141
    assert "output closed by its reader; the remaining orders were not decided" in err


def test_track_overdue_keeps_exit_5(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    box = sandbox_factory(settle_after=0.1, failure_rate=1.0)
    journal = tmp_path / "orders.journal.sqlite"
    code, _ = closed_pipe(tmp_path, "submit", str(ORDERS), "--api", box.base_url, "--journal", str(journal),
                          token=box.token)  # fmt: skip
    assert code == ExitCode.OK
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    code, err = closed_pipe(tmp_path, "track", "--journal", str(journal), "--overdue", "--as-of", later)
    assert code == ExitCode.OVERDUE
    assert "refundctl: 3 refund(s), 3 overdue" in err


def test_submit_with_refunds_left_undone_keeps_exit_3(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    box = sandbox_factory(quote_skew="-10")
    journal = tmp_path / "orders.journal.sqlite"
    code, _ = closed_pipe(tmp_path, "submit", str(ORDERS), "--api", box.base_url, "--journal", str(journal),
                          token=box.token)  # fmt: skip
    assert code == ExitCode.PARTIAL


def test_smoke_mismatch_keeps_exit_7(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    box = sandbox_factory(quote_skew="-10")
    order = json.loads(ORDERS.read_text())[0]["id"]
    code, err = closed_pipe(tmp_path, "smoke", "--api", box.base_url, "--order", order, token=box.token)
    assert code == ExitCode.MISMATCH
    assert "smoke failed at step quote" in err


def test_ctrl_c_with_workers_prints_no_worker_tracebacks(tmp_path: Path) -> None:
    orders = tmp_path / "many.jsonl"
    generate = Path(__file__).resolve().parents[2] / "bench" / "generate.py"
    with orders.open("w") as handle:
        subprocess.run([sys.executable, str(generate), "40000"], stdout=handle, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUNDCTL_")}
    args = [REFUNDCTL, "check", str(orders), "-j", "2", "--as-of", AS_OF, "-o", "jsonl"]
    with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                          start_new_session=True) as proc:  # fmt: skip
        time.sleep(1.5)  # workers started and deciding
        assert proc.poll() is None, "check finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does: the whole group
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err
    assert err.strip() == "refundctl: error: interrupted"
