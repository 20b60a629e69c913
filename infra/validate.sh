#!/usr/bin/env bash
# Deployment checks that run offline:
#   1. cfn-lint on template.yaml and infra/stream-host/fargate.yaml
#   2. sam validate --lint on template.yaml (SAM transform + cfn-lint), with a dummy region
#   3. systemd-analyze verify on the stream host unit (when systemd-analyze exists)
#   4. opt-in (--cross-build or VALIDATE_CROSS_BUILD=1): infra/lambda-build.sh, the arm64
#      build `sam build` runs (infra/local/test.sh runs it as its own step).
# Installs cfn-lint and aws-sam-cli with pip when missing (idempotent). The template-vs-crates
# check and the Lambda entry-point tests are Rust tests (crates/deploy-checks), run by
# `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

cross_build="${VALIDATE_CROSS_BUILD:-0}"
for arg in "$@"; do
    case "$arg" in
        --cross-build) cross_build=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
    esac
done

step() { echo "==> $*"; }

pip_install() {
    # $1 = command that must exist, rest = pip requirement(s)
    local cmd="$1"; shift
    if ! command -v "$cmd" >/dev/null 2>&1; then
        step "pip install $*"
        python3 -m pip install --quiet --disable-pip-version-check "$@"
    fi
}

pip_install cfn-lint cfn-lint
pip_install sam aws-sam-cli

step "cfn-lint template.yaml infra/stream-host/fargate.yaml"
cfn-lint template.yaml infra/stream-host/fargate.yaml

# sam validate needs a region, never credentials or the network for --lint; dummy values keep
# it from looking for a profile. Telemetry off: no network call from CI.
step "sam validate --lint"
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
AWS_REGION="${AWS_REGION:-us-east-1}" \
AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-AKIAVALIDATEONLY0000}" \
AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-validate-only}" \
SAM_CLI_TELEMETRY=0 \
    sam validate --lint --template template.yaml

if command -v systemd-analyze >/dev/null 2>&1; then
    step "systemd-analyze verify infra/stream-host/systemd/stream-host.service"
    # The binary and user exist only on the target host; everything else must be clean.
    out="$(systemd-analyze verify infra/stream-host/systemd/stream-host.service 2>&1 || true)"
    unexpected="$(printf '%s\n' "$out" | grep -v -e '^$' -e 'is not executable' -e 'stream-host' || true)"
    if [ -n "$unexpected" ]; then
        printf '%s\n' "$out" >&2
        exit 1
    fi
else
    echo "    (systemd-analyze not installed: unit file not verified)"
fi

if [ "$cross_build" = "1" ]; then
    bash infra/lambda-build.sh
else
    echo "    (cross-build skipped here: infra/lambda-build.sh runs it, and test.sh calls that)"
fi
echo "==> deployment checks passed"
