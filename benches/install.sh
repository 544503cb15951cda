#!/usr/bin/env bash
# Install to first report: the wheel (pip install, then the first `ftaudit scan` of the demo venv)
# against the path before it (a clean `cargo build` of ftaudit and its workers, then the same scan,
# and, with --with-provision, building the --enable-shared interpreter that path needed). Prints
# both, side by side, with the median, min and max of the wheel runs. A benchmark, not a test.
#
#   benches/install.sh [--with-provision]
#
# Knobs: BENCH_RUNS (wheel runs, default 5), FTAUDIT_WHEEL (default: build one with `pip wheel .`),
# FTAUDIT_DEMO_VENV (default: scripts/make-venv.sh demo), FTAUDIT_TOOL_PYTHON (any Python with pip,
# default the provisioned standard 3.14).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
runs="${BENCH_RUNS:-5}"
with_provision=false
[ "${1:-}" = --with-provision ] && with_provision=true
say() { printf '[bench-install] %s\n' "$*" >&2; }

tool_python="${FTAUDIT_TOOL_PYTHON:-$(scripts/provision-python.sh --standard 3.14 2>/dev/null | tail -n 1)}"
venv="${FTAUDIT_DEMO_VENV:-$(scripts/make-venv.sh demo 2>/dev/null | tail -n 1)}"
wheel="${FTAUDIT_WHEEL:-}"
if [ -z "$wheel" ]; then
  rm -rf "$CACHE/bench/wheel" && mkdir -p "$CACHE/bench/wheel"
  "$tool_python" -m pip wheel --quiet --no-deps --wheel-dir "$CACHE/bench/wheel" . >&2
  wheel="$(ls "$CACHE/bench/wheel"/ftaudit-*.whl)"
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# --- the wheel: a fresh tool venv and HOME each run, no toolchain on PATH ----------------------
install_times=() scan_times=()
for i in $(seq "$runs"); do
  home="$scratch/home-$i"; mkdir -p "$home"
  t0="$(now)"
  "$tool_python" -m venv "$home/tool"
  HOME="$home" "$home/tool/bin/python" -m pip install --quiet --no-index --no-deps "$wheel"
  t1="$(now)"
  env -i HOME="$home" PATH="$home/tool/bin:/usr/bin:/bin" LANG=C.UTF-8 \
    "$home/tool/bin/ftaudit" scan "$venv" --format json --output "$home/report.json" || true
  t2="$(now)"
  [ -s "$home/report.json" ] || { say "run $i wrote no report"; exit 1; }
  install_times+=("$(elapsed "$t0" "$t1")"); scan_times+=("$(elapsed "$t1" "$t2")")
  say "wheel run $i: install ${install_times[-1]} s, first report ${scan_times[-1]} s"
done

# --- the path before: clean cargo build of ftaudit and the workers, then the scan --------------
say "clean release build of ftaudit and its workers (CARGO_TARGET_DIR=$scratch/target)"
t0="$(now)"
bin="$(CARGO_TARGET_DIR="$scratch/target" scripts/build.sh --release 2>/dev/null | tail -n 1)"
t1="$(now)"
"$bin/ftaudit" scan "$venv" --format json --output "$scratch/source-report.json" || true
t2="$(now)"
build_s="$(elapsed "$t0" "$t1")"; source_scan_s="$(elapsed "$t1" "$t2")"
provision_s="-"
if $with_provision; then
  say "provisioning a free-threaded 3.14 from the source release into a scratch cache"
  t0="$(now)"
  FTAUDIT_CACHE="$scratch/cache" env -u FTAUDIT_PYTHON scripts/provision-python.sh 3.14 >/dev/null 2>&1
  provision_s="$(elapsed "$t0" "$(now)")"
fi

python3 - "$runs" "$wheel" "$venv" "$build_s" "$source_scan_s" "$provision_s" \
  "${install_times[*]}" "${scan_times[*]}" <<'PY'
import statistics, sys, os, platform
runs, wheel, venv, build, scan, provision = sys.argv[1:7]
install = [float(x) for x in sys.argv[7].split()]
first = [float(x) for x in sys.argv[8].split()]
total = [a + b for a, b in zip(install, first)]
def fig(xs): return "%.1f s (min %.1f, max %.1f)" % (statistics.median(xs), min(xs), max(xs))
before = float(build) + float(scan) + (float(provision) if provision != "-" else 0.0)
print(f"install to first report, demo venv {os.path.basename(venv)}, {platform.machine()}, {os.cpu_count()} cores")
print(f"wheel: {os.path.basename(wheel)} ({os.path.getsize(wheel) / 1e6:.1f} MB), {runs} runs")
print("| path | install / build | first report | total |")
print("|---|---|---|---|")
print(f"| wheel (pip install, fresh venv) | {fig(install)} | {fig(first)} | {fig(total)} |")
prov = f" + provision {provision} s" if provision != "-" else ""
print(f"| source (clean cargo build{', provision' if prov else ''}) | {build} s{prov} | {scan} s | {before:.1f} s |")
print(f"ratio source / wheel (medians): {before / statistics.median(total):.0f}x")
PY
