"""`make bench`: every speed and scale figure the README reports, measured in one run.

``--tiny`` runs every suite once at a tiny size (seconds in all, figures neither reported
nor written): `make test` runs it so that a broken bench fails the tests instead of rotting.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# (module in bench/, title, measure() arguments for --tiny); each has measure(**kwargs) -> dict
SUITES: list[tuple[str, str, dict[str, Any]]] = [
    ("help_bench", "refundctl --help (aim: under 0.3 s)", {"runs": 2}),
    ("check_bench", "check -o jsonl vs a plain JSON loop (compiled install; pure beside it)",
     {"count": 400, "tax_lines": 2_000, "compiled": False}),
    ("sandbox_capacity", "sandbox capacity (plain aiohttp client, 32 connections)",
     {"seconds": 0.2, "order_count": 2_000}),
    ("submit_bench", "submit vs a plain aiohttp script; rate-limited run",
     {"count": 40, "limited_count": 40, "transport_count": 20}),
    ("stripe_client_bench", "platform leg: refundctl's Stripe adapter vs the official stripe library", {"count": 20}),
    ("memory_bench", "peak memory: submit at two sizes (and --dry-run), track and reconcile, check with its workers",
     {"sends": (50, 100), "dry_runs": (50, 100), "check_count": 200, "journals": (50, 100)}),
]  # fmt: skip


def main() -> None:
    tiny = sys.argv[1:] == ["--tiny"]
    results: dict[str, object] = {"machine": f"{platform.machine()}, {platform.python_version()}"}
    for module_name, title, tiny_kwargs in SUITES:
        module = importlib.import_module(module_name)
        print(f"== {title}{' (tiny, figures not reported)' if tiny else ''}", flush=True)
        figures = module.measure(**(tiny_kwargs if tiny else {}))
        for key, value in figures.items():
            print(f"  {key}: {value}", flush=True)
        results[module_name] = figures
    if tiny:
        return
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results written to {HERE / 'out' / 'results.json'}")


if __name__ == "__main__":
    main()
