#!/usr/bin/env bash
# `make demo`: the main job end to end on the bundled sandbox and example orders.
# check -> explain -> sandbox (with injected faults) -> submit -> rerun -> track.
set -euo pipefail
cd "$(dirname "$0")/.."
REFUNDCTL=.venv/bin/refundctl
AS_OF=2026-11-25T12:00:00Z
ORDERS=(examples/orders.jsonl examples/orders-overrides.jsonl)
WORK=$(mktemp -d)
SANDBOX_PID=""

cleanup() {
  if [ -n "$SANDBOX_PID" ]; then kill -TERM "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*" >&2; }

step "1. check: what every order gets back, as of $AS_OF"
"$REFUNDCTL" check "${ORDERS[@]}" --as-of "$AS_OF"

step "2. explain: why EU261-1 gets what it gets"
"$REFUNDCTL" explain EU261-1 --orders examples/orders-overrides.jsonl --as-of "$AS_OF"

step "3. sandbox: a local refund API that drops 20% of answers and fails 10% of requests"
"$REFUNDCTL" sandbox serve --orders examples/orders.jsonl --orders examples/orders-overrides.jsonl \
  --drop-rate 0.2 --error-rate 0.1 --seed 7 --settle-after 1 --quote-as-of "$AS_OF" \
  --print-config > "$WORK/sandbox.json" &
SANDBOX_PID=$!
for _ in $(seq 100); do [ -s "$WORK/sandbox.json" ] && break; sleep 0.1; done
API=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sandbox.json")
REFUNDCTL_TOKEN=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$WORK/sandbox.json")
export REFUNDCTL_TOKEN
echo "sandbox at $API" >&2

step "4. submit: every eligible refund, retried through the faults, journaled"
"$REFUNDCTL" submit "${ORDERS[@]}" --api "$API" --as-of "$AS_OF" --journal "$WORK/demo.journal.sqlite"

step "5. submit again: the journal skips what is done; nothing is sent twice"
"$REFUNDCTL" submit "${ORDERS[@]}" --api "$API" --as-of "$AS_OF" --journal "$WORK/demo.journal.sqlite" -o csv \
  | cut -d, -f1-4

sleep 1.5
step "6. track --sync: follow the refunds until the supplier settles them"
"$REFUNDCTL" track --journal "$WORK/demo.journal.sqlite" --sync
