#!/usr/bin/env bash
# `make smoke` (part of `make test`): refundctl smoke end to end against the bundled sandbox,
# exactly as a user's CI job would run it against a supplier's test mode.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/sandbox.sh
AS_OF=2026-11-25T12:00:00Z

start_sandbox --orders examples/orders.jsonl --seed 1 --settle-after 0.2 --quote-as-of "$AS_OF"
"$REFUNDCTL" smoke --api "$API" --adapter sandbox --order ZA-1001 --as-of "$AS_OF" --commit --wait 10
