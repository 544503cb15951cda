#!/usr/bin/env bash
# Regenerates reports/: real compatibility matrices for pinned popular packages, as JSON (the
# report model) and as the terminal table. Inputs come from the project's own pinned sets. Each
# probed matrix is made on each free-threaded interpreter (3.14t first) and names it in its file
# name and in its header; the standard (GIL) build of the first one probes its own linux set
# (cp314 wheels of the same packages) for the subinterpreter comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a minors <<<"${FTAUDIT_INTERPRETERS:-3.14 3.13}"
pythons=()
for minor in "${minors[@]}"; do
  pythons+=("$(env -u FTAUDIT_PYTHON scripts/provision-python.sh "$minor" | tail -n 1)")
done
standard="$(env -u FTAUDIT_PYTHON scripts/provision-python.sh --standard "${minors[0]}" | tail -n 1)"
bin="$(scripts/build.sh --release | tail -n 1)"
sets="$(dirname "$(FTAUDIT_PYTHON="${pythons[0]}" scripts/fetch-wheels.sh --all | tail -n 1)")"
mkdir -p reports

publish() {
  local name="$1"; shift
  # Exit status 1/2 (findings, incomplete) is the content of the report, not a failure to make it.
  "$bin/ftaudit" scan "$@" --format json --output "reports/$name.json" || [ $? -le 2 ]
  # The other formats are rendered from that one report, not from a second scan.
  "$bin/ftaudit" report "reports/$name.json" --notes --output "reports/$name.txt" || [ $? -le 2 ]
  "$bin/ftaudit" report "reports/$name.json" --format markdown --output "reports/$name.md" || [ $? -le 2 ]
  "$bin/ftaudit" report "reports/$name.json" --format html --output "reports/$name.html" || [ $? -le 2 ]
  echo "[reports] reports/$name.{json,txt,md,html}" >&2
}

for py in "${pythons[@]}"; do
  tag="$(env -u PYTHON_GIL "$py" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}{sys.abiflags}")')"
  publish "demo-$tag-probed" "$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh demo | tail -n 1)"
  # A linux set that is its own dependency closure is installed and probed; the others are read.
  if grep -q '^# @closure' "fixtures/wheels/linux-$tag.txt"; then
    publish "wheels-linux-$tag-probed" "$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh "linux-$tag" | tail -n 1)"
  fi
done
standard_tag="$(env -u PYTHON_GIL "$standard" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')"
if [ -f "fixtures/wheels/linux-$standard_tag.txt" ]; then
  publish "wheels-linux-$standard_tag-probed" "$(FTAUDIT_PYTHON="$standard" scripts/make-venv.sh "linux-$standard_tag" | tail -n 1)"
fi
for set in macos-arm64 macos-x86_64 windows-amd64; do
  publish "wheels-$set-static" "$sets/$set"
done
# Every report above in one matrix: distribution x module x interpreter and platform.
reports=(reports/*-probed.json reports/*-static.json)
"$bin/ftaudit" merge "${reports[@]}" --output reports/matrix.json
"$bin/ftaudit" merge "${reports[@]}" --format html --title "ftaudit: free-threading compatibility matrix" --output reports/matrix.html
# The per-package roll-up: free-threaded and standard builds, platforms, side by side.
"$bin/ftaudit" merge "${reports[@]}" --format markdown --title "ftaudit: packages by interpreter and platform" --output reports/packages.md
echo "[reports] reports/matrix.{json,html}, reports/packages.md" >&2
