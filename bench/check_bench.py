"""`check -o jsonl` against a plain parse-and-reserialise loop, with peak memory.

Both run as child processes in the same run; peak RSS comes from wait4's rusage.
Memory is measured at two input sizes to show how it grows with the file. `check`
runs with its default ``--jobs`` (the CPU count) and with ``-j 1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OF = "2026-11-25T12:00:00Z"


def _run(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of one child process, its stdout discarded."""
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed")
    return elapsed, usage.ru_maxrss // 1024


def orders_file(count: int) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"orders-{count}.jsonl"
    if not path.exists():
        with path.open("w") as handle:
            subprocess.run([sys.executable, str(HERE / "generate.py"), str(count)], stdout=handle, check=True)
    return path


def measure(count: int = 200_000) -> dict[str, Any]:
    refundctl = str(Path(sys.executable).with_name("refundctl"))
    results: dict[str, Any] = {"orders": count}
    for size in (count // 4, count):
        path = orders_file(size)
        plain_s, plain_mb = _run([sys.executable, str(HERE / "plain_loop.py"), str(path)])
        orjson_s, _ = _run([sys.executable, str(HERE / "plain_loop.py"), str(path), "orjson"])
        check_s, check_mb = _run([refundctl, "check", "-o", "jsonl", "--as-of", AS_OF, str(path)])
        check1_s, check1_mb = _run([refundctl, "check", "-j", "1", "-o", "jsonl", "--as-of", AS_OF, str(path)])
        results[size] = {
            "plain_orders_per_s": round(size / plain_s),
            "plain_orjson_orders_per_s": round(size / orjson_s),
            "check_orders_per_s": round(size / check_s),
            "check_jobs1_orders_per_s": round(size / check1_s),
            "ratio": round(plain_s / check_s, 3),
            "ratio_jobs1": round(plain_s / check1_s, 3),
            "plain_peak_mib": plain_mb,
            "check_peak_mib": check_mb,
            "check_jobs1_peak_mib": check1_mb,
        }
    return results


if __name__ == "__main__":
    for key, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000).items():
        print(f"{key}: {value}")
