#!/usr/bin/env bash
# The whole test suite, from a fresh machine: provisions free-threaded CPython 3.14t and 3.13t (with
# a shared libpython and without) and the standard (GIL) 3.14, builds ftaudit and its workers (one
# per CPython ABI), the wheel (`pip wheel .`), the fixture modules for each interpreter,
# fetches the pinned real wheels and installs the venvs (all cached under ~/.cache/ftaudit), then
# runs every test on 3.14t, the probe tests again on 3.13t, and the real-wheel probe test on the
# standard 3.14 (tests/standard_build.rs runs in the first run). Fails if no test ran.
#
# FTAUDIT_INTERPRETERS (default "3.14 3.13") names the minor versions; the first one runs the
# whole suite, the others the tests that import modules. Every one named must be provisioned.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"

read -r -a minors <<<"${FTAUDIT_INTERPRETERS:-3.14 3.13}"
pythons=()
for minor in "${minors[@]}"; do
  pythons+=("$(env -u FTAUDIT_PYTHON scripts/provision-python.sh "$minor" | tail -n 1)")
done
primary="${pythons[0]}"
# The standard build of the first minor: its subinterpreters (tests/standard_build.rs).
standard="$(env -u FTAUDIT_PYTHON scripts/provision-python.sh --standard "${minors[0]}" | tail -n 1)"
export FTAUDIT_PYTHONS="${pythons[*]} $standard"
# The same free-threaded versions with libpython linked into python (as manylinux images, Debian
# and conda build them): the interpreter hosts the worker there (tests/wheel.rs, tests/workers.rs).
static_pythons=()
for minor in "${minors[@]}"; do
  static_pythons+=("$(env -u FTAUDIT_PYTHON scripts/provision-python.sh --static "$minor" | tail -n 1)")
done
export FTAUDIT_STATIC_PYTHONS="${static_pythons[*]}"
# The machine-code tests (crates/ftaudit-static/tests/machine_code.rs) also compile their
# fixtures for aarch64 with Debian's cross compiler; where apt-get can install it, its absence
# is a failure, not a skip.
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "[test] installing gcc-aarch64-linux-gnu (apt-get)" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross; } >&2 \
    || echo "[test] could not install the aarch64 cross compiler" >&2
fi
command -v apt-get >/dev/null 2>&1 && export FTAUDIT_REQUIRE_CROSS=1
# tests/formats.rs validates JUnit output with xmllint (Debian's libxml2-utils); tests/html.rs
# opens the HTML report in Debian's headless chromium.
missing=()
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "[test] installing ${missing[*]} (apt-get)" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 \
    || echo "[test] could not install ${missing[*]}" >&2
fi
scripts/build.sh >/dev/null
# Every pinned set (read statically by the tests; the linux ones are also installed below).
export FTAUDIT_WHEELS_DIR="$(dirname "$(FTAUDIT_PYTHON="$primary" scripts/fetch-wheels.sh --all | tail -n 1)")"

# The wheel, built the standard way (PEP 517: pip runs build-backend/ around maturin), for
# tests/wheel.rs to install as a user would and compare with the source build on the demo venvs
# of every free-threaded interpreter, shared and static.
wheel_dir="$CACHE/wheel-build"
rm -rf "$wheel_dir"
wheel_start=$SECONDS
"$standard" -m pip wheel --quiet --no-deps --wheel-dir "$wheel_dir" . >&2
export FTAUDIT_WHEEL="$(ls "$wheel_dir"/ftaudit-*.whl)"
echo "[test] built $(basename "$FTAUDIT_WHEEL") ($(du -h "$FTAUDIT_WHEEL" | cut -f1)) in $((SECONDS - wheel_start)) s" >&2
export FTAUDIT_TOOL_PYTHON="$standard"
wheel_venvs=()
for py in "${pythons[@]}" "${static_pythons[@]}"; do
  wheel_venvs+=("$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh demo | tail -n 1)")
done
export FTAUDIT_WHEEL_VENVS="${wheel_venvs[*]}"

