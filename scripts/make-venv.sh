#!/usr/bin/env bash
# Creates a venv of real, pinned wheels with a free-threaded interpreter:
#
#   scripts/make-venv.sh demo          # fixtures/wheels/demo-requirements-<tag>.txt -> $FTAUDIT_CACHE/venvs/demo-<tag>
#   scripts/make-venv.sh SET           # the pinned wheel set fixtures/wheels/SET.txt -> $FTAUDIT_CACHE/venvs/SET
#
# <tag> is the interpreter's, e.g. cp314t. The interpreter is $FTAUDIT_PYTHON, else the one
# recorded by scripts/provision-python.sh. Packages are installed with --no-deps --require-hashes
# (binary wheels only), so each file is its own full dependency closure, and `pip check` must pass.
# Wheels already fetched by scripts/fetch-wheels.sh are used from the cache. The venv is made
# again only when the file or the interpreter changed. Progress goes to stderr; the last line on
# stdout is the venv path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"

say() { printf '[make-venv] %s\n' "$*" >&2; }
die() { printf '[make-venv] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib/interpreter.sh
. "$ROOT/scripts/lib/interpreter.sh"

[ "$#" -eq 1 ] || die "usage: $0 demo|SET"
PY="$(find_python)"
TAG="$(env -u PYTHON_GIL "$PY" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}{sys.abiflags}")')"
# An interpreter with libpython linked in (scripts/provision-python.sh --static) gets venvs of its
# own, "-static" after the name: same wheels, another interpreter to probe them in.
VARIANT="$(env -u PYTHON_GIL "$PY" -I -c 'import sysconfig; print("" if sysconfig.get_config_var("Py_ENABLE_SHARED") else "-static")')"
if [ "$1" = demo ]; then
  REQS="$ROOT/fixtures/wheels/demo-requirements-$TAG.txt"
  NAME="demo-$TAG$VARIANT"
  [ -f "$REQS" ] || die "no demo set for $TAG: $REQS does not exist (sets: $(cd "$ROOT/fixtures/wheels" && ls demo-requirements-*.txt | tr '\n' ' '))"
else
  REQS="$ROOT/fixtures/wheels/$1.txt"
  # The large sets behind the published matrix live one folder down (see scripts/fetch-wheels.sh).
  [ -f "$REQS" ] || REQS="$ROOT/fixtures/wheels/published/$1.txt"
  NAME="$1$VARIANT"
  [ -f "$REQS" ] || die "no wheel set '$1': $REQS does not exist"
  abi="$(sed -n 's/^# @abi[[:space:]]\+//p' "$REQS" | head -n1)"
  [ -z "$abi" ] || [ "$abi" = "$TAG" ] || die "$1 holds $abi wheels, but $PY is $TAG"
fi
VENV="$CACHE/venvs/$NAME"
mkdir -p "$CACHE/venvs"

WANT="$( { printf '%s\n' "$PY"; stat -L -c '%s %Y' "$PY"; cat "$REQS"; } | sha256sum | cut -d' ' -f1)"
STAMP="$VENV/.ftaudit-stamp"

exec 9>"$CACHE/venvs/.$NAME.lock"
flock -n 9 || { say "another run holds $CACHE/venvs/.$NAME.lock; waiting"; flock 9; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && [ -x "$VENV/bin/python" ]; then
  say "up to date: $VENV"
  printf '%s\n' "$VENV"
  exit 0
fi

start=$SECONDS
say "creating $VENV with $PY"
rm -rf "$VENV"
# PYTHON_GIL would hide GIL re-enablement from anything run later in this venv; keep it out of the
# install too so pip runs the way a user's would.
env -u PYTHON_GIL "$PY" -I -m venv "$VENV"
if ! "$VENV/bin/python" -I -m pip --version >/dev/null 2>&1; then
  say "venv has no pip; running ensurepip"
  env -u PYTHON_GIL "$VENV/bin/python" -I -m ensurepip --default-pip >&2
fi
links=()
for dir in "$CACHE"/wheels/linux-"$TAG" "$CACHE"/wheels/"$NAME"; do
  [ -d "$dir" ] && links+=(--find-links "$dir")
done
say "installing $(grep -c '^[A-Za-z0-9]' "$REQS") pinned packages from $(basename "$REQS")"
env -u PYTHON_GIL "$VENV/bin/python" -I -m pip install --no-deps --only-binary=:all: --require-hashes \
  --disable-pip-version-check --progress-bar off --quiet "${links[@]}" -r "$REQS" >&2 \
  || die "pip install failed for $REQS"
env -u PYTHON_GIL "$VENV/bin/python" -I -m pip check >&2 || die "installed packages have unmet dependencies"
printf '%s\n' "$WANT" > "$STAMP"
say "done in $((SECONDS - start))s: $VENV ($(du -sh "$VENV" | cut -f1))"
printf '%s\n' "$VENV"
