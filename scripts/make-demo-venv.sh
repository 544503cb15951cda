#!/usr/bin/env bash
# Creates $FTAUDIT_CACHE/demo-venv with the provisioned free-threaded interpreter and installs the
# pinned, hash-checked packages of fixtures/wheels/demo-requirements.txt (binary wheels only).
# Recreated only when the requirements file or the interpreter changed. Progress goes to stderr;
# the last line on stdout is the venv path.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
REQS="$ROOT/fixtures/wheels/demo-requirements.txt"
VENV="$CACHE/demo-venv"

say() { printf '[demo-venv] %s\n' "$*" >&2; }
die() { printf '[demo-venv] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib/interpreter.sh
. "$ROOT/scripts/lib/interpreter.sh"

PY="$(find_python)"
[ -f "$REQS" ] || die "$REQS is missing"
mkdir -p "$CACHE"

WANT="$( { printf '%s\n' "$PY"; stat -L -c '%s %Y' "$PY"; cat "$REQS"; } | sha256sum | cut -d' ' -f1)"
STAMP="$VENV/.ftaudit-stamp"

exec 9>"$CACHE/.demo-venv.lock"
flock -n 9 || { say "another run holds $CACHE/.demo-venv.lock; waiting"; flock 9; }

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
say "installing $(grep -c '^[A-Za-z0-9]' "$REQS") pinned packages"
env -u PYTHON_GIL "$VENV/bin/python" -I -m pip install --no-deps --only-binary=:all: --require-hashes \
  --disable-pip-version-check --progress-bar off --quiet -r "$REQS" >&2 \
  || die "pip install failed for $REQS"
env -u PYTHON_GIL "$VENV/bin/python" -I -m pip check >&2 || die "installed packages have unmet dependencies"
printf '%s\n' "$WANT" > "$STAMP"
say "done in $((SECONDS - start))s: $VENV ($(du -sh "$VENV" | cut -f1))"
printf '%s\n' "$VENV"
