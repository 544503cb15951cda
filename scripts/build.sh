#!/usr/bin/env bash
# Builds ftaudit, and one worker per provisioned interpreter, free-threaded or standard (a worker
# links one libpython).
#
#   scripts/build.sh [--release]     prints the folder holding ftaudit and its workers (last line)
#
# Interpreters: $FTAUDIT_PYTHONS (paths, separated by spaces), else every interpreter that
# scripts/provision-python.sh has recorded in $FTAUDIT_CACHE/interpreters/, else the one it
# provisions now. Each worker is built in a target folder of its own (pyo3 is configured per
# interpreter, so one folder would rebuild it at every switch) and copied next to ftaudit as
# ftaudit-worker-X.Yt (ftaudit-worker-X.Y for a standard build), where `ftaudit scan` picks the
# one matching the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"

profile=debug
cargo_flags=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_flags+=(--release); fi
target="${CARGO_TARGET_DIR:-$PWD/target}"

pythons=()
if [ -n "${FTAUDIT_PYTHONS:-}" ]; then
  read -r -a pythons <<<"$FTAUDIT_PYTHONS"
else
  # Free-threaded (X.Yt) and standard (X.Y) builds alike: each gets its own worker.
  for record in "$CACHE"/interpreters/*; do
    [ -f "$record" ] || continue
    py="$(head -n1 "$record")"
    if [ -x "$py" ]; then pythons+=("$py"); else echo "[build] $record names $py, which is gone; skipped" >&2; fi
  done
  [ "${#pythons[@]}" -gt 0 ] || pythons=("$(scripts/provision-python.sh | tail -n 1)")
fi

echo "[build] cargo build ($profile): ftaudit" >&2
cargo build "${cargo_flags[@]}" --bins --package ftaudit >&2
# Workers from an earlier build whose interpreter is no longer asked for must not be picked.
rm -f "$target/$profile"/ftaudit-worker-*

for py in "${pythons[@]}"; do
  tag="$(env -u PYTHON_GIL "$py" -I -c 'import sys; print("%d.%d%s" % (sys.version_info[0], sys.version_info[1], sys.abiflags))')"
  echo "[build] cargo build ($profile): ftaudit-worker-$tag with PYO3_PYTHON=$py" >&2
  # The worker embeds this interpreter; pyo3 reads PYO3_PYTHON at build time.
  PYO3_PYTHON="$py" CARGO_TARGET_DIR="$target/worker-$tag" \
    cargo build "${cargo_flags[@]}" --package ftaudit-worker >&2
  cp -f "$target/worker-$tag/$profile/ftaudit-worker" "$target/$profile/ftaudit-worker-$tag"
done
echo "$target/$profile"
