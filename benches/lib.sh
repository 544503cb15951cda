# Shared set-up for benches/*.sh (sourced, not run). Everything it makes is cached under
# $FTAUDIT_BENCH_CACHE (default ~/.cache/ftaudit/bench) and reused while the pinned list and the
# interpreter are unchanged.
#
# Knobs (environment):
#   BENCH_RUNS           timed runs per command (default 5 for static.sh, 3 for probe.sh; at least 3)
#   BENCH_JOBS           parallelism for ftaudit --jobs and the naive loop (default: nproc)
#   FTAUDIT_BIN_DIR      use the ftaudit/ftaudit-worker in this folder instead of building
#   BENCH_TOOLS_PYTHON   a default-build CPython for abi3t-doctor/abi3audit (default python3.11)
#   FTAUDIT_BENCH_CACHE  cache folder

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_dir="$bench_root/benches"
bench_cache="${FTAUDIT_BENCH_CACHE:-$HOME/.cache/ftaudit/bench}"
bench_jobs="${BENCH_JOBS:-$(nproc)}"

bench_log() { echo "[bench] $*" >&2; }
bench_die() { echo "[bench] error: $*" >&2; exit 1; }

# Sets: py (provisioned free-threaded interpreter), py_version (X.Y), abi_tag (cp313t),
# machine (x86_64), wheel_list (benches/wheels-<abi_tag>.txt).
bench_interpreter() {
    py="$("$bench_root/scripts/provision-python.sh" | tail -n 1)"
    [ -x "$py" ] || bench_die "scripts/provision-python.sh did not print an interpreter (got '$py')"
    local facts
    facts="$("$py" -c 'import sys, sysconfig, platform
v = sys.version_info
print(f"{v.major}.{v.minor}", f"cp{v.major}{v.minor}{sys.abiflags}", platform.machine(), sys.platform,
      sysconfig.get_config_var("Py_GIL_DISABLED") or 0)')"
    read -r py_version abi_tag machine py_platform gil_disabled <<<"$facts"
    [ "$gil_disabled" = 1 ] || bench_die "$py is not a free-threaded build"
    [ "$py_platform" = linux ] || bench_die "the pinned wheel lists are manylinux wheels; $py runs on $py_platform"
    wheel_list="$bench_dir/wheels-$abi_tag.txt"
    [ -f "$wheel_list" ] || bench_die "no pinned wheel list for $abi_tag: write $wheel_list (see benches/README.md)"
}

# Sets: bin_dir (folder with ftaudit and ftaudit-worker).
bench_build() {
    if [ -n "${FTAUDIT_BIN_DIR:-}" ]; then
        bin_dir="$FTAUDIT_BIN_DIR"
    else
        bench_log "building ftaudit (release)"
        bin_dir="$("$bench_root/scripts/build.sh" --release | tail -n 1)"
    fi
    [ -x "$bin_dir/ftaudit" ] || bench_die "no ftaudit binary in $bin_dir"
    # A snapshot, so a rebuild in the shared target folder cannot swap binaries between runs.
    # ftaudit finds its worker next to itself; the worker's rpath to libpython is absolute.
    local snapshot="$bench_cache/bin"
    rm -rf "$snapshot" && mkdir -p "$snapshot"
    cp "$bin_dir/ftaudit" "$snapshot/"
    if [ -x "$bin_dir/ftaudit-worker" ]; then cp "$bin_dir/ftaudit-worker" "$snapshot/"; fi
    bin_from="$bin_dir"
    bin_dir="$snapshot"
}

# A stamp names what a cached folder was made from; a changed list or interpreter remakes it.
bench_stamp() { { cat "$wheel_list"; echo "$py $py_version $abi_tag $machine"; } | sha256sum | cut -c1-16; }

