#!/usr/bin/env bash
# Scale benchmark: ftaudit --static-only on synthetic site-packages folders of growing size (up to
# 100,000 files with 5,000 native ones, hard links of the real cp314t extension modules and bundled
# libraries), wall time and peak memory of each, to check that memory is bounded by the largest
# file plus per-file bookkeeping, not by the tree or the sum of the native files' sizes.
# Usage: benches/scale.sh      (see benches/README.md; BENCH_RUNS, BENCH_SCALE_SIZES,
#                               BENCH_SCALE_SOURCE, BENCH_SAMPLE_MS, BENCH_PYTHON, FTAUDIT_BIN_DIR)
set -euo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_runs="${BENCH_RUNS:-3}"
# FILES/NATIVE pairs. Two small trees always come first: no native file (the process baseline)
# and the largest native file alone.
sizes="${BENCH_SCALE_SIZES:-10000/500 50000/2500 100000/5000 100000/500}"
source_sp="${BENCH_SCALE_SOURCE:-$HOME/.cache/ftaudit/venvs/linux-cp314t/lib/python3.14t/site-packages}"
pyh="${BENCH_PYTHON:-python3}" # runs the generator and the sampler only: any CPython >= 3.9
sample_ms="${BENCH_SAMPLE_MS:-1}"

[ -d "$source_sp" ] || bench_die "no source site-packages at $source_sp (scripts/make-venv.sh linux-cp314t makes it; or set BENCH_SCALE_SOURCE)"
command -v "$pyh" >/dev/null || bench_die "$pyh not found (set BENCH_PYTHON)"
[ -r /proc/self/status ] || bench_die "needs /proc (Linux): memory is sampled from /proc/PID/status"
[ -x /usr/bin/time ] || bench_log "no /usr/bin/time (apt-get install -y time): the GNU time cross-check is skipped"

# A snapshot folder of its own (lib.sh's bench_build replaces $bench_cache/bin, which another
# benchmark may be running from).
bench_cache="$bench_cache/scale" bench_build
ft="$bin_dir/ftaudit"
bench_results scale
outputs="$bench_cache/results/scale-outputs"
mkdir -p "$outputs"

# bench_machine's interpreter line does not apply: no Python runs inside the scans.
py="$pyh" py_tag=none abi_tag=none
commas() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# Trees first (made once: about 10 s for all six, on first use or when the generator changes), then the runs.
labels=() sps=() roots=()
for spec in 6/0 7/1 $sizes; do
    files="${spec%/*}" native="${spec#*/}"
    root="$bench_cache/scale-$files-$native"
    sp="$("$pyh" "$bench_dir/make_synthetic.py" --source "$source_sp" --out "$root" \
        --files "$files" --native "$native" | tail -n 1)"
    case "$native" in
        0) label="baseline: no native file" ;;
        1) label="largest native file alone" ;;
        *) label="$(commas "$files") files, $(commas "$native") native" ;;
    esac
    labels+=("$label") sps+=("$sp") roots+=("$root")
done

bench_log "timing, $bench_runs runs each after one warm-up (page cache warm), memory sampled every $sample_ms ms"
for i in "${!labels[@]}"; do
    # Exit 1 = "found error-level problems": a finished scan.
    "$pyh" "$bench_dir/scale_measure.py" run --out "$results" --label "${labels[$i]}" \
        --facts "${roots[$i]}/facts.json" --runs "$bench_runs" --warmup 1 --ok 0,1 \
        --interval-ms "$sample_ms" --report-out "$outputs/$(basename "${roots[$i]}").json" \
        -- "$ft" scan "${sps[$i]}" --static-only --format json
done

echo
echo "== scale: ftaudit scan SITE_PACKAGES --static-only --format json >/dev/null on synthetic trees, $(nproc) cores"
bench_machine | grep -v '^interpreter:'
echo "sources:     native files hard-linked from $source_sp"
echo "helpers:     $("$pyh" -c 'import sys; print(sys.executable, sys.version.split()[0])') (generator and sampler only)"
echo
"$pyh" "$bench_dir/scale_measure.py" report "$results"
echo
echo "raw records: $results"
