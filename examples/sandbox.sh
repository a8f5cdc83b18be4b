# Sourced by demo.sh and smoke.sh: start_sandbox ARGS... runs `refundctl sandbox serve ARGS...`
# in the background, exports API and REFUNDCTL_TOKEN (the supplier API), PAYMENTS_API and
# REFUNDCTL_PAYMENTS_TOKEN (its Stripe-like payments API), and stops it when the script exits.
# Called again, it starts another sandbox (and exports that one's); every one is stopped.
REFUNDCTL=${REFUNDCTL:-.venv/bin/refundctl}
SANDBOX_PIDS=()
SANDBOX_DIR=$(mktemp -d)

stop_sandbox() {
  for pid in "${SANDBOX_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$SANDBOX_DIR"
}
trap stop_sandbox EXIT

start_sandbox() {
  rm -f "$SANDBOX_DIR/config.json"
  "$REFUNDCTL" sandbox serve --print-config "$@" > "$SANDBOX_DIR/config.json" &
  SANDBOX_PIDS+=($!)
  for _ in $(seq 100); do [ -s "$SANDBOX_DIR/config.json" ] && break; sleep 0.1; done
  [ -s "$SANDBOX_DIR/config.json" ] || { echo "sandbox did not start" >&2; exit 1; }
  API=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$SANDBOX_DIR/config.json")
  REFUNDCTL_TOKEN=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$SANDBOX_DIR/config.json")
  PAYMENTS_API=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["payments_url"])' "$SANDBOX_DIR/config.json")
  REFUNDCTL_PAYMENTS_TOKEN=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["payments_token"])' "$SANDBOX_DIR/config.json")
  export API REFUNDCTL_TOKEN PAYMENTS_API REFUNDCTL_PAYMENTS_TOKEN
}
