"""Run as ``python -m tests.support.outputs AS_OF[,AS_OF...] ORDERS...``: every output the determinism test compares.

Prints one JSON object: at each instant, for each orders file, ``check -o jsonl``'s exit
code, stdout and stderr, and for each order id in it, ``explain -o json``'s. The test runs this in
two processes with different ``PYTHONHASHSEED`` and compares the two byte for byte.
"""

from __future__ import annotations

import json
import sys

import orjson
from click.testing import CliRunner

from refundctl.cli.main import cli


def outputs(instants: list[str], paths: list[str]) -> dict[str, tuple[int, str, str]]:
    runner = CliRunner()
    runs: dict[str, tuple[int, str, str]] = {}
    for as_of, path in ((as_of, path) for as_of in instants for path in paths):
        argvs = [["check", path, "--as-of", as_of, "-o", "jsonl"]]
        with open(path, encoding="utf-8") as lines:
            ids = [orjson.loads(line)["id"] for line in lines if line.strip()]
        argvs += [["explain", order_id, "--orders", path, "--as-of", as_of, "-o", "json"] for order_id in ids]
        for argv in argvs:
            result = runner.invoke(cli, argv)
            runs[" ".join(argv)] = (result.exit_code, result.stdout, result.stderr)
    return runs


if __name__ == "__main__":
    json.dump(outputs(sys.argv[1].split(","), sys.argv[2:]), sys.stdout)
