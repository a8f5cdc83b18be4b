"""Peak memory of ``refundctl submit`` as the input grows, and of ``check`` with its worker processes.

Run ``python bench/memory_bench.py`` (what `make bench` measures) or ``python bench/memory_bench.py --full``
(real sends at both large sizes: about 10 minutes more on this machine). Each figure comes from a child process:

- ``submit`` (a real run, ``--no-verify-quote``, 32 in flight, ``-o jsonl``) of refundable orders
  against a fresh sandbox in its own process (the sandbox's memory is not counted), at two
  sizes (2,000 and 20,000; with ``--full``, 20,000 and 200,000), and ``submit --dry-run`` (which
  reads, validates, decides, plans and writes every row, sending nothing) at 20,000 and 200,000:
  the process's peak RSS from ``wait4`` (``ru_maxrss``; submit starts no other processes). Flat
  means each pair within 20% of each other.
- ``track -o jsonl``, ``track --overdue`` and ``reconcile -o jsonl`` over journals of 20,000 and 200,000
  refunds (sent and accepted, pending; every tenth with a platform leg paid by hand), written through the
  journal's own API (a real send of 200,000 takes minutes: ``--full`` above): the peak RSS from ``wait4``.
- ``check -o jsonl`` at its default ``--jobs`` (forked workers) over 200,000 generated orders:
  ``wait4`` gives only the largest of the parent and its workers, so the whole tree is sampled
  every 20 ms from ``/proc``: the sum of its processes' PSS (resident memory, pages shared
  between the forked processes counted once in all) and of their RSS (shared pages counted in
  every process), each at its highest.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from check_bench import AS_OF, orders_file
from generate import refundable
from submit_bench import TOKEN, sandbox

from refundctl.submit.journal import Journal, Plan, PlatformPlan

MIB = 1024  # ru_maxrss and /proc figures are in KiB

# Linux keeps a process's peak RSS across exec, and a child forked from a large process starts with the
# parent's: measured from `make bench` (the bench process holds hundreds of MiB by then), every command
# would read as large as the bench. So a small interpreter forks and execs each measured command and
# writes its wait4 figures (peak RSS KiB, CPU seconds, exit code) to the file named first.
_LAUNCHER = """\
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as f:
    json.dump([usage.ru_maxrss, usage.ru_utime + usage.ru_stime, code], f)
"""


def _launched(argv: list[str], figures: Path) -> list[str]:
    return [sys.executable, "-S", "-c", _LAUNCHER, str(figures), *argv]


def _figures(path: Path) -> tuple[int, float, int]:
    """(peak RSS in MiB, CPU seconds, exit code) that the launcher wrote."""
    peak, cpu, code = json.loads(path.read_text())
    return int(peak) // MIB, float(cpu), int(code)


def _peak(argv: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> tuple[int, float, float]:
    """Peak RSS (MiB, from wait4), CPU seconds (user + sys) and wall seconds of one child (exiting with a code in
    ``ok``); stdout to a file."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.json"
        proc = subprocess.Popen(_launched(argv, figures), stdout=out, stderr=subprocess.PIPE, env=env)
        assert proc.stderr is not None
        err = proc.stderr.read()  # never fills its pipe: submit writes a summary to stderr
        proc.wait()
        peak, cpu, code = _figures(figures)
    if code not in ok:
        raise RuntimeError(f"{argv[3:6]} exited {code}: {err[-2000:].decode()}")
    return peak, cpu, time.perf_counter() - start


