# Shared set-up for benches/*.sh (sourced, not run). Everything it makes is cached under
# $FTAUDIT_BENCH_CACHE (default ~/.cache/ftaudit/bench) and reused while the pinned list and the
# interpreter are unchanged.
#
# Knobs (environment):
#   BENCH_RUNS           timed runs per command (default 5 for static.sh, 3 for probe.sh; at least 3)
#   BENCH_JOBS           parallelism for ftaudit --jobs and the naive loop (default: nproc)
#   BENCH_TAG            free-threaded ABI tag of the wheels, e.g. cp314t (default: the provisioned
#                        interpreter's own); another tag than the interpreter's is installed into a
#                        bare site-packages folder (static.sh only: probe.sh needs that interpreter)
#   FTAUDIT_BIN_DIR      use the ftaudit, ftaudit-embed and ftaudit-worker-*.so in this folder instead of building
#   BENCH_TOOLS_PYTHON   a default-build CPython for abi3t-doctor/abi3audit (default python3.11)
#   FTAUDIT_BENCH_CACHE  cache folder

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_dir="$bench_root/benches"
bench_cache="${FTAUDIT_BENCH_CACHE:-$HOME/.cache/ftaudit/bench}"
bench_jobs="${BENCH_JOBS:-$(nproc)}"

bench_log() { echo "[bench] $*" >&2; }
bench_die() { echo "[bench] error: $*" >&2; exit 1; }

# Sets: py (provisioned free-threaded interpreter), py_tag (its own ABI tag, e.g. cp313t),
# py_version (X.Y) and abi_tag (cp313t) of the wheels: the interpreter's own unless BENCH_TAG names
# another, machine (x86_64), wheel_list (benches/wheels-<abi_tag>.txt), tag_suffix ("" for the
# interpreter's own tag, "-<abi_tag>" for another, to keep their results apart).
# The interpreter runs pip and the Python helpers either way; only the wheels change with the tag.
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
    py_tag="$abi_tag"
    tag_suffix=""
    if [ -n "${BENCH_TAG:-}" ] && [ "$BENCH_TAG" != "$py_tag" ]; then
        [[ "$BENCH_TAG" =~ ^cp3([0-9]+)t$ ]] \
            || bench_die "BENCH_TAG=$BENCH_TAG: expected a free-threaded CPython ABI tag such as cp314t"
        abi_tag="$BENCH_TAG"
        py_version="3.${BASH_REMATCH[1]}"
        tag_suffix="-$abi_tag"
    fi
    wheel_list="$bench_dir/wheels-$abi_tag.txt"
    [ -f "$wheel_list" ] || bench_die "no pinned wheel list for $abi_tag: write $wheel_list (see benches/README.md)"
}

# Sets: bin_dir (folder with ftaudit, ftaudit-embed and the worker libraries, ftaudit-worker-<abi>.so).
bench_build() {
    if [ -n "${FTAUDIT_BIN_DIR:-}" ]; then
        bin_dir="$FTAUDIT_BIN_DIR"
    else
        bench_log "building ftaudit (release)"
        bin_dir="$("$bench_root/scripts/build.sh" --release | tail -n 1)"
    fi
    [ -x "$bin_dir/ftaudit" ] || bench_die "no ftaudit binary in $bin_dir"
    # A snapshot, so a rebuild in the shared target folder cannot swap binaries between runs.
    # ftaudit finds its workers and ftaudit-embed next to itself.
    local snapshot="$bench_cache/bin"
    rm -rf "$snapshot" && mkdir -p "$snapshot"
    cp "$bin_dir/ftaudit" "$bin_dir/ftaudit-embed" "$snapshot/"
    local worker
    for worker in "$bin_dir"/ftaudit-worker-*.so; do
        if [ -f "$worker" ]; then cp "$worker" "$snapshot/"; fi
    done
    bin_from="$bin_dir"
    bin_dir="$snapshot"
}

# A stamp names what a cached folder was made from; a changed list or interpreter remakes it.
bench_stamp() { { cat "$wheel_list"; echo "$py $py_version $abi_tag $machine"; } | sha256sum | cut -c1-16; }

# The pip options that pick wheels for $abi_tag on manylinux $machine, whatever the interpreter.
bench_pip_tags() {
    # pip accepts older manylinux tags on its own for the newest one named; the three named cover
    # the spellings wheels use.
    pip_tags=(--only-binary=:all: --no-deps --python-version "$py_version" --abi "$abi_tag"
        --platform "manylinux_2_17_$machine" --platform "manylinux2014_$machine"
        --platform "manylinux_2_28_$machine")
}

# Sets: wheels_dir (every pinned wheel for $abi_tag).
bench_wheels() {
    wheels_dir="$bench_cache/wheels-$abi_tag"
    local stamp
    stamp="$(bench_stamp)"
    if [ "$(cat "$wheels_dir/.stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
    bench_log "downloading the wheels pinned in ${wheel_list#"$bench_root"/} into $wheels_dir"
    local tmp="$wheels_dir.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    bench_pip_tags
    "$py" -m pip download --quiet --disable-pip-version-check -d "$tmp" "${pip_tags[@]}" -r "$wheel_list" \
        || bench_die "pip download failed for a pin in $wheel_list (is there a $abi_tag wheel for it?)"
    echo "$stamp" >"$tmp/.stamp"
    rm -rf "$wheels_dir" && mv "$tmp" "$wheels_dir"
}

# Sets: venv_dir, site_packages (the same wheels installed with the provisioned interpreter),
# install_kind ("venv"). For another tag than the interpreter's (BENCH_TAG), venv_dir and
# site_packages are one bare site-packages folder instead, and install_kind is "site-packages".
bench_venv() {
    if [ "$abi_tag" != "$py_tag" ]; then
        bench_site_packages
        return
    fi
    install_kind=venv
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

# No $abi_tag interpreter to make a venv with: the provisioned one's pip unpacks the wheels into a
# bare folder (`pip install --target`, with the same tag options as the download), which is what a
# venv's site-packages would hold. --no-compile: no bytecode of the wrong Python version.
bench_site_packages() {
    install_kind=site-packages
    venv_dir="$bench_cache/site-packages-$abi_tag"
    site_packages="$venv_dir"
    local stamp
    stamp="$(bench_stamp)"
    if [ "$(cat "$venv_dir/.stamp" 2>/dev/null)" = "$stamp" ]; then return; fi
    bench_log "installing the wheels into the bare site-packages folder $venv_dir (pip install --target)"
    local tmp="$venv_dir.tmp" wheels=("$wheels_dir"/*.whl) records
    rm -rf "$tmp"
    bench_pip_tags
    "$py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-compile \
        --target "$tmp" "${pip_tags[@]}" "${wheels[@]}" \
        || bench_die "pip install --target $tmp failed"
    # ftaudit attributes files to distributions through their RECORD files.
    records="$(find "$tmp" -maxdepth 2 -path '*.dist-info/RECORD' | wc -l)"
    [ "$records" -eq "${#wheels[@]}" ] \
        || bench_die "pip install --target wrote $records *.dist-info/RECORD files for ${#wheels[@]} wheels"
    echo "$stamp" >"$tmp/.stamp"
    rm -rf "$venv_dir" && mv "$tmp" "$venv_dir"
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
    echo "interpreter: $py ($py_tag)"
    if [ "$abi_tag" != "$py_tag" ]; then
        echo "wheels:      $abi_tag manylinux $machine (BENCH_TAG), installed into a bare site-packages folder by pip install --target"
    fi
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
