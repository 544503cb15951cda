#!/usr/bin/env bash
# Writes the pyo3 configuration for a worker of one CPython ABI: no interpreter is asked, and no
# libpython is linked (the user's interpreter supplies the C API at run time).
#
#   scripts/lib/worker-pyo3-config.sh 3.14t target/worker-3.14t/pyo3-config.txt
set -euo pipefail
abi="$1" out="$2"
case "$abi" in
  [0-9].[0-9]*t) version="${abi%t}" flags="Py_GIL_DISABLED" ;;
  [0-9].[0-9]*) version="$abi" flags="" ;;
  *) echo "worker-pyo3-config: not an ABI tag: $abi (want X.Y or X.Yt)" >&2; exit 2 ;;
esac
# The target's pointer width (every platform the wheel is built for is 64-bit).
mkdir -p "$(dirname "$out")"
new="$(printf 'implementation=CPython\nversion=%s\nshared=true\nabi3=false\npointer_width=64\nbuild_flags=%s\nsuppress_build_script_link_lines=true\n' "$version" "$flags")"
# Rewritten only when it changes, so cargo does not rebuild pyo3 for nothing.
if [ ! -f "$out" ] || [ "$(cat "$out")" != "$new" ]; then printf '%s\n' "$new" >"$out"; fi
