#!/usr/bin/env bash
# `make demo`: the main job end to end on the bundled sandbox and example orders.
# check -> explain -> sandbox (with injected faults) -> submit in legs -> rerun -> track -> reconcile
# -> one run over two suppliers, each on its own sandbox at its own rate.
set -euo pipefail
cd "$(dirname "$0")/.."
source examples/sandbox.sh
AS_OF=2026-11-25T12:00:00Z
ORDERS=(examples/orders.jsonl examples/orders-overrides.jsonl)
JOURNAL="$SANDBOX_DIR/demo.journal.sqlite"

step() { printf '\n== %s\n' "$*" >&2; }

step "1. check: what every order gets back, as of $AS_OF"
"$REFUNDCTL" check "${ORDERS[@]}" --as-of "$AS_OF"

step "2. explain: why EU261-1 gets what it gets"
"$REFUNDCTL" explain EU261-1 --orders examples/orders-overrides.jsonl --as-of "$AS_OF"

step "3. sandbox: a local refund API (and a Stripe-like payments API) that drop 20% of answers and fail 10% of requests"
start_sandbox --orders examples/orders.jsonl --orders examples/orders-overrides.jsonl \
  --drop-rate 0.2 --error-rate 0.1 --seed 7 --settle-after 1 --quote-as-of "$AS_OF"
echo "sandbox at $API" >&2

step "4. submit: every eligible refund, each leg by its payer (GOODWILL-1 and FRONTLINE-1: supplier, then platform through Stripe), retried through the faults, journaled"
"$REFUNDCTL" submit "${ORDERS[@]}" --api "$API" --payments stripe --payments-api "$PAYMENTS_API" \
  --as-of "$AS_OF" --journal "$JOURNAL"

step "5. submit again: the journal skips what is done; nothing is sent twice"
"$REFUNDCTL" submit "${ORDERS[@]}" --api "$API" --payments stripe --payments-api "$PAYMENTS_API" \
  --as-of "$AS_OF" --journal "$JOURNAL" -o csv | cut -d, -f1-4

sleep 1.5
step "6. track --sync: follow every leg until the supplier and the payments provider settle it"
"$REFUNDCTL" track --journal "$JOURNAL" --sync

step "7. reconcile: each order's decided refund against each payer's confirmed leg; totals per payer"
"$REFUNDCTL" reconcile --journal "$JOURNAL"

step "8. one run, many suppliers (examples/routed.toml): ZA's refunds to one sandbox at 10/s, HARBOR-SHA's to another at 2/s"
start_sandbox --orders examples/orders.jsonl --orders examples/orders-overrides.jsonl --quote-as-of "$AS_OF"
ZEPHYR_API=$API ZEPHYR_TOKEN=$REFUNDCTL_TOKEN
start_sandbox --orders examples/orders.jsonl --orders examples/orders-overrides.jsonl --quote-as-of "$AS_OF"
HARBOR_API=$API HARBOR_TOKEN=$REFUNDCTL_TOKEN
export ZEPHYR_TOKEN HARBOR_TOKEN REFUNDCTL_CONFIG="$SANDBOX_DIR/routed.toml"
sed -e "s#http://127.0.0.1:8081#$ZEPHYR_API#" -e "s#http://127.0.0.1:8082#$HARBOR_API#" examples/routed.toml > "$REFUNDCTL_CONFIG"
"$REFUNDCTL" submit "${ORDERS[@]}" --as-of "$AS_OF" --dry-run -o csv > /dev/null  # the estimate, per target, on stderr
"$REFUNDCTL" submit "${ORDERS[@]}" --as-of "$AS_OF" --journal "$SANDBOX_DIR/routed.journal.sqlite" -o csv | cut -d, -f1-4 \
  || true  # exit 3: two platform legs are left to pay by hand (no --payments here)

step "9. settle: the two platform legs paid by hand are recorded with their transfers' references; a rerun now sends nothing and exits 0"
printf 'order_id,reference\nGOODWILL-1,BANK-TX-0001\nFRONTLINE-1,BANK-TX-0002\n' > "$SANDBOX_DIR/hand-payments.csv"
"$REFUNDCTL" settle --journal "$SANDBOX_DIR/routed.journal.sqlite" --from "$SANDBOX_DIR/hand-payments.csv"
"$REFUNDCTL" submit "${ORDERS[@]}" --as-of "$AS_OF" --journal "$SANDBOX_DIR/routed.journal.sqlite" -o csv | cut -d, -f1-4 \
  | grep -E '^(order_id|GOODWILL-1|FRONTLINE-1),'
