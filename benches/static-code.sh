#!/usr/bin/env bash
# What following init code costs the static pass (issue 10): `ftaudit scan --static-only` of this
# tree against the same scan by an anchor revision that has no code pass (default: 69a4a8b, the last
# commit before it), side by side in one run, on every pinned wheel set and on the linux venv.
# Usage: benches/static-code.sh        (BENCH_RUNS, default 7; BENCH_ANCHOR, a git revision;
#        BENCH_ANCHOR_BIN, an ftaudit binary already built from it)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
runs="${BENCH_RUNS:-7}"
anchor="${BENCH_ANCHOR:-69a4a8b}"
py="${FTAUDIT_PYTHON:-python3}"
say() { printf '[static-code] %s\n' "$*" >&2; }

anchor_dir="$cache/bench/anchor-$anchor"
anchor_bin="${BENCH_ANCHOR_BIN:-$anchor_dir/target/release/ftaudit}" # an already built anchor
if [ ! -x "$anchor_bin" ]; then
  say "building the anchor $anchor in $anchor_dir"
  rm -rf "$anchor_dir"
  git -C "$root" worktree add --detach -f "$anchor_dir" "$anchor" >&2
  (cd "$anchor_dir" && cargo build --release --bin ftaudit >&2)
fi
say "building this tree"
(cd "$root" && cargo build --release --bin ftaudit >&2)

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
targets=()
for set in "$cache"/wheels/*/; do targets+=("${set%/}"); done
[ -d "$cache/venvs/linux-cp314t" ] && targets+=("$cache/venvs/linux-cp314t")
[ "${#targets[@]}" -gt 0 ] || { say "no wheel sets: run scripts/fetch-wheels.sh --all"; exit 1; }
label() { case "$1" in */venvs/*) echo "venv $(basename "$1")" ;; *) echo "wheels $(basename "$1")" ;; esac; }
for target in "${targets[@]}"; do
  name="$(label "$target")"
  # Interleaved: anchor, this tree, anchor, ... so drift on a noisy machine hits both alike.
  for _ in $(seq "$runs"); do
    for who in anchor now; do
      bin="$root/target/release/ftaudit"; [ "$who" = anchor ] && bin="$anchor_bin"
      "$py" "$root/benches/measure.py" run --out "$results" --label "$name $who" --runs 1 --warmup 0 \
        --ok 0,1,2 -- "$bin" scan "$target" --static-only --format json
    done
  done
done
ratios=()
for target in "${targets[@]}"; do
  name="$(label "$target")"
  ratios+=(--ratio "$name, now against anchor=$name now/$name anchor:<=1.3")
done
"$py" "$root/benches/measure.py" report "$results" "${ratios[@]}"
