#!/usr/bin/env bash
# Regenerates reports/: real compatibility matrices for pinned popular packages, as JSON (the
# report model) and as the terminal table. Inputs come from the project's own pinned sets.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$(scripts/build.sh --release | tail -n 1)"
venv="$(scripts/make-demo-venv.sh | tail -n 1)"
sets="$(dirname "$(scripts/fetch-wheels.sh --all | tail -n 1)")"
mkdir -p reports

publish() {
  local name="$1"; shift
  # Exit status 1/2 (findings, incomplete) is the content of the report, not a failure to make it.
  "$bin/ftaudit" scan "$@" --format json --output "reports/$name.json" || [ $? -le 2 ]
  "$bin/ftaudit" scan "$@" --notes --output "reports/$name.txt" || [ $? -le 2 ]
  echo "[reports] reports/$name.{json,txt}" >&2
}

publish demo-venv-probed "$venv"
for set in linux-cp314t macos-arm64 windows-amd64; do
  publish "wheels-$set-static" "$sets/$set"
done
