#!/usr/bin/env bash
# Lock audit without installing (issue 13): ftaudit-lock's slim range reads against real PyPI,
# cold and warm, next to `pip download` of the same wheels for the same targets.
#
#   benches/lock.sh            # ~5 min on a fast link (pip downloads some 600 MB)
#
# Knobs (environment):
#   BENCH_LOCK_DIR        work folder (default ~/.cache/ftaudit/bench/lock); its cache/ and pip/
#                         are emptied at the start of each run, so the cold figures are cold
#   BENCH_LOCK_PLATFORMS  targets (default "manylinux_2_28_x86_64 macosx_14_0_arm64 win_amd64")
#   BENCH_LOCK_SOURCE     the pinned list the lock is made from (default
#                         fixtures/wheels/linux-cp314t.txt: its pins with extension modules)
#   BENCH_PYTHON          a Python with pip (default: the provisioned 3.14t, else python3)
#   BENCH_SKIP_PIP=1      only the ftaudit-lock side
#
# The lock is a requirements file of name==version pins without hashes: the source list's hashes
# are of Linux wheels only, so with them every other target would (rightly) be "not in the
# lock". pip is given exactly the pins ftaudit-lock found a wheel for on each target, so both
# read the same set of wheels; its bytes are the files it wrote (index pages not counted, which
# favours pip: ftaudit-lock's figure includes them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${BENCH_LOCK_DIR:-$HOME/.cache/ftaudit/bench/lock}"
platforms=(${BENCH_LOCK_PLATFORMS:-manylinux_2_28_x86_64 macosx_14_0_arm64 win_amd64})
source_list="${BENCH_LOCK_SOURCE:-$root/fixtures/wheels/linux-cp314t.txt}"
log() { echo "[lock bench] $*" >&2; }
die() { echo "[lock bench] error: $*" >&2; exit 1; }

pick_python() {
    if [ -n "${BENCH_PYTHON:-}" ]; then echo "$BENCH_PYTHON"; return; fi
    local provisioned
    provisioned="$(head -n 1 "${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}/interpreter" 2>/dev/null || true)"
    for candidate in "$provisioned" "$HOME/.cache/ftaudit/cpython/3.14.7t/bin/python3.14t" \
        "$HOME/.cache/ftaudit/cpython/3.14.7t/bin/python3" python3; do
        if [ -n "$candidate" ] && "$candidate" -m pip --version >/dev/null 2>&1; then echo "$candidate"; return; fi
    done
    die "no Python with pip (set BENCH_PYTHON)"
}

mkdir -p "$work"
lock="$work/requirements.txt"
# Pins above the pure-Python section of the source list: the packages with native code.
awk '/^# ---- pure-Python/ { exit } /^[A-Za-z0-9][A-Za-z0-9._-]*==[^ ]+/ { print $1 }' "$source_list" >"$lock"
pins=$(wc -l <"$lock")
[ "$pins" -ge 40 ] || die "$source_list gave $pins native pins; the bench wants at least 40"
log "lock: $pins pins with native code from $(basename "$source_list"); targets: ${platforms[*]}"

log "building examples/lock_fetch (release)"
(cd "$root" && nice -n 19 cargo build --release -p ftaudit-lock --example lock_fetch -j 1 >&2)
fetch_bin="$root/target/release/examples/lock_fetch"
platform_args=()
for p in "${platforms[@]}"; do platform_args+=(--platform "$p"); done

rm -rf "$work/cache" "$work/pip"
run_fetch() { # $1: output json
    local start end
    start=$(date +%s.%N)
    "$fetch_bin" "$lock" --python 3.14t "${platform_args[@]}" --cache "$work/cache" --full >"$1"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
log "ftaudit-lock, cold cache"
cold_wall=$(run_fetch "$work/cold.json")
log "ftaudit-lock, warm cache"
warm_wall=$(run_fetch "$work/warm.json")

py_stats='import json, sys
r = json.load(open(sys.argv[1]))
print(r["requests"], r["bytes_read"], r["index_bytes_read"], r["wheel_bytes_read"], r["picked_wheel_bytes"],
      sum(len(t["picked"]) for t in r["targets"]), sum(len(t["missing"]) for t in r["targets"]))'
read -r cold_requests cold_bytes cold_index cold_wheel picked_bytes cold_picked cold_missing < <(python3 -c "$py_stats" "$work/cold.json")
read -r warm_requests warm_bytes _ _ _ warm_picked _ < <(python3 -c "$py_stats" "$work/warm.json")
[ "$warm_requests" = 0 ] || die "the warm run made $warm_requests requests (must be 0)"
[ "$warm_picked" = "$cold_picked" ] || die "the warm run picked $warm_picked wheels, the cold one $cold_picked"

# pip's --platform takes exact tags; give it the ones each target accepts that PyPI uses.
pip_platforms() {
    case "$1" in
        manylinux_2_*_x86_64 | manylinux_2_*_aarch64)
            local arch=${1#manylinux_2_*_} max=${1#manylinux_2_}; max=${max%%_*}
            for m in $(seq "$max" -1 17); do printf -- '--platform manylinux_2_%s_%s ' "$m" "$arch"; done
            printf -- '--platform manylinux2014_%s' "$arch"
            [ "$arch" = x86_64 ] && printf -- ' --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64'
            ;;
        macosx_*_arm64)
            local max=${1#macosx_}; max=${max%%_*}
            for m in $(seq "$max" -1 11); do printf -- '--platform macosx_%s_0_arm64 --platform macosx_%s_0_universal2 ' "$m" "$m"; done
            printf -- '--platform macosx_10_9_universal2'
            ;;
        *) printf -- '--platform %s' "$1" ;;
    esac
}

