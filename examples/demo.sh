#!/usr/bin/env bash
# `make demo`: decide the bundled example orders with the shipped policies.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
AS_OF=2026-11-25T12:00:00Z

echo "== refundctl check: fare rules and hotel rate plans (as of $AS_OF)" >&2
"$BIN/refundctl" check examples/orders.jsonl --as-of "$AS_OF"
