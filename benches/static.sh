#!/usr/bin/env bash
# Static-pass benchmark: ftaudit --static-only on a folder of real free-threaded wheels and on a
# venv of the same wheels, against abi3t-doctor, abi3audit and the zlib floor. With BENCH_TAG set to
# another tag than the interpreter's (e.g. cp314t), the wheels are that tag's and the venv is a bare
# site-packages folder made by pip install --target: the static pass runs no Python code.
# Usage: benches/static.sh        (see benches/README.md; BENCH_RUNS, BENCH_JOBS, BENCH_TAG, FTAUDIT_BIN_DIR)
set -euo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_runs="${BENCH_RUNS:-5}"

bench_interpreter
bench_build
bench_wheels
bench_venv
bench_tools
bench_results "static$tag_suffix"
ft="$bin_dir/ftaudit"
doctor="$tools_dir/bin/abi3t-doctor"
audit="$tools_dir/bin/abi3audit"
target="$py_version${abi_tag##*[0-9]}" # e.g. 3.13t: abi3t-doctor's --target spelling
wheels=("$wheels_dir"/*.whl)
kind="$install_kind" # "venv", or "site-packages" for a bare folder (BENCH_TAG)
outputs="$bench_cache/results/static-outputs$tag_suffix"
mkdir -p "$outputs"

# Exit 1 = "found error-level problems", which these inputs have: a finished scan, not a failure.
bench_log "untimed runs, to see what each tool covers"
"$ft" scan "$wheels_dir" --static-only --format json >"$outputs/ftaudit-wheels.json" || [ $? -le 1 ]
"$ft" scan "$venv_dir" --static-only --format json >"$outputs/ftaudit-$kind.json" || [ $? -le 1 ]
"$doctor" wheel --target "$target" --format json "${wheels[@]}" >"$outputs/abi3t-wheel.json" || [ $? -le 1 ]
"$doctor" env --target "$target" --path "$site_packages" --format json >"$outputs/abi3t-env.json" || [ $? -le 1 ]
"$audit" --report "${wheels[@]}" >"$outputs/abi3audit.json" 2>/dev/null || [ $? -le 1 ]

bench_log "timing, $bench_runs runs each after one warm-up (page cache warm)"
bench_time "ftaudit --static-only, wheel folder" 0,1 \
    "$ft" scan "$wheels_dir" --static-only --format json
bench_time "ftaudit --static-only, wheel folder, RAYON_NUM_THREADS=1" 0,1 \
    env RAYON_NUM_THREADS=1 "$ft" scan "$wheels_dir" --static-only --format json
bench_time "ftaudit --static-only, $kind" 0,1 \
    "$ft" scan "$venv_dir" --static-only --format json
bench_time "abi3t-doctor wheel, wheel folder" 0,1 \
    "$doctor" wheel --target "$target" --format json "${wheels[@]}"
bench_time "abi3t-doctor env, $kind" 0,1 \
    "$doctor" env --target "$target" --path "$site_packages" --format json
bench_time "abi3audit, wheel folder" 0,1 \
    "$audit" --report "${wheels[@]}"
bench_log "floor: inflating the native members with zlib on one core"
"$py" "$bench_dir/inflate_floor.py" "$wheels_dir" --runs "$bench_runs" >>"$results"

echo
echo "== static pass: ${#wheels[@]} pinned $abi_tag wheels (${wheel_list#"$bench_root"/}) and their $kind, ftaudit on $bench_jobs cores"
bench_machine
echo
echo "what each tool covered (untimed run; outputs in $outputs):"
"$py" "$bench_dir/coverage.py" ftaudit="$outputs/ftaudit-wheels.json" ftaudit="$outputs/ftaudit-$kind.json" \
    abi3t-wheel="$outputs/abi3t-wheel.json" abi3t-env="$outputs/abi3t-env.json" abi3audit="$outputs/abi3audit.json"
echo
"$py" "$bench_dir/measure.py" report "$results" \
    --ratio "ftaudit wheels vs floor (extension modules, 1 core)=ftaudit --static-only, wheel folder/floor: zlib inflate, 1 core, extension modules:<=1.3" \
    --ratio "ftaudit wheels vs floor (all native files, 1 core)=ftaudit --static-only, wheel folder/floor: zlib inflate, 1 core, all native files:<=1.3" \
    --ratio "ftaudit wheels, 1 thread vs all threads=ftaudit --static-only, wheel folder, RAYON_NUM_THREADS=1/ftaudit --static-only, wheel folder" \
    --ratio "abi3t-doctor wheel vs ftaudit wheels=abi3t-doctor wheel, wheel folder/ftaudit --static-only, wheel folder:>=3" \
    --ratio "abi3t-doctor env vs ftaudit $kind=abi3t-doctor env, $kind/ftaudit --static-only, $kind:>=20" \
    --ratio "abi3audit vs ftaudit wheels=abi3audit, wheel folder/ftaudit --static-only, wheel folder" \
    --throughput "ftaudit --static-only, wheel folder=floor: zlib inflate, 1 core, extension modules" \
    --throughput "ftaudit --static-only, $kind=floor: zlib inflate, 1 core, all native files" \
    --throughput "floor: zlib inflate, 1 core, all native files=floor: zlib inflate, 1 core, all native files"
echo
echo "raw records: $results"
