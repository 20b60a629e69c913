#!/usr/bin/env bash
# Checks the REST contract (docs/openapi.json) against the real server: starts
# `phone-agent serve` on a free loopback port with a temporary store and a fresh API key (the
# embedded defaults otherwise: local calendar, outbox and inbox, no OpenAI or Google), waits
# for /health, and runs Schemathesis over every operation (examples, coverage, fuzzing with
# positive and negative data, and the stateful phase) with a fixed seed and a bounded number of
# examples. Any finding fails the script. Checks and per-operation allowances:
# infra/local/schemathesis.toml.
#
#   bash infra/local/schemathesis.sh            # builds phone-agent (debug) if needed
#   PHONE_AGENT_BIN=path/to/phone-agent bash infra/local/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/phone-agent/target}"
bin="${PHONE_AGENT_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet -p phone-agent
  bin="$CARGO_TARGET_DIR/debug/phone-agent"
fi
command -v schemathesis >/dev/null 2>&1 || { echo "schemathesis is not installed (infra/local/install-deps.sh)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
api_key="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"

# Only what the run needs; nothing from the caller's .env or environment leaks in.
env -i PATH="$PATH" HOME="$work" \
  LISTEN_ADDR="127.0.0.1:$port" API_KEY="$api_key" \
  LOCAL_STORE_PATH="$work/store" LOCAL_ENV_FILE="$work/.env" \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$bin" serve >"$work/serve.log" 2>&1 &
server_pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -fsS "$base/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/serve.log" >&2; echo "serve exited" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$base/health" >/dev/null || { cat "$work/serve.log" >&2; echo "serve did not become healthy" >&2; exit 1; }

# The served document is the committed one (the freshness test checks the generator).
curl -fsS "$base/openapi.json" | cmp -s - docs/openapi.json \
  || { echo "GET /openapi.json differs from docs/openapi.json" >&2; exit 1; }

status=0
config="$PWD/infra/local/schemathesis.toml"
# From the temporary directory, so Schemathesis's cache (.schemathesis/) stays out of the tree.
(cd "$work" && schemathesis --config-file "$config" run "$base/openapi.json" \
  --url "$base" \
  -H "Authorization: Bearer $api_key" \
  --phases examples,coverage,fuzzing,stateful \
  --mode all \
  --seed "${SCHEMATHESIS_SEED:-20261126}" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" \
  --workers 1 \
  --request-timeout 30 \
  --no-color \
  --report junit --report-dir "$work/report") || status=$?

if [ "$status" != 0 ]; then
  echo "--- phone-agent serve log (last 80 lines) ---" >&2
  tail -n 80 "$work/serve.log" >&2
fi
exit "$status"
