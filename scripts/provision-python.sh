#!/usr/bin/env bash
# Finds or builds a free-threaded CPython, with a shared libpython (the worker is embedded next to
# it) unless --static asks for one without (the interpreter hosts the worker).
#
#   scripts/provision-python.sh                 # the newest free-threaded CPython that can be had (3.14t first)
#   scripts/provision-python.sh 3.13            # a free-threaded 3.13 specifically
#   scripts/provision-python.sh --standard 3.14 # the standard (GIL) build of 3.14, for its
#                                               # subinterpreters; everything below then reads
#                                               # X.Y for X.Yt (python3.14, cpython/3.14.7, ...)
#   scripts/provision-python.sh --static 3.14   # libpython linked into python (as manylinux,
#                                               # Debian and conda build it): the interpreter then
#                                               # hosts ftaudit's worker; cpython/3.14.7t-static
#
# Tried in order, each saying why it did or did not serve:
#   1. $FTAUDIT_PYTHON, the interpreter the user names;
#   2. python3.14t, python3.13t on PATH;
#   3. a build cached by an earlier run, $FTAUDIT_CACHE/cpython/X.Y.Zt (one folder per version);
#   4. `uv python install 3.14t` (needs access to python-build-standalone, which may be closed);
#   5. a python.org-style source release, Python-X.Y.Z.tar.xz, from $FTAUDIT_CPYTHON_SOURCE (a path
#      or an http(s) URL) or else ../shared/cpython/ beside the checkout. Its sha256 is checked
#      before anything is built: $FTAUDIT_CPYTHON_SHA256, or a SHA256SUMS file next to it;
#   6. Debian trixie's python3.13 source package (3.13 only), the last resort.
# Builds use --disable-gil --enable-shared and go to $FTAUDIT_CACHE/cpython/X.Y.Zt, so several
# versions live side by side (standard builds: --enable-shared, to $FTAUDIT_CACHE/cpython/X.Y.Z).
#
# Progress goes to stderr; the last line on stdout is the interpreter's path. It is also recorded
# in $FTAUDIT_CACHE/interpreters/X.Yt (X.Y for a standard build), and the default free-threaded
# one in $FTAUDIT_CACHE/interpreter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
BUILDS="$CACHE/cpython"
# Newest first: with no version asked for, the first that can be had wins.
KNOWN_MINORS=(3.14 3.13)
mkdir -p "$BUILDS" "$CACHE/interpreters"

say() { printf '[provision] %s\n' "$*" >&2; }
die() { printf '[provision] error: %s\n' "$*" >&2; exit 1; }

# The build flavour: free-threaded ("t" after the version everywhere) unless --standard.
SUFFIX=t
FLAVOUR=free-threaded
GIL_FLAGS=(--disable-gil)
# The library flavour: shared libpython unless --static ("-static" after the version folder
# and the record's name).
LIBRARY=shared
VARIANT=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --standard) SUFFIX=""; FLAVOUR=standard; GIL_FLAGS=(); shift ;;
    --static) LIBRARY=static; VARIANT="-static"; shift ;;
    *) break ;;
  esac
done
CONFIGURE_FLAGS=("${GIL_FLAGS[@]}" --with-ensurepip=install)
[ "$LIBRARY" = shared ] && CONFIGURE_FLAGS+=(--enable-shared)

WANT="${1:-}"
case "$WANT" in
  "" ) MINORS=("${KNOWN_MINORS[@]}") ;;
  3.[0-9]|3.[0-9][0-9]) MINORS=("$WANT") ;;
  *) die "usage: $0 [--standard] [--static] [X.Y]   (e.g. 3.14; got '$WANT')" ;;
esac
wanted() { # wanted X.Y -> whether this run may return a 3.X interpreter of that minor
  local m; for m in "${MINORS[@]}"; do [ "$m" = "$1" ] && return 0; done; return 1
}

