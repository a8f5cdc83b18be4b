"""`make bench`: every speed and scale figure the README reports, measured in one run."""

from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# (module in bench/, title); each has measure() -> dict
SUITES = [
    ("check_bench", "check -o jsonl vs a plain JSON loop"),
    ("sandbox_capacity", "sandbox capacity (plain aiohttp client, 32 connections)"),
    ("submit_bench", "submit vs a plain aiohttp script; rate-limited run"),
]


def main() -> None:
    results: dict[str, object] = {"machine": f"{platform.machine()}, {platform.python_version()}"}
    for module_name, title in SUITES:
        module = importlib.import_module(module_name)
        print(f"== {title}", flush=True)
        figures = module.measure()
        for key, value in figures.items():
            print(f"  {key}: {value}", flush=True)
        results[module_name] = figures
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results written to {HERE / 'out' / 'results.json'}")


if __name__ == "__main__":
    main()
