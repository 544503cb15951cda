#!/usr/bin/env bash
# Import-probe benchmark: `ftaudit scan VENV` (static + probe; with and without subinterpreters)
# against a naive loop starting one fresh interpreter per extension module with the same
# parallelism, and against the floor: every module imported once in one process.
# Usage: benches/probe.sh        (see benches/README.md; BENCH_RUNS, BENCH_JOBS, FTAUDIT_BIN_DIR)
set -euo pipefail
# shellcheck source=benches/lib.sh
source "$(dirname "$0")/lib.sh"
bench_runs="${BENCH_RUNS:-3}"

bench_interpreter
bench_build
# The venv: the pinned real set fixtures/wheels/linux-<tag>.txt where it is its own dependency
# closure (BENCH_SET=bench picks the benchmark's own list instead), else benches/wheels-<tag>.txt.
set_file="$bench_root/fixtures/wheels/linux-$py_tag.txt"
if [ "${BENCH_SET:-}" != bench ] && grep -q '^# @closure' "$set_file" 2>/dev/null; then
    [ -z "${BENCH_TAG:-}" ] || [ "$BENCH_TAG" = "$py_tag" ] || bench_die "probe.sh imports the modules: BENCH_TAG must be the interpreter's own tag ($py_tag)"
    FTAUDIT_PYTHON="$py" "$bench_root/scripts/fetch-wheels.sh" "linux-$py_tag" >/dev/null
    venv_dir="$(FTAUDIT_PYTHON="$py" "$bench_root/scripts/make-venv.sh" "linux-$py_tag" | tail -n 1)"
    site_packages="$("$venv_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')"
    bench_log "probing the real set linux-$py_tag installed in $venv_dir"
else
    bench_wheels
    bench_venv
    [ "$install_kind" = venv ] || bench_die "probe.sh imports the modules: BENCH_TAG must be the interpreter's own tag ($py_tag), not $abi_tag"
fi
bench_results probe
ft="$bin_dir/ftaudit"
vpy="$venv_dir/bin/python"
outputs="$bench_cache/results/probe-outputs"
mkdir -p "$outputs"
modules="$outputs/modules.txt"
"$py" "$bench_dir/modules.py" "$site_packages" >"$modules"
count="$(wc -l <"$modules")"

# The naive check, as a CI job would write it: a fresh interpreter per module, its own timeout.
# One os.write per answer: parallel processes share the output file, and a single small write
# is never interleaved with another.
naive_code='import importlib, os, sys
name = sys.argv[1]
try:
    importlib.import_module(name)
except BaseException as e:
    os.write(1, f"{name} error {type(e).__name__}\n".encode())
    raise SystemExit(1)
os.write(1, f"{name} {sys._is_gil_enabled()}\n".encode())'
naive=(xargs -a "$modules" -P "$bench_jobs" -n 1 env -u PYTHON_GIL timeout 60 "$vpy" -c "$naive_code")

# Exit statuses: ftaudit 1 = error findings, 2 = something could not be checked (these inputs
# have modules that fail to import); xargs 123 = some command failed (a failed import).
bench_log "untimed runs, to compare what each approach reports"
"$ft" scan "$venv_dir" --format json --jobs "$bench_jobs" >"$outputs/ftaudit-probe.json" || [ $? -le 2 ]
"${naive[@]}" >"$outputs/naive.txt" 2>/dev/null || [ $? -eq 123 ]

bench_log "timing, $bench_runs runs each after one warm-up"
bench_time "ftaudit scan venv, static + probe with subinterpreters" 0,1,2 \
    "$ft" scan "$venv_dir" --format json --jobs "$bench_jobs"
bench_time "ftaudit scan venv, static + probe --no-subinterpreters" 0,1,2 \
    "$ft" scan "$venv_dir" --format json --jobs "$bench_jobs" --no-subinterpreters
bench_time "ftaudit scan venv --static-only" 0,1 \
    "$ft" scan "$venv_dir" --format json --static-only
bench_time "naive loop, one interpreter per module (xargs -P $bench_jobs)" 0,123 "${naive[@]}"
bench_time "floor, every module imported once in one process" 0 "$vpy" "$bench_dir/import_all.py" "$modules"

echo
echo "== import probe: $count files named like extension modules in $venv_dir, parallelism $bench_jobs"
bench_machine
echo
echo "what each approach reported (untimed run; outputs in $outputs):"
"$py" "$bench_dir/coverage.py" ftaudit="$outputs/ftaudit-probe.json"
"$py" "$bench_dir/compare_probe.py" "$outputs/ftaudit-probe.json" "$outputs/naive.txt"
echo
"$py" "$bench_dir/measure.py" report "$results" \
    --ratio "naive loop vs ftaudit (with subinterpreters)=naive loop/ftaudit scan venv, static + probe with subinterpreters:>=15" \
    --ratio "naive loop vs ftaudit --no-subinterpreters=naive loop/ftaudit scan venv, static + probe --no-subinterpreters:>=3" \
    --ratio "ftaudit (with subinterpreters) vs floor=ftaudit scan venv, static + probe with subinterpreters/floor:<=3" \
    --ratio "ftaudit --no-subinterpreters vs floor=ftaudit scan venv, static + probe --no-subinterpreters/floor" \
    --ratio "subinterpreter imports' share=ftaudit scan venv, static + probe with subinterpreters/ftaudit scan venv, static + probe --no-subinterpreters"
echo
echo "raw records: $results"