# Why the last verify failed, for the messages.
WHY=""
# A usable interpreter is of the flavour asked for (free-threaded ones start with the GIL off), has
# a shared libpython (embedding through pyo3 links against it) and, when a version was asked for,
# is that version.
verify() {
  local py="$1" out
  [ -x "$py" ] || { WHY="$py is not executable"; return 1; }
  if ! out="$(env -u PYTHON_GIL "$py" -I -c '
import sys, sysconfig
problems = []
free_threaded = sysconfig.get_config_var("Py_GIL_DISABLED") == 1
if sys.argv[1] == "t" and not free_threaded: problems.append("not a free-threaded build")
elif sys.argv[1] == "t" and sys._is_gil_enabled(): problems.append("the GIL is on at start-up")
elif sys.argv[1] == "" and free_threaded: problems.append("a free-threaded build, not the standard one")
shared = sysconfig.get_config_var("Py_ENABLE_SHARED") == 1
if sys.argv[2] == "shared" and not shared: problems.append("no shared libpython")
elif sys.argv[2] == "static" and shared: problems.append("a shared libpython, not a static one")
print("%d.%d" % sys.version_info[:2], "; ".join(problems))
' "$SUFFIX" "$LIBRARY" 2>&1)"; then
    WHY="$py does not run: $(printf '%s' "$out" | tail -n1)"; return 1
  fi
  local minor="${out%% *}" problems="${out#* }"
  [ "$problems" = "$out" ] && problems=""
  if [ -n "$problems" ]; then WHY="$py: $problems"; return 1; fi
  if ! wanted "$minor"; then WHY="$py is $minor, not ${MINORS[*]}"; return 1; fi
  return 0
}

found() {
  local py how="$2" version minor
  py="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  version="$(env -u PYTHON_GIL "$py" -I -c 'import sys; print(sys.version.split()[0] + sys.abiflags)')"
  minor="$(env -u PYTHON_GIL "$py" -I -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  say "using $py ($version): $how"
  printf '%s\n' "$py" > "$CACHE/interpreters/${minor}${SUFFIX}${VARIANT}"
  [ -n "$WANT" ] || [ -z "$SUFFIX" ] || [ -n "$VARIANT" ] || printf '%s\n' "$py" > "$CACHE/interpreter"
  printf '%s\n' "$py"
  exit 0
}

# --- 1. the interpreter the user names ------------------------------------------------------
if [ -n "${FTAUDIT_PYTHON:-}" ]; then
  if verify "$FTAUDIT_PYTHON"; then found "$FTAUDIT_PYTHON" "named by FTAUDIT_PYTHON"; fi
  [ -n "$WANT" ] || die "FTAUDIT_PYTHON=$FTAUDIT_PYTHON cannot serve: $WHY"
  say "1. FTAUDIT_PYTHON: $WHY"
else
  say "1. FTAUDIT_PYTHON: not set"
fi

# --- 2. on PATH ------------------------------------------------------------------------------
for minor in "${MINORS[@]}"; do
  if py="$(command -v "python${minor}${SUFFIX}" 2>/dev/null)"; then
    if verify "$py"; then found "$py" "python${minor}${SUFFIX} on PATH"; fi
    say "2. python${minor}${SUFFIX} on PATH: $WHY"
  else
    say "2. python${minor}${SUFFIX}: not on PATH"
  fi
done

# --- 3. cached builds ------------------------------------------------------------------------
# A build counts once its install finished: the marker is written last.
for minor in "${MINORS[@]}"; do
  for prefix in $(ls -d "$BUILDS/$minor".* 2>/dev/null | grep -E "/$minor\.[0-9]+${SUFFIX}${VARIANT}\$" | sort -rV); do
    py="$prefix/bin/python${minor}${SUFFIX}"
    WHY=""
    if [ -f "$prefix/.ftaudit-build" ] && verify "$py"; then found "$py" "cached build ($(head -n1 "$prefix/.ftaudit-build"))"; fi
    say "3. cached $prefix: ${WHY:-unfinished build}"
  done
done
say "3. no finished cached build for ${MINORS[*]} in $BUILDS"

# --- 4. uv -----------------------------------------------------------------------------------
if command -v uv >/dev/null 2>&1; then
  for minor in "${MINORS[@]}"; do
    say "4. trying: uv python install ${minor}${SUFFIX}"
    if timeout 120 uv python install "${minor}${SUFFIX}" >&2 2>&1; then
      py="$(uv python find "${minor}${SUFFIX}" 2>/dev/null || true)"
      if [ -n "$py" ] && verify "$py"; then found "$py" "uv python install ${minor}${SUFFIX}"; fi
      say "4. uv's ${minor}${SUFFIX} does not serve: ${WHY:-uv found none}"
    else
      say "4. uv python install ${minor}${SUFFIX} failed (no access to its downloads?)"
    fi
  done