export FTAUDIT_STANDARD_VENV="$(FTAUDIT_PYTHON="$standard" scripts/make-venv.sh "linux-$(env -u PYTHON_GIL "$standard" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')" | tail -n 1)"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
for i in "${!pythons[@]}"; do
  py="${pythons[$i]}"
  tag="$(env -u PYTHON_GIL "$py" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}{sys.abiflags}")')"
  name="CPython $(env -u PYTHON_GIL "$py" -I -c 'import sys; print(sys.version.split()[0] + sys.abiflags)')"
  export FTAUDIT_PYTHON="$py"
  export FTAUDIT_FIXTURES_VENV="$(scripts/build-fixtures.sh | tail -n 1)"
  export FTAUDIT_DEMO_VENV="$(scripts/make-venv.sh demo | tail -n 1)"
  # The venv whose every module the tests compare with CPython's own evidence: the linux set of
  # this interpreter where that set is its own dependency closure (it says so; the demo set is a
  # subset of it), else the demo venv.
  real="$FTAUDIT_DEMO_VENV"
  if grep -q '^# @closure' "fixtures/wheels/linux-$tag.txt" 2>/dev/null; then
    real="$(scripts/make-venv.sh "linux-$tag" | tail -n 1)"
  fi
  export FTAUDIT_REAL_VENVS="$real"
  if [ "$i" -eq 0 ]; then
    echo "=== ftaudit tests on $name ($py): the whole suite ==="
    # The workers are built per interpreter by scripts/build.sh, not here.
    runs=("--workspace --exclude ftaudit-worker")
  else
    echo "=== ftaudit tests on $name ($py): the tests that import modules ==="
    runs=("-p ftaudit-probe" "-p ftaudit --test probe --test workers --test real_wheels --test interrupt --test containment --test stress --test sandbox --test synth")
  fi
  for run in "${runs[@]}"; do
    set +e
    # shellcheck disable=SC2086
    cargo test --no-fail-fast $run "$@" 2>&1 | tee -a "$log"
    run_status=${PIPESTATUS[0]}
    set -e
    echo "=== $name: cargo test $run: exit status $run_status ==="
    [ "$run_status" -eq 0 ] || status=$run_status
  done
done

# The probe's own tests again with the worker hosted by the interpreter instead of embedded.
echo "=== ftaudit-probe tests with the worker hosted (${pythons[0]}) ==="
set +e
FTAUDIT_PYTHON="${pythons[0]}" FTAUDIT_WORKER_MODE=hosted \
  FTAUDIT_FIXTURES_VENV="$(FTAUDIT_PYTHON="${pythons[0]}" scripts/build-fixtures.sh | tail -n 1)" \
  cargo test --no-fail-fast -p ftaudit-probe "$@" 2>&1 | tee -a "$log"
run_status=${PIPESTATUS[0]}
set -e
echo "=== ftaudit-probe, hosted worker: exit status $run_status ==="
[ "$run_status" -eq 0 ] || status=$run_status

# The standard build: ftaudit's probe against CPython's own evidence on the same packages.
echo "=== ftaudit tests on the standard build ($standard): the real-wheel probe ==="
set +e
FTAUDIT_PYTHON="$standard" FTAUDIT_REAL_VENVS="$FTAUDIT_STANDARD_VENV" \
  cargo test --no-fail-fast -p ftaudit --test real_wheels "$@" 2>&1 | tee -a "$log"
run_status=${PIPESTATUS[0]}
set -e
echo "=== standard build: cargo test --test real_wheels: exit status $run_status ==="
[ "$run_status" -eq 0 ] || status=$run_status

# Every unsafe block documented (clippy::undocumented_unsafe_blocks is denied workspace-wide),
# in the worker of each ABI too.
run_check() {
  local what="$1"; shift
  set +e
  "$@" 2>&1 | tail -n 20
  local run_status=${PIPESTATUS[0]}
  set -e
  echo "=== $what: exit status $run_status ==="
  [ "$run_status" -eq 0 ] || status=$run_status
}
run_check "clippy (workspace)" cargo clippy --workspace --exclude ftaudit-worker --all-targets -- -D warnings
for abi in $(grep -v '^#' crates/ftaudit-worker/abis); do
  worker_target="${CARGO_TARGET_DIR:-$PWD/target}/worker-$abi"
  scripts/lib/worker-pyo3-config.sh "$abi" "$worker_target/pyo3-config.txt"
  run_check "clippy (ftaudit-worker-$abi)" env PYO3_CONFIG_FILE="$worker_target/pyo3-config.txt" CARGO_TARGET_DIR="$worker_target" \
    cargo clippy --package ftaudit-worker -- -D warnings
done
# The static scan is portable: ftaudit (without the Linux-only probe) type-checks for macOS and
# Windows. Checking needs only each target's standard library, not a linker.
for target in aarch64-apple-darwin x86_64-apple-darwin x86_64-pc-windows-msvc; do
  if rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >/dev/null 2>&1; then
    run_check "cargo check --target $target (static mode)" cargo check --package ftaudit --target "$target"
  else
    echo "=== cargo check --target $target: NOT CHECKED (rustup cannot install the target here) ==="
    status=1
  fi
done
# The fuzz targets over their committed corpora plus a short fresh run (nightly cargo-fuzz).
run_check "fuzz smoke" scripts/fuzz-smoke.sh

passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "tests: $passed passed, $failed failed"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$passed" -eq 0 ]; then echo "error: no test ran" >&2; exit 1; fi