pip_wall=0; pip_bytes=0; pip_files=0
declare -A per_pip_bytes per_pip_wall
if [ "${BENCH_SKIP_PIP:-0}" != 1 ]; then
    py="$(pick_python)"
    log "pip download with $py ($("$py" -m pip --version | cut -d' ' -f1-2))"
    for p in "${platforms[@]}"; do
        dest="$work/pip/$p"
        mkdir -p "$dest"
        python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
t = next(t for t in r["targets"] if t["target"]["platform"]["tag"] == sys.argv[2])
print("\n".join(x["name"] + "==" + x["version"] for x in t["picked"]))' "$work/cold.json" "$p" >"$work/pip-$p.txt"
        start=$(date +%s.%N)
        # shellcheck disable=SC2046
        "$py" -m pip download --quiet --no-cache-dir --no-deps --only-binary=:all: \
            --python-version 3.14 --implementation cp --abi cp314t $(pip_platforms "$p") \
            -d "$dest" -r "$work/pip-$p.txt" >&2
        end=$(date +%s.%N)
        per_pip_wall[$p]=$(echo "$end - $start" | bc)
        per_pip_bytes[$p]=$(du -sb "$dest" | cut -f1)
        pip_wall=$(echo "$pip_wall + ${per_pip_wall[$p]}" | bc)
        pip_bytes=$((pip_bytes + per_pip_bytes[$p]))
        pip_files=$((pip_files + $(ls "$dest" | wc -l)))
    done
fi

mb() { echo "scale=1; $1 / 1000000" | bc; }
ratio() { if [ "$2" = 0 ] || [ -z "$2" ]; then echo "-"; else echo "scale=1; $1 / $2" | bc; fi; }
echo
echo "## Lock audit: $pins pins x ${#platforms[@]} targets (${platforms[*]}), CPython 3.14t"
echo
printf '| %-34s | %14s | %10s | %9s |\n' "run" "bytes read" "wall s" "requests"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "----------------" "------------" "-----------"
printf '| %-34s | %11s MB | %10.2f | %9s |\n' "ftaudit-lock cold (index + ranges)" "$(mb "$cold_bytes")" "$cold_wall" "$cold_requests"
printf '| %-34s | %11s MB | %10s | %9s |\n' "  of which index pages" "$(mb "$cold_index")" "" ""
printf '| %-34s | %11s MB | %10s | %9s |\n' "  of which wheel ranges" "$(mb "$cold_wheel")" "" ""
printf '| %-34s | %11s MB | %10.2f | %9s |\n' "ftaudit-lock warm" "$(mb "$warm_bytes")" "$warm_wall" "$warm_requests"
if [ "${BENCH_SKIP_PIP:-0}" != 1 ]; then
    for p in "${platforms[@]}"; do
        printf '| %-34s | %11s MB | %10.2f | %9s |\n' "pip download $p" "$(mb "${per_pip_bytes[$p]}")" "${per_pip_wall[$p]}" ""
    done
    printf '| %-34s | %11s MB | %10.2f | %9s |\n' "pip download, all ($pip_files files)" "$(mb "$pip_bytes")" "$pip_wall" ""
    echo
    echo "pip / ftaudit-lock cold: bytes x$(ratio "$pip_bytes" "$cold_bytes") (wheel bytes only: x$(ratio "$pip_bytes" "$cold_wheel")), wall x$(ratio "$pip_wall" "$cold_wall")"
fi
echo "wheels picked: $cold_picked over all targets ($(mb "$picked_bytes") MB whole), pins without a wheel per target: $cold_missing"
python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
seen, n, size = set(), 0, 0
for t in r["targets"]:
    for p in t["picked"]:
        if p["url"] in seen:
            continue
        seen.add(p["url"])
        n += len(p["headers_only"])
        size += sum(p["headers_only_sizes"].values())
print(f"bundled libraries read as headers only: {n} ({size / 1e6:.1f} MB uncompressed, distinct wheels)")' "$work/cold.json"
echo "machine: $(nproc) cores, $(uname -sm); results in $work"
