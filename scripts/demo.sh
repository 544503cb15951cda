#!/usr/bin/env bash
# The main job on a real example: provisions a free-threaded CPython (3.14t first: built from the
# source release in ../shared/cpython/ or $FTAUDIT_CPYTHON_SOURCE when no 3.14t is installed),
# builds ftaudit and its worker, installs a venv of popular packages' real wheels for that
# interpreter from PyPI, and scans it (static + import probe + subinterpreters).
# Extra arguments go to `ftaudit scan` (e.g. --format json).
set -euo pipefail
cd "$(dirname "$0")/.."

python="$(scripts/provision-python.sh | tail -n 1)"
export FTAUDIT_PYTHON="$python"
bin="$(scripts/build.sh --release | tail -n 1)"
venv="$(scripts/make-venv.sh demo | tail -n 1)"
echo "[demo] $bin/ftaudit scan $venv $*" >&2
set +e
"$bin/ftaudit" scan "$venv" "$@"
status=$?
set -e
case "$status" in
  0) echo "[demo] ftaudit exit status 0: nothing at error level" >&2 ;;
  1) echo "[demo] ftaudit exit status 1: findings at error level (the expected answer for today's packages)" >&2 ;;
  2) echo "[demo] ftaudit exit status 2: some modules or files could not be checked (listed above)" >&2 ;;
  *) echo "[demo] ftaudit failed to run (exit status $status)" >&2; exit "$status" ;;
esac
