#!/usr/bin/env bash
# The whole test suite, from a fresh machine: provisions the free-threaded CPython, builds the
# fixture modules and fetches the pinned real wheels (all cached under ~/.cache/ftaudit), builds
# ftaudit and its worker, and runs every test. Fails if no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."

python="$(scripts/provision-python.sh | tail -n 1)"
export FTAUDIT_PYTHON="$python" PYO3_PYTHON="$python"
export FTAUDIT_FIXTURES_VENV="$(scripts/build-fixtures.sh | tail -n 1)"
# Every pinned set (linux for the interpreter's tag, plus macOS/Windows/cp314t read statically).
export FTAUDIT_WHEELS_DIR="$(dirname "$(scripts/fetch-wheels.sh --all | tail -n 1)")"
export FTAUDIT_DEMO_VENV="$(scripts/make-demo-venv.sh | tail -n 1)"
scripts/build.sh >/dev/null

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
echo "tests: $passed passed, $failed failed"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$passed" -eq 0 ]; then echo "error: no test ran" >&2; exit 1; fi