else
  say "4. uv: not installed"
fi

# --- building --------------------------------------------------------------------------------
install_build_deps() {
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: the build needs a C compiler and the -dev packages for ssl, zlib, ffi, bz2, lzma, sqlite"; return 0; }
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local pkgs=(build-essential dpkg-dev pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev
              liblzma-dev libsqlite3-dev libreadline-dev uuid-dev)
  if dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | grep -vq 'install ok installed' \
     || [ "$(dpkg-query -W -f='${Status}\n' "${pkgs[@]}" 2>/dev/null | wc -l)" -lt "${#pkgs[@]}" ]; then
    say "installing build dependencies (apt-get)"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
  fi
}

# build_tree SRC_DIR VERSION ORIGIN: configure, build and install into $BUILDS/VERSIONt
# (VERSION for a standard build).
build_tree() {
  local src="$1" version="$2" origin="$3" minor="${2%.*}"
  local prefix="$BUILDS/${version}${SUFFIX}${VARIANT}"
  rm -rf "$prefix"
  say "configuring ${CONFIGURE_FLAGS[*]} into $prefix"
  local ldflags=""
  [ "$LIBRARY" = shared ] && ldflags="-Wl,-rpath,$prefix/lib"
  (cd "$src" && ./configure -q --prefix="$prefix" "${CONFIGURE_FLAGS[@]}" \
     LDFLAGS="$ldflags" >&2)
  say "building $version with $(nproc) jobs (about 7 minutes on 2 cores)"
  local start=$SECONDS
  (cd "$src" && make -s -j"$(nproc)") >"$src/../build.log" 2>&1 \
    || { tail -n 40 "$src/../build.log" >&2; die "build failed (log: $src/../build.log)"; }
  (cd "$src" && make -s install) >"$src/../install.log" 2>&1 \
    || { tail -n 40 "$src/../install.log" >&2; die "install failed (log: $src/../install.log)"; }
  local py="$prefix/bin/python${minor}${SUFFIX}"
  verify "$py" || die "the build finished but $py does not serve: $WHY"
  printf '%s\nconfigure %s\nbuilt in %ss\n' "$origin" "${CONFIGURE_FLAGS[*]}" "$((SECONDS - start))" > "$prefix/.ftaudit-build"
  say "built in $((SECONDS - start))s"
  found "$py" "built from $origin"
}

# --- 5. a source release ---------------------------------------------------------------------
release_source() { # prints the release to use, or nothing
  if [ -n "${FTAUDIT_CPYTHON_SOURCE:-}" ]; then printf '%s\n' "$FTAUDIT_CPYTHON_SOURCE"; return; fi
  ls "$ROOT"/../shared/cpython/Python-[0-9]*.tar.xz 2>/dev/null | sort -rV | head -n1
}
expected_sha256() { # expected_sha256 SOURCE LOCAL_FILE
  if [ -n "${FTAUDIT_CPYTHON_SHA256:-}" ]; then printf '%s\n' "$FTAUDIT_CPYTHON_SHA256"; return; fi
  case "$1" in http://*|https://*) return;; esac
  local sums; sums="$(dirname "$1")/SHA256SUMS"
  [ -f "$sums" ] && awk -v f="$(basename "$1")" '$2 == f || $2 == "*"f {print $1}' "$sums" | head -n1
}

source="$(release_source)"
if [ -z "$source" ]; then
  say "5. source release: none (set FTAUDIT_CPYTHON_SOURCE to a Python-X.Y.Z.tar.xz path or URL)"