def _kib(pid: int, path: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass  # the process ended between listing and reading it
    return 0


def _tree(pid: int) -> list[int]:
    """The process and its descendants, from /proc's children lists."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _tree_peak(argv: list[str]) -> tuple[int, int, int]:
    """Highest sampled PSS and RSS sums (MiB) of the process tree, and the largest process's peak (wait4)."""
    peaks = [0, 0]
    done = threading.Event()

    def sample(pid: int) -> None:
        while not done.wait(0.02):
            pids = _tree(pid)[1:]  # not the launcher
            peaks[0] = max(peaks[0], sum(_kib(p, "smaps_rollup", "Pss") for p in pids))
            peaks[1] = max(peaks[1], sum(_kib(p, "status", "VmRSS") for p in pids))

    with open(os.devnull, "w") as sink, tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.json"
        proc = subprocess.Popen(_launched(argv, figures), stdout=sink, stderr=subprocess.DEVNULL)
        sampler = threading.Thread(target=sample, args=(proc.pid,))
        sampler.start()
        try:
            proc.wait()
        finally:
            done.set()
            sampler.join()
        largest, _, code = _figures(figures)
    if code != 0:
        raise RuntimeError(f"{argv} failed")
    return peaks[0] // MIB, peaks[1] // MIB, largest


def _orders(tmp: Path, count: int) -> Path:
    orders = tmp / f"orders-{count}.jsonl"
    if not orders.exists():
        with orders.open("w") as out:
            out.writelines(json.dumps(o) + "\n" for o in refundable(count))
    return orders


SUBMIT = [sys.executable, "-m", "refundctl", "submit", "--no-verify-quote", "-o", "jsonl"]


def _send(tmp: Path, count: int) -> dict[str, Any]:
    """A real run of ``count`` refunds against a fresh sandbox: peak MiB, CPU and wall seconds."""
    orders = _orders(tmp, count)
    with sandbox(orders) as api:
        argv = [
            *SUBMIT,
            str(orders),
            "--api",
            api,
            "--journal",
            str(tmp / f"{count}.journal.sqlite"),
            "--concurrency",
            "32",
        ]
        mib, cpu, wall = _peak(argv, {**os.environ, "REFUNDCTL_TOKEN": TOKEN})
    return {"peak_mib": mib, "cpu_s": round(cpu, 1), "wall_s": round(wall, 1)}


def _journal(tmp: Path, count: int) -> Path:
    """A journal of ``count`` refunds sent and accepted (pending), due long ago; every tenth order has a platform
    leg, journaled manual and recorded paid by hand. Written a page at a time, as a run writes it."""
    path = tmp / f"read-{count}.journal.sqlite"
    if path.exists():
        return path
    journal = Journal.open(path, lock=True)
    journal.plan(
        Plan(f"J-{n}", f"rfk_{n}", Decimal("980.00"), "CNY", "partial", None, (), date(2026, 1, 1),
             PlatformPlan(f"pfk_{n}", Decimal("20.00"), None) if n % 10 == 0 else None)
        for n in range(count)
    )  # fmt: skip
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(
        "BEGIN; UPDATE refunds SET state = 'sent', sent_amount = amount, sent_at = created_at; "
        "UPDATE refunds SET state = 'accepted', refund_id = 'rf_' || seq, refund_status = 'pending', answer = '{}'; "
        "UPDATE platform_legs SET state = 'manual', error = 'by hand'; COMMIT;"
    )
    db.close()
    journal.pay_by_hand([(f"J-{n}", f"BANK-{n}") for n in range(0, count, 10)])
    journal.close()
    return path


def _reads(tmp: Path, count: int) -> dict[str, Any]:
    """Peak MiB and CPU seconds of track and reconcile reading a journal of ``count`` refunds."""
    journal = str(_journal(tmp, count))
    runs = {
        "track": ["track", "--journal", journal, "-o", "jsonl"],
        "track_overdue": ["track", "--journal", journal, "-o", "jsonl", "--overdue"],
        "reconcile": ["reconcile", "--journal", journal, "-o", "jsonl"],
    }
    figures: dict[str, Any] = {}
    for name, argv in runs.items():
        mib, cpu, _ = _peak([sys.executable, "-m", "refundctl", *argv], ok=(0, 5, 7))
        figures[name] = {"peak_mib": mib, "cpu_s": round(cpu, 1)}
    return figures


def _growth(low: int, high: int) -> float:
    return round(high / low - 1, 3)  # aim: within 0.2


def measure(
    sends: tuple[int, int] = (2_000, 20_000),
    dry_runs: tuple[int, int] = (20_000, 200_000),
    check_count: int = 200_000,
    journals: tuple[int, int] = (20_000, 200_000),
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for count in sends:
            results[f"submit_{count}"] = _send(tmp, count)
        results["submit_peak_growth"] = _growth(*(results[f"submit_{n}"]["peak_mib"] for n in sends))
        for count in dry_runs:
            mib, cpu, _ = _peak([*SUBMIT, str(_orders(tmp, count)), "--dry-run"])
            results[f"submit_dry_run_{count}"] = {"peak_mib": mib, "cpu_s": round(cpu, 1)}
        results["submit_dry_run_peak_growth"] = _growth(*(results[f"submit_dry_run_{n}"]["peak_mib"] for n in dry_runs))
        for count in journals:
            results[f"journal_reads_{count}"] = _reads(tmp, count)
        low, high = (results[f"journal_reads_{n}"] for n in journals)
        results["journal_reads_peak_growth"] = {
            name: _growth(low[name]["peak_mib"], high[name]["peak_mib"]) for name in low
        }
    path = orders_file(check_count)
    pss, rss, largest = _tree_peak([sys.executable, "-m", "refundctl", "check", "-o", "jsonl", "--as-of", AS_OF,
                                    str(path)])  # fmt: skip
    results[f"check_{check_count}_tree_peak"] = {"pss_mib": pss, "rss_mib": rss, "largest_process_mib": largest}
    return results


if __name__ == "__main__":
    full = sys.argv[1:] == ["--full"]
    print(json.dumps(measure(sends=(20_000, 200_000)) if full else measure(), indent=2))
