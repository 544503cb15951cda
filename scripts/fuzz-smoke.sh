#!/usr/bin/env bash
# Fuzz smoke test: builds the cargo-fuzz targets in fuzz/, replays each committed corpus and
# fuzzes each target for FUZZ_SECONDS more (default 20), failing on any crash, timeout or OOM.
# New inputs go to a scratch folder: the committed corpora are only read.
#
# Needs a nightly toolchain (libFuzzer's instrumentation is nightly-only). Without one it says
# so and exits 0. cargo-fuzz is installed into ~/.cargo/bin when missing.
#
#   scripts/fuzz-smoke.sh [TARGET...]        # default: every target
#
# FUZZ_SECONDS        fresh fuzzing per target after the corpus replay (default 20)
# FUZZ_SANITIZER      cargo fuzz --sanitizer (default none: the code under test is safe Rust
#                     apart from mmap; use "address" to run it under ASan too)
# FUZZ_OVERFLOW_CHECKS=1  build with debug assertions and overflow checks (cargo fuzz's own
#                     default) instead of plain --release. Off by default: the shipped binary
#                     wraps (the overflows found so far are fixed; see fuzz/README.md).
# CARGO_BUILD_JOBS    as for cargo (set it to 1 on a shared machine)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
build=(--sanitizer "$sanitizer" --release)
mode="release, no overflow checks"
if [[ "${FUZZ_OVERFLOW_CHECKS:-0}" == 1 ]]; then
  build=(--sanitizer "$sanitizer" --debug-assertions)
  mode="debug assertions and overflow checks"
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(static_analyze wheel metadata worker_protocol)

if ! command -v rustup >/dev/null || ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz-smoke: SKIPPED: no nightly toolchain (rustup toolchain install nightly); the fuzz targets need one"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked
fi

# -max_len per target: the largest input worth mutating (binaries, wheels, text).
max_len() {
  case "$1" in
    static_analyze) echo 65536 ;;
    wheel) echo 262144 ;;
    *) echo 65536 ;;
  esac
}

started=$SECONDS
echo "fuzz-smoke: building ${targets[*]} (sanitizer $sanitizer, $mode)"
for target in "${targets[@]}"; do
  cargo +nightly fuzz build "${build[@]}" "$target"
done
echo "fuzz-smoke: built in $((SECONDS - started)) s"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target/new" "$scratch/$target/artifacts"
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  echo "fuzz-smoke: $target: $(find "$corpus" -type f | wc -l) corpus files, then ${seconds} s of fuzzing"
  if cargo +nightly fuzz run "${build[@]}" "$target" \
    "$scratch/$target/new" "$corpus" -- \
    -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/$target/artifacts/" -print_final_stats=1 \
    >"$scratch/$target/log" 2>&1; then
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
      "$scratch/$target/log" | tr '\n' ' ' | sed "s/^/fuzz-smoke: $target: /"
    echo
  else
    failed+=("$target")
    echo "fuzz-smoke: $target FAILED; the end of its log:"
    tail -n 60 "$scratch/$target/log"
    mkdir -p fuzz/artifacts/"$target"
    cp -v "$scratch/$target/artifacts/"* fuzz/artifacts/"$target"/ 2>/dev/null || true
  fi
done
echo "fuzz-smoke: done in $((SECONDS - started)) s"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz-smoke: FAILED: ${failed[*]} (reproducers copied to fuzz/artifacts/<target>/;" \
    "replay one with: cargo +nightly fuzz run ${build[*]} <target> <file>)"
  exit 1
fi
echo "fuzz-smoke: OK"
