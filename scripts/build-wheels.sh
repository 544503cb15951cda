#!/usr/bin/env bash
# Builds the release wheels the way they are published: manylinux2014 (glibc 2.17) for Linux
# x86_64 and aarch64, cross-linked with zig, then checks each wheel's tag with auditwheel.
#
#   scripts/build-wheels.sh [OUT_DIR]      (default target/wheels; prints each wheel's path)
#
# The build is the standard PEP 517 one (build-backend/ around maturin); only MATURIN_PEP517_ARGS
# differs per target. maturin, ziglang, cargo-zigbuild and auditwheel come from PyPI into a tool
# environment under $FTAUDIT_CACHE/wheel-tools; rustup adds the aarch64 standard library.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
OUT="$(mkdir -p "${1:-target/wheels}" && cd "${1:-target/wheels}" && pwd)"
TOOLS="$CACHE/wheel-tools"
say() { printf '[build-wheels] %s\n' "$*" >&2; }

python="${FTAUDIT_TOOL_PYTHON:-$(command -v python3)}"
if [ ! -x "$TOOLS/bin/auditwheel" ]; then
  say "tools: maturin, ziglang, cargo-zigbuild, auditwheel, build into $TOOLS"
  "$python" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.7,<2" ziglang cargo-zigbuild auditwheel build >&2
fi
export PATH="$TOOLS/bin:$PATH"

for triple in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple" >&2
  say "$triple: python -m build --wheel (manylinux2014, zig)"
  start=$SECONDS
  # --no-isolation: the tools above are the build environment (no index needed once they are in).
  MATURIN_PEP517_ARGS="--zig --compatibility manylinux2014 --target $triple" \
    "$TOOLS/bin/python" -m build --wheel --no-isolation --outdir "$OUT/$triple" . >&2
  wheel="$(ls -t "$OUT/$triple"/ftaudit-*.whl | head -n 1)"
  say "$triple: built $(basename "$wheel") ($(du -h "$wheel" | cut -f1)) in $((SECONDS - start)) s"
  # auditwheel reads every ELF file in the wheel (the workers included) and names the oldest
  # manylinux policy they all meet; it must be the one the wheel is tagged with.
  "$TOOLS/bin/auditwheel" show "$wheel" >&2
  "$TOOLS/bin/auditwheel" show "$wheel" 2>&1 | tr '\n' ' ' | grep -q 'manylinux_2_17' \
    || { say "$wheel is not manylinux_2_17 compatible"; exit 1; }
  echo "$wheel"
done
