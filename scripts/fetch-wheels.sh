#!/usr/bin/env bash
# Downloads pinned sets of real wheels from PyPI, once, into $FTAUDIT_CACHE/wheels/<set>/.
#
#   scripts/fetch-wheels.sh              # the Linux set matching the interpreter, e.g. linux-cp313t
#   scripts/fetch-wheels.sh SET...       # named sets (fixtures/wheels/SET.txt)
#   scripts/fetch-wheels.sh --all        # every set in fixtures/wheels/
#
# Each set file pins exact versions with sha256 hashes and names its target in "# @python-version",
# "# @abi" and "# @platform" lines, so pip downloads wheels for that target whatever this machine
# is. A set is fetched again only when its file changed or a wheel went missing. Progress goes to
# stderr; stdout gets one directory per set, in the order asked for (the last line is the last set).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"
SETS_DIR="$ROOT/fixtures/wheels"

say() { printf '[fetch-wheels] %s\n' "$*" >&2; }
die() { printf '[fetch-wheels] error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib/interpreter.sh
. "$ROOT/scripts/lib/interpreter.sh"

PY="$(find_python)"
# Any pip can download for another target; the provisioned interpreter is simply the one we know has pip.
env -u PYTHON_GIL "$PY" -I -m pip --version >/dev/null 2>&1 || die "$PY has no pip (run: $PY -m ensurepip)"

# A set is fixtures/wheels/SET.txt, or fixtures/wheels/published/SET.txt: the large sets behind the
# published matrix (scripts/publish-reports.sh), which `--all` (the test suite's fetch) leaves out.
set_file() {
  if [ -f "$SETS_DIR/$1.txt" ]; then printf '%s\n' "$SETS_DIR/$1.txt"; else printf '%s\n' "$SETS_DIR/published/$1.txt"; fi
}

directive() { # directive FILE NAME -> the words after "# @NAME"
  sed -n "s/^# @$2[[:space:]]\+//p" "$1" | head -n1
}

fetch_set() {
  local set="$1" file
  file="$(set_file "$1")"
  [ -f "$file" ] || die "no wheel set '$set': $file does not exist (sets: $(cd "$SETS_DIR" && ls -- *.txt | grep -v '^demo-' | sed 's/\.txt$//' | tr '\n' ' ' | sed 's/ $//'))"
  local version abi platforms
  version="$(directive "$file" python-version)"
  abi="$(directive "$file" abi)"
  platforms="$(directive "$file" platform)"
  [ -n "$version" ] && [ -n "$abi" ] && [ -n "$platforms" ] \
    || die "$file lacks one of the '# @python-version', '# @abi', '# @platform' lines"

  local dest="$CACHE/wheels/$set"
  mkdir -p "$dest"
  local want count
  want="$(sha256sum "$file" | cut -d' ' -f1)"
  count="$(grep -c '^[A-Za-z0-9]' "$file")"
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ] \
     && [ "$(find "$dest" -maxdepth 1 -name '*.whl' | wc -l)" -eq "$count" ]; then
    say "$set: up to date ($count wheels in $dest)"
    printf '%s\n' "$dest"
    return
  fi

  say "$set: downloading $count wheels for cp${version/./} $abi [$platforms]"
  rm -f "$dest/.stamp" "$dest"/*.whl
  local args=(--no-deps --only-binary=:all: --require-hashes --python-version "$version"
              --implementation cp --abi "$abi" --dest "$dest" --progress-bar off --disable-pip-version-check --quiet)
  local p
  for p in $platforms; do args+=(--platform "$p"); done
  local start=$SECONDS
  env -u PYTHON_GIL "$PY" -I -m pip download "${args[@]}" -r "$file" >&2 \
    || die "pip download failed for $file (network, or a pinned wheel vanished from PyPI)"
  local got
  got="$(find "$dest" -maxdepth 1 -name '*.whl' | wc -l)"
  [ "$got" -eq "$count" ] || die "$set: expected $count wheels in $dest, found $got"
  printf '%s\n' "$want" > "$dest/.stamp"
  say "$set: $got wheels, $(du -sh "$dest" | cut -f1), in $((SECONDS - start))s"
  printf '%s\n' "$dest"
}

sets=()
if [ "$#" -eq 0 ]; then
  abi="$(env -u PYTHON_GIL "$PY" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}{sys.abiflags}")')"
  sets=("linux-$abi")
elif [ "$1" = "--all" ]; then
  for f in "$SETS_DIR"/*.txt; do
    case "$(basename "$f")" in demo-*) ;; *) sets+=("$(basename "$f" .txt)");; esac
  done
else
  sets=("$@")
fi

mkdir -p "$CACHE/wheels"
exec 9>"$CACHE/wheels/.lock"
flock -n 9 || { say "another fetch holds $CACHE/wheels/.lock; waiting"; flock 9; }
for s in "${sets[@]}"; do fetch_set "$s"; done
