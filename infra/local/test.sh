#!/usr/bin/env bash
# The README's test command: installs what it needs, then runs formatting, lint, the template
# checks and every test (the store suite against the embedded store and against moto's DynamoDB,
# signature and event oracles, loopback Twilio/OpenAI/Google test servers, the Lambda entry
# points under a Runtime API emulator), then Schemathesis over the REST contract and the arm64
# release build of every Lambda function.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash infra/local/install-deps.sh

# Builds are reused across clones (CI, fresh checkouts) from a cache outside the tree.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/phone-agent/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

echo "==> cargo build (every function binary and the stream host)"
cargo build --workspace --bins

echo "==> template and infrastructure checks (cfn-lint, sam validate --lint)"
bash infra/validate.sh

echo "==> cargo test"
cargo test --workspace --no-fail-fast

echo "==> schemathesis: the REST contract (docs/openapi.json) against phone-agent serve"
PHONE_AGENT_BIN="$CARGO_TARGET_DIR/debug/phone-agent" bash infra/local/schemathesis.sh

echo "==> arm64 release build of every Lambda function (what sam build runs)"
bash infra/lambda-build.sh