else
  name="$(basename "$source")"
  version="$(printf '%s' "$name" | sed -n 's/^Python-\([0-9]\+\.[0-9]\+\.[0-9]\+\)\.tar\.\(xz\|gz\)$/\1/p')"
  if [ -z "$version" ]; then
    say "5. source release $source: not named like Python-X.Y.Z.tar.xz"
  elif ! wanted "${version%.*}"; then
    say "5. source release $source is $version, not ${MINORS[*]}"
  else
    exec 9>"$BUILDS/.lock-$version$SUFFIX"
    flock -n 9 || { say "another build of $version$SUFFIX is running; waiting"; flock 9; }
    # The build may have finished while we waited.
    if [ -f "$BUILDS/${version}${SUFFIX}/.ftaudit-build" ] && verify "$BUILDS/${version}${SUFFIX}/bin/python${version%.*}${SUFFIX}"; then
      found "$BUILDS/${version}${SUFFIX}/bin/python${version%.*}${SUFFIX}" "built by a concurrent run"
    fi
    local_file="$source"
    case "$source" in
      http://*|https://*)
        mkdir -p "$CACHE/downloads"; local_file="$CACHE/downloads/$name"
        if [ ! -f "$local_file" ]; then
          say "5. downloading $source"
          curl -fsSL --retry 2 -o "$local_file.part" "$source" || die "cannot download $source"
          mv "$local_file.part" "$local_file"
        fi ;;
    esac
    [ -f "$local_file" ] || die "FTAUDIT_CPYTHON_SOURCE=$source does not exist"
    want_sha="$(expected_sha256 "$source" "$local_file")"
    [ -n "$want_sha" ] || die "no sha256 for $source: set FTAUDIT_CPYTHON_SHA256 or put a SHA256SUMS file next to it (nothing is built from an unchecked source)"
    got_sha="$(sha256sum "$local_file" | cut -d' ' -f1)"
    [ "$got_sha" = "$want_sha" ] || die "sha256 of $local_file is $got_sha, expected $want_sha: refusing to build it"
    say "5. building $name (sha256 $got_sha checked)"
    install_build_deps
    work="$BUILDS/src-$version$SUFFIX"; rm -rf "$work"; mkdir -p "$work"
    tar -xf "$local_file" -C "$work"
    tree="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)"
    [ -x "$tree/configure" ] || die "$name holds no configure script at its root"
    trap 'rm -rf "$work"' EXIT
    build_tree "$tree" "$version" "$name sha256 $got_sha"
  fi
fi

# --- 6. Debian trixie's python3.13 source -----------------------------------------------------
if ! wanted 3.13 || [ -z "$SUFFIX" ]; then
  die "no $FLAVOUR ${MINORS[*]} could be had (see the reasons above): set FTAUDIT_PYTHON, or FTAUDIT_CPYTHON_SOURCE to a Python-${MINORS[0]}.N.tar.xz"
fi
command -v apt-get >/dev/null 2>&1 || die "no free-threaded CPython found and no apt-get to build one: set FTAUDIT_PYTHON to a python3.14t/3.13t built with --enable-shared"
say "6. building Debian trixie's python3.13 source package"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
SRC_LIST=/etc/apt/sources.list.d/ftaudit-trixie-src.sources
if [ ! -f "$SRC_LIST" ]; then
  say "adding a deb-src entry for trixie (source packages only)"
  $sudo tee "$SRC_LIST" >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  $sudo apt-get update -qq >&2
fi
install_build_deps
exec 9>"$BUILDS/.lock-debian-3.13"
flock -n 9 || { say "another build of Debian's 3.13 is running; waiting"; flock 9; }
work="$BUILDS/src-debian-3.13"; rm -rf "$work"; mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
say "downloading the python3.13 source package"
(cd "$work" && apt-get source --download-only -qq python3.13 >&2)
dsc="$(ls "$work"/python3.13_*.dsc | head -n 1)"
[ -n "$dsc" ] || die "apt-get source python3.13 gave no .dsc"
# Debian's patches move site-packages to dist-packages; ftaudit needs upstream behaviour.
(cd "$work" && dpkg-source --skip-patches -x "$dsc" src >&2)
version="$(sed -n 's/^#define PY_VERSION[[:space:]]*"\([0-9.]*\)".*/\1/p' "$work/src/Include/patchlevel.h")"
[ -n "$version" ] || die "cannot read PY_VERSION from the Debian source"
if [ -f "$BUILDS/${version}t/.ftaudit-build" ] && verify "$BUILDS/${version}t/bin/python3.13t"; then
  found "$BUILDS/${version}t/bin/python3.13t" "built by a concurrent run"
fi
build_tree "$work/src" "$version" "Debian $(basename "$dsc" .dsc), patches skipped"
