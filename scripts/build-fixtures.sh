#!/usr/bin/env bash
# Builds the fixture extension modules (fixtures/ext/*.c) against the provisioned
# free-threaded interpreter and installs them into a real venv:
#   $FTAUDIT_CACHE/fixtures/<cache_tag><abiflags>/venv
# with <venv>/ftaudit-fixtures.json describing every case (see fixtures/README.md).
#
# Interpreter: $FTAUDIT_PYTHON, else $FTAUDIT_CACHE/interpreter, else scripts/provision-python.sh.
# Rebuilds only when a fixture source, this script or the interpreter changed; concurrent
# callers wait on a lock instead of building twice. Progress goes to stderr; the last line
# on stdout is the venv path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"

say() { printf '[build-fixtures] %s\n' "$*" >&2; }
die() { printf '[build-fixtures] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib/interpreter.sh
. "$ROOT/scripts/lib/interpreter.sh"

PY="$(find_python)"
[ -n "$PY" ] || die "could not find a free-threaded interpreter"
command -v "${CC:-cc}" >/dev/null 2>&1 || die "no C compiler (${CC:-cc}) on PATH; apt-get install gcc"

# PYTHON_GIL would not change the build, but keep every run of the interpreter identical.
TAG="$(env -u PYTHON_GIL "$PY" -I -c 'import sys; print(sys.implementation.cache_tag + sys.abiflags)')" \
  || die "$PY does not run"
case "$TAG" in *t) ;; *) die "$PY is not a free-threaded build (cache tag $TAG)";; esac

OUT="$CACHE/fixtures/$TAG"
VENV="$OUT/venv"
mkdir -p "$OUT"

# What the build depends on: the C and Python sources, the build tool, this script, and the interpreter
# (its path, and the size/mtime of the binary and the libpython it loads).
stamp() {
  {
    printf 'python %s\n' "$PY"
    stat -L -c '%s %Y' "$PY"
    env -u PYTHON_GIL "$PY" -I -c 'import sys, sysconfig; print(sys.version, sysconfig.get_config_var("EXT_SUFFIX"), sysconfig.get_config_var("LDLIBRARY"))'
    "${CC:-cc}" --version | head -n1
    cd "$ROOT"
    find fixtures/ext fixtures/py fixtures/tools/build_fixtures.py -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    sha256sum scripts/build-fixtures.sh
  } | sha256sum | cut -d' ' -f1
}

exec 9>"$OUT/.lock"
if ! flock -n 9; then
  say "another build holds $OUT/.lock; waiting"
  flock 9
fi

WANT="$(stamp)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$WANT" ] && [ -f "$VENV/ftaudit-fixtures.json" ]; then
  say "up to date: $VENV"
  printf '%s\n' "$VENV"
  exit 0
fi

say "building fixtures for $TAG with $PY"
rm -f "$OUT/stamp"
start=$SECONDS
# -I: ignore PYTHONPATH / user site; -B: leave no __pycache__ in the source tree.
env -u PYTHON_GIL "$PY" -I -B "$ROOT/fixtures/tools/build_fixtures.py" --venv "$VENV" >&2
printf '%s\n' "$WANT" > "$OUT/stamp"
say "done in $((SECONDS - start))s: $VENV"
printf '%s\n' "$VENV"