# Sets: wheels_dir (every pinned wheel for the interpreter's tag).
bench_wheels() {
    wheels_dir="$bench_cache/wheels-$abi_tag"
    local stamp
    stamp="$(bench_stamp)"
    if [ "$(cat "$wheels_dir/.stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
    bench_log "downloading the wheels pinned in ${wheel_list#"$bench_root"/} into $wheels_dir"
    local tmp="$wheels_dir.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    # pip accepts older manylinux tags on its own for the newest one named; the three named cover
    # the spellings wheels use.
    "$py" -m pip download --quiet --disable-pip-version-check -d "$tmp" \
        --only-binary=:all: --no-deps --python-version "$py_version" --abi "$abi_tag" \
        --platform "manylinux_2_17_$machine" --platform "manylinux2014_$machine" \
        --platform "manylinux_2_28_$machine" -r "$wheel_list" \
        || bench_die "pip download failed for a pin in $wheel_list (is there a $abi_tag wheel for it?)"
    echo "$stamp" >"$tmp/.stamp"
    rm -rf "$wheels_dir" && mv "$tmp" "$wheels_dir"
}

# Sets: venv_dir, site_packages (the same wheels installed with the provisioned interpreter).
bench_venv() {
    venv_dir="$bench_cache/venv-$abi_tag"
    local stamp
    stamp="$(bench_stamp)"
    if [ "$(cat "$venv_dir/.stamp" 2>/dev/null)" != "$stamp" ]; then
        bench_log "installing the wheels into $venv_dir"
        rm -rf "$venv_dir"
        "$py" -m venv "$venv_dir"
        "$venv_dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$wheels_dir"/*.whl \
            || bench_die "pip install into $venv_dir failed"
        echo "$stamp" >"$venv_dir/.stamp"
    fi
    site_packages="$("$venv_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_path("platlib"))')"
}

# Sets: tools_dir (a default-build CPython venv with the pinned peer tools), tools_python.
bench_tools() {
    tools_dir="$bench_cache/tools-venv"
    local want="abi3t-doctor==0.1.0 abi3audit==0.0.26"
    if [ "$(cat "$tools_dir/.stamp" 2>/dev/null)" != "$want" ]; then
        local base="${BENCH_TOOLS_PYTHON:-python3.11}"
        command -v "$base" >/dev/null || bench_die "$base not found (set BENCH_TOOLS_PYTHON to a CPython >= 3.9)"
        bench_log "installing $want into $tools_dir"
        rm -rf "$tools_dir"
        "$base" -m venv "$tools_dir"
        # shellcheck disable=SC2086
        "$tools_dir/bin/python" -m pip install --quiet --disable-pip-version-check $want \
            || bench_die "pip install $want failed"
        echo "$want" >"$tools_dir/.stamp"
    fi
    tools_python="$tools_dir/bin/python"
}

# Prints what the figures were measured on, for the table's header.
bench_machine() {
    local cpu rev
    cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    rev="$(git -C "$bench_root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if ! git -C "$bench_root" diff --quiet HEAD 2>/dev/null; then rev="$rev+dirty"; fi
    echo "date:        $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine:     $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr)"
    echo "ftaudit:     $rev (source tree at start), binaries copied from $bin_from"
    echo "interpreter: $py ($abi_tag)"
    echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, as the table is printed; figures are noisy when near or above the core count)"
}

# bench_time LABEL OK_STATUSES CMD... : one timed series, appended to $results.
bench_time() {
    local label="$1" ok="$2"
    shift 2
    "$py" "$bench_dir/measure.py" run --out "$results" --label "$label" \
        --runs "$bench_runs" --warmup 1 --ok "$ok" -- "$@"
}

# Sets: results (a fresh JSON-lines file for this run's records).
bench_results() {
    mkdir -p "$bench_cache/results"
    results="$bench_cache/results/$1-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
    : >"$results"
    [ "$bench_runs" -ge 3 ] || bench_die "BENCH_RUNS must be at least 3 (medians of 3 or more runs)"
}
