#!/usr/bin/env bash
# Installs what the tests and the local demo need, idempotently: a second run installs nothing.
#   - moto[server]: the DynamoDB / Secrets Manager emulator the AWS adapter tests talk to;
#   - twilio, openai: the official Python libraries, used as independent oracles for request
#     signatures, Realtime event shapes, Chat Completions requests and the default models'
#     lifecycle;
#   - standardwebhooks: the Standard Webhooks reference library, the oracle for our signed
#     webhooks;
#   - schemathesis: checks the REST contract (docs/openapi.json) against `phone-agent serve`
#     (infra/local/schemathesis.sh);
#   - cargo-lambda, zig (PyPI wheels) and the aarch64 Rust target: the arm64 Lambda build;
#   - npm twilio (infra/local/oracles): the official Node library, the oracle for SharedKey
#     (HMAC-SHA256) webhook signatures. `npm ci` runs only when node_modules is missing or the
#     lock file changed since the last install.
#   - chromium (apt): the headless browser the call console's test drives.
set -euo pipefail
cd "$(dirname "$0")/../.."

# openai 3.57 is the first SDK listing the gpt-realtime-2 models and gpt-transcribe: the model
# lifecycle test (crates/config/tests/model_lifecycle.rs) needs at least that.
python_packages=("moto[server]>=5" "twilio>=9" "openai>=3.57" "schemathesis>=4.32,<5" "standardwebhooks>=1")

need_pip=0
command -v moto_server >/dev/null 2>&1 || need_pip=1
command -v schemathesis >/dev/null 2>&1 || need_pip=1
python3 -c "import twilio, openai, standardwebhooks" >/dev/null 2>&1 || need_pip=1
python3 -c "
import re, sys, openai
sys.exit(tuple(int(p) for p in re.findall(r'\d+', openai.__version__)[:2]) < (3, 57))
" >/dev/null 2>&1 || need_pip=1
if [ "$need_pip" = 1 ]; then
  echo "==> installing Python test tools: ${python_packages[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${python_packages[@]}"
  # pyenv installs console scripts behind shims that need a rehash.
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

for tool in moto_server schemathesis; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is still not on PATH after installing ${python_packages[*]}" >&2
    exit 1
  fi
done

oracles=infra/local/oracles
lock_stamp="$oracles/node_modules/.installed-lock.sha256"
lock_sum="$(sha256sum "$oracles/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$lock_sum" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is needed to install the Node test oracle ($oracles)" >&2
    exit 1
  fi
  echo "==> installing the Node test oracle (npm ci in $oracles)"
  (cd "$oracles" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$lock_stamp"
fi

# Debian's Chromium: the call console's browser test (crates/phone-agent/tests/console_chromium.rs)
# drives it headless.
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium (apt) for the console's browser test"
    sudo_cmd=""
    [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium
  else
    echo "chromium is missing and apt-get is not available: the console's browser test will skip" >&2
  fi
fi

# The arm64 Lambda build (infra/lambda-build.sh): cargo-lambda and zig as prebuilt wheels from
# PyPI (seconds; `cargo install cargo-lambda` takes ~17 min on 2 cores) and the Rust target.
if ! cargo lambda --version >/dev/null 2>&1 || ! python3 -c "import ziglang" >/dev/null 2>&1; then
  echo "==> installing cargo-lambda and zig (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "cargo-lambda>=1.9" "ziglang>=0.13"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "==> installing the aarch64-unknown-linux-gnu Rust target"
  rustup target add aarch64-unknown-linux-gnu
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "==> installing rustup component $component"
    rustup component add "$component"
  fi
done
