#!/usr/bin/env bash
# Builds ftaudit and its worker against the provisioned free-threaded CPython.
# Usage: scripts/build.sh [--release]   (prints the folder holding the two binaries, last line)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_flags+=(--release); fi

python="$(scripts/provision-python.sh | tail -n 1)"
# The worker embeds this interpreter; pyo3 reads PYO3_PYTHON at build time.
export PYO3_PYTHON="$python"
echo "[build] cargo build ($profile) with PYO3_PYTHON=$python" >&2
cargo build "${cargo_flags[@]}" --workspace --bins >&2
echo "$PWD/target/$profile"
