#!/usr/bin/env bash
# The build `sam build` runs: `cargo lambda build --release --arm64` of every function under
# functions/, then checks each `bootstrap` is an arm64 Linux executable.
#
# Target dir: LAMBDA_TARGET_DIR, default ~/.cache/phone-agent/lambda-target (outside the clone,
# so later runs and other clones are incremental). Needs cargo-lambda, zig and the
# aarch64-unknown-linux-gnu Rust target: infra/local/install-deps.sh installs them.
# Times (cold, warm, after a change) are in docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${LAMBDA_TARGET_DIR:-$HOME/.cache/phone-agent/lambda-target}"
packages=()
names=()
for manifest in functions/*/Cargo.toml; do
    name="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1)"
    packages+=(-p "$name")
    names+=("$name")
done

echo "==> cargo lambda build --release --arm64 (${#names[@]} functions, into $target_dir)"
started=$(date +%s)
# Its own target dir: an aarch64 release build shares nothing with the dev build.
CARGO_TARGET_DIR="$target_dir" cargo lambda build --release --arm64 "${packages[@]}"

for name in "${names[@]}"; do
    binary="$target_dir/lambda/$name/bootstrap"
    python3 - "$binary" <<'PY'
import os, struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    header = f.read(20)
# ELF magic, 64-bit, little-endian, e_machine 0xB7 (AArch64).
if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
    sys.exit(f"{path}: not a 64-bit little-endian ELF file")
machine = struct.unpack_from("<H", header, 18)[0]
if machine != 0xB7:
    sys.exit(f"{path}: e_machine {machine:#x}, not AArch64 (0xb7)")
if not os.access(path, os.X_OK):
    sys.exit(f"{path}: not executable")
print(f"    {path}: arm64 ELF, {os.path.getsize(path) / 1048576:.1f} MB")
PY
done
echo "    arm64 build of ${#names[@]} functions in $(( $(date +%s) - started )) s"
