#!/usr/bin/env bash
# Finds or builds a free-threaded CPython with a shared libpython, which ftaudit embeds.
#
# Order: $FTAUDIT_PYTHON; python3.14t / python3.13t on PATH; the cached build from an earlier
# run; `uv python install 3.14t` (needs network access to python-build-standalone); finally
# Debian trixie's python3.13 source package built with --disable-gil --enable-shared.
#
# Progress goes to stderr; the last line on stdout is the interpreter's path, which is also
# written to $FTAUDIT_CACHE/interpreter for the other scripts.
set -euo pipefail

CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
BUILD_PREFIX="$CACHE/cpython-ft"
mkdir -p "$CACHE"

say() { printf '[provision] %s\n' "$*" >&2; }
die() { printf '[provision] error: %s\n' "$*" >&2; exit 1; }

# A usable interpreter is free-threaded, starts with the GIL off, and has a shared libpython
# (embedding through pyo3 links against it).
verify() {
  local py="$1"
  [ -x "$py" ] || return 1
  env -u PYTHON_GIL "$py" -I -c '
import sys, sysconfig
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1, "not a free-threaded build"
assert not sys._is_gil_enabled(), "GIL enabled at start-up"
assert sysconfig.get_config_var("Py_ENABLE_SHARED") == 1, "no shared libpython"
' 2>/dev/null
}

found() {
  local py
  py="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  say "using $py ($("$py" -c 'import sys; print(sys.version.split()[0] + sys.abiflags)'))"
  printf '%s\n' "$py" > "$CACHE/interpreter"
  printf '%s\n' "$py"
  exit 0
}

if [ -n "${FTAUDIT_PYTHON:-}" ]; then
  verify "$FTAUDIT_PYTHON" || die "FTAUDIT_PYTHON=$FTAUDIT_PYTHON is not a free-threaded CPython with a shared libpython"
  found "$FTAUDIT_PYTHON"
fi

for name in python3.14t python3.13t; do
  if py="$(command -v "$name" 2>/dev/null)" && verify "$py"; then found "$py"; fi
done

for py in "$BUILD_PREFIX"/bin/python3.1[0-9]t; do
  if [ -e "$py" ] && verify "$py"; then found "$py"; fi
done

if command -v uv >/dev/null 2>&1; then
  say "trying: uv python install 3.14t"
  if timeout 120 uv python install 3.14t >&2 2>&1; then
    py="$(uv python find 3.14t 2>/dev/null || true)"
    if [ -n "$py" ] && verify "$py"; then found "$py"; fi
  fi
  say "uv could not provide 3.14t; building from source instead"
fi

# --- build Debian trixie's python3.13 source with the GIL disabled -------------------------
command -v apt-get >/dev/null 2>&1 || die "no free-threaded CPython found and no apt-get to build one: set FTAUDIT_PYTHON to a python3.14t/3.13t built with --enable-shared"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

SRC_LIST=/etc/apt/sources.list.d/ftaudit-trixie-src.sources
if [ ! -f "$SRC_LIST" ]; then
  say "adding a deb-src entry for trixie (source packages only)"
  $SUDO tee "$SRC_LIST" >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi

say "installing build dependencies (apt-get)"
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  build-essential dpkg-dev pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev \
  libsqlite3-dev libreadline-dev >&2

WORK="$CACHE/cpython-src"
rm -rf "$WORK"; mkdir -p "$WORK"
say "downloading the python3.13 source package"
(cd "$WORK" && apt-get source --download-only -qq python3.13 >&2)
dsc="$(ls "$WORK"/python3.13_*.dsc | head -n 1)"
[ -n "$dsc" ] || die "apt-get source python3.13 gave no .dsc"
# Debian's patches move site-packages to dist-packages; ftaudit needs upstream behaviour.
(cd "$WORK" && dpkg-source --skip-patches -x "$dsc" src >&2)

say "configuring (--disable-gil --enable-shared) into $BUILD_PREFIX"
rm -rf "$BUILD_PREFIX"
cd "$WORK/src"
./configure -q --prefix="$BUILD_PREFIX" --disable-gil --enable-shared --with-ensurepip=install \
  LDFLAGS="-Wl,-rpath,$BUILD_PREFIX/lib" >&2
say "building with $(nproc) jobs (about 5 minutes on 2 cores)"
make -s -j"$(nproc)" >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; die "build failed (log: $WORK/build.log)"; }
make -s install >"$WORK/install.log" 2>&1 || { tail -n 40 "$WORK/install.log" >&2; die "install failed (log: $WORK/install.log)"; }
cd "$CACHE"; rm -rf "$WORK"

for py in "$BUILD_PREFIX"/bin/python3.1[0-9]t; do
  if [ -e "$py" ] && verify "$py"; then found "$py"; fi
done
die "the build finished but produced no working free-threaded interpreter under $BUILD_PREFIX/bin"
