#!/usr/bin/env bash
# Builds ftaudit, ftaudit-embed, and one worker library per CPython ABI it serves.
#
#   scripts/build.sh [--release]     prints the folder holding them (last line)
#
# A worker links no libpython: pyo3 is given a configuration file per ABI (version, free-threaded
# or not, link lines suppressed), so no interpreter is needed to build it, and one build serves
# every interpreter of that ABI wherever it came from. At run time ftaudit asks the environment's
# interpreter about itself and runs the matching worker inside it (embedded through
# ftaudit-embed where libpython is shared, hosted by the interpreter where it is static).
#
# ABIs: $FTAUDIT_WORKER_ABIS (e.g. "3.14t"), else crates/ftaudit-worker/abis.
# Each worker is built in a target folder of its own (pyo3 is configured per ABI, so one folder
# would rebuild it at every switch) and copied next to ftaudit as ftaudit-worker-<abi>.so.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
cargo_flags=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_flags+=(--release); fi
target="${CARGO_TARGET_DIR:-$PWD/target}"
# Cross builds (the wheel's aarch64): CARGO_BUILD_TARGET puts the output under target/<triple>/.
out_dir="$target/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}$profile"

read -r -a abis <<<"${FTAUDIT_WORKER_ABIS:-$(grep -v '^#' crates/ftaudit-worker/abis | tr '\n' ' ')}"

echo "[build] cargo build ($profile): ftaudit, ftaudit-embed" >&2
cargo build "${cargo_flags[@]}" --bins --package ftaudit --package ftaudit-embed >&2
# Workers from an earlier build (and the linked worker binaries of before) must not be picked.
rm -f "$out_dir"/ftaudit-worker-*

for abi in "${abis[@]}"; do
  scripts/lib/worker-pyo3-config.sh "$abi" "$target/worker-$abi/pyo3-config.txt"
  echo "[build] cargo build ($profile): ftaudit-worker-$abi.so" >&2
  PYO3_CONFIG_FILE="$target/worker-$abi/pyo3-config.txt" CARGO_TARGET_DIR="$target/worker-$abi" \
    cargo build "${cargo_flags[@]}" --package ftaudit-worker >&2
  cp -f "$target/worker-$abi/${CARGO_BUILD_TARGET:+$CARGO_BUILD_TARGET/}$profile/libftaudit_worker.so" \
    "$out_dir/ftaudit-worker-$abi.so"
done
echo "$out_dir"
