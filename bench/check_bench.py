"""`check -o jsonl` against a plain parse-and-reserialise loop, with peak memory.

Both run as child processes in the same run; peak RSS comes from wait4's rusage.
Memory is measured at two input sizes to show how it grows with the file. `check`
runs with its default ``--jobs`` (the CPU count) and with ``-j 1``.

The figures are those of what users install: a wheel of the checkout, compiled with mypyc
as setup.py builds it, installed into a venv under bench/out/; the development install's
pure Python is measured beside it (``pure``) for comparison. ``--tiny`` measures only the
development install (building the wheel takes a minute).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
AS_OF = "2026-11-25T12:00:00Z"


def _run(argv: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + sys, its workers included) of one
    child process, its stdout discarded. CPU time is the figure to compare on a shared machine."""
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv} failed")
    return elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def orders_file(count: int) -> Path:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"orders-{count}.jsonl"
    if not path.exists():
        with path.open("w") as handle:
            subprocess.run([sys.executable, str(HERE / "generate.py"), str(count)], stdout=handle, check=True)
    return path


def _check_figures(
    refundctl: str, path: Path, size: int, plain_s: float, plain_cpu: float, prefix: str
) -> dict[str, Any]:
    """check at its default --jobs (the CPU count, 2 here, at most 8) and -j 1 against the plain loop's times."""
    check = [refundctl, "check", "-o", "jsonl", "--as-of", AS_OF, str(path)]
    check_s, check_mb, check_cpu = _run(check)
    check1_s, check1_mb, check1_cpu = _run([*check, "-j", "1"])
    figures = {
        "check_orders_per_s": round(size / check_s),
        "check_jobs1_orders_per_s": round(size / check1_s),
        "ratio": round(plain_s / check_s, 3),
        "ratio_jobs1": round(plain_s / check1_s, 3),
        "default_jobs_over_jobs1": round(check1_s / check_s, 2),
        # CPU µs per order (workers included): plain loop, check at default --jobs, check -j 1
        "cpu_us_per_order": tuple(round(cpu / size * 1e6, 1) for cpu in (plain_cpu, check_cpu, check1_cpu)),
        "cpu_ratio_jobs1": round(plain_cpu / check1_cpu, 3),
        "check_peak_mib": check_mb,
        "check_jobs1_peak_mib": check1_mb,
    }
    return {f"{prefix}{key}": value for key, value in figures.items()}


def big_order_files(tax_lines: int) -> tuple[Path, Path]:
    """One flight with ``tax_lines`` taxes: as a pretty-printed JSON array, and as one JSON line."""
    from generate import refundable  # noqa: PLC0415 - bench/ is on the path when the bench runs

    order = next(refundable(1, "BIG"))
    order["fare"]["taxes"] = [{"code": f"T{n}", "amount": "0.01"} for n in range(tax_lines)]
    OUT.mkdir(exist_ok=True)
    array, lines = OUT / f"big-{tax_lines}.json", OUT / f"big-{tax_lines}.jsonl"
    array.write_text(json.dumps([order], indent=2))
    lines.write_text(json.dumps(order) + "\n")
    return array, lines


def compiled_install() -> str:
    """The ``refundctl`` of a fresh venv under bench/out/ holding the wheel of this checkout, built as pip builds it."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support.install import build_wheels, install  # noqa: PLC0415 - the install tests' helpers

    base = OUT / "install"
    shutil.rmtree(base, ignore_errors=True)
    wheel = build_wheels(base, "compiled")["compiled"]
    return str(install(wheel, base / "venv") / "refundctl")


def measure(count: int = 200_000, tax_lines: int = 160_000, compiled: bool = True) -> dict[str, Any]:
    pure = str(Path(sys.executable).with_name("refundctl"))
    refundctl = compiled_install() if compiled else pure
    installs = {"": refundctl, "pure_": pure} if compiled else {"": pure}  # figure names' prefix: the install
    results: dict[str, Any] = {"orders": count, "build": "compiled (mypyc)" if compiled else "pure"}
    for size in (count // 4, count):
        path = orders_file(size)
        plain_s, plain_mb, plain_cpu = _run([sys.executable, str(HERE / "plain_loop.py"), str(path)])
        orjson_s, _, _ = _run([sys.executable, str(HERE / "plain_loop.py"), str(path), "orjson"])
        results[size] = {
            "plain_orders_per_s": round(size / plain_s),
            "plain_orjson_orders_per_s": round(size / orjson_s),
            "plain_peak_mib": plain_mb,
        }
        for prefix, command in installs.items():
            results[size] |= _check_figures(command, path, size, plain_s, plain_cpu, prefix)
    # One huge order: reading it as a JSON array must stay linear, close to the JSON Lines time.
    array, lines = big_order_files(tax_lines)
    array_s, _, _ = _run([refundctl, "check", "-j", "1", "-o", "jsonl", "--as-of", AS_OF, str(array)])
    lines_s, _, _ = _run([refundctl, "check", "-j", "1", "-o", "jsonl", "--as-of", AS_OF, str(lines)])
    results[f"one_order_{tax_lines}_tax_lines"] = {
        "pretty_array_mb": round(array.stat().st_size / 1e6, 1),
        "array_s": round(array_s, 2),
        "jsonl_s": round(lines_s, 2),
    }
    return results


if __name__ == "__main__":
    for key, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000).items():
        print(f"{key}: {value}")
