"""How long `refundctl --help` takes: what a user waits for at every tab completion and typo.

Run ``python bench/help_bench.py [RUNS]``: the median and the slowest of RUNS runs of the
installed entry point (aim: under 0.3 s on the project's machine).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def measure(runs: int = 20) -> dict[str, Any]:
    refundctl = str(Path(sys.executable).with_name("refundctl"))
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([refundctl, "--help"], capture_output=True, check=True)
        seconds.append(time.perf_counter() - start)
    return {"runs": runs, "help_median_s": round(statistics.median(seconds), 3), "help_max_s": round(max(seconds), 3)}


if __name__ == "__main__":
    print(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
