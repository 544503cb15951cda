#!/usr/bin/env bash
# The steps of the ftaudit GitHub Action (action.yml), one subcommand each:
#
#   ftaudit-action.sh install   # ftaudit into $RUNNER_TEMP/ftaudit-tool, never the audited venv
#   ftaudit-action.sh scan      # one scan, JSON report; the exit status is kept for the gate
#   ftaudit-action.sh report    # job summary, annotations, SARIF/JUnit/HTML/Markdown, counts
#   ftaudit-action.sh gate      # fails the job as ftaudit's exit status says (unless fail: false)
#
# Inputs arrive as FTAUDIT_ACTION_* variables (action.yml maps them); outputs go to
# $GITHUB_OUTPUT, the summary to $GITHUB_STEP_SUMMARY, files under $RUNNER_TEMP/ftaudit.
set -euo pipefail

say() { printf '[ftaudit-action] %s\n' "$*" >&2; }
output() { printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"; }
out_dir="$RUNNER_TEMP/ftaudit"
mkdir -p "$out_dir"

install() {
  local tool="$RUNNER_TEMP/ftaudit-tool" package="${FTAUDIT_ACTION_PACKAGE:-}"
  # Default: this action's own source (pip builds the wheel with the runner's Rust toolchain).
  [ -n "$package" ] || package="$GITHUB_ACTION_PATH"
  say "installing ftaudit from $package into $tool"
  "${FTAUDIT_ACTION_TOOL_PYTHON:-python3}" -m venv "$tool"
  "$tool/bin/python" -m pip install --quiet --disable-pip-version-check "$package" >&2
  "$tool/bin/ftaudit" --version >&2
  output ftaudit "$tool/bin/ftaudit"
}

is_lock() {
  case "$(basename "$1")" in
    uv.lock | pylock.toml | pylock.*.toml | *.txt) [ -f "$1" ] ;;
    *) return 1 ;;
  esac
}

scan() {
  local report="$out_dir/report.json" target="$FTAUDIT_ACTION_TARGET"
  local args=(scan "$target" --format json --output "$report")
  if is_lock "$target"; then args+=(--python "${FTAUDIT_ACTION_PYTHON:-3.14t}"); fi
  [ "${FTAUDIT_ACTION_PROBE:-true}" = true ] || args+=(--static-only)
  [ "${FTAUDIT_ACTION_STRESS:-false}" != true ] || args+=(--stress)
  [ -z "${FTAUDIT_ACTION_INTERPRETER:-}" ] || args+=(--interpreter "$FTAUDIT_ACTION_INTERPRETER")
  [ -z "${FTAUDIT_ACTION_POLICY:-}" ] || args+=(--policy "$FTAUDIT_ACTION_POLICY")
  [ -z "${FTAUDIT_ACTION_BASELINE:-}" ] || args+=(--baseline "$FTAUDIT_ACTION_BASELINE")
  if [ -n "${FTAUDIT_ACTION_ARGS:-}" ]; then
    local extra
    read -r -a extra <<<"$FTAUDIT_ACTION_ARGS"
    args+=("${extra[@]}")
  fi
  rm -f "$report"
  say "ftaudit ${args[*]}"
  local status=0
  "$FTAUDIT_ACTION_BIN" "${args[@]}" || status=$?
  output exit-code "$status"
  if [ -f "$report" ]; then output report "$report"; else output report ""; fi
  say "exit status $status (0 clean, 1 policy violations, 2 could not check everything, 3 usage)"
}

report() {
  local report="${FTAUDIT_ACTION_REPORT:-}" bin="$FTAUDIT_ACTION_BIN"
  if [ -z "$report" ] || [ ! -f "$report" ]; then
    say "no report was written: the scan failed before it had one (see the Scan step)"
    if [ "${FTAUDIT_ACTION_SUMMARY:-true}" = true ]; then
      printf '## ftaudit\n\nThe scan wrote no report: see the Scan step log.\n' >> "$GITHUB_STEP_SUMMARY"
    fi
    output incomplete true
    return 0
  fi
  # `ftaudit report` exits as the scan did (0-2); 3 is a rendering failure.
  render() { local status=0; "$bin" report "$report" "$@" || status=$?; [ "$status" -le 2 ]; }
  if [ "${FTAUDIT_ACTION_SUMMARY:-true}" = true ]; then
    render --format markdown >> "$GITHUB_STEP_SUMMARY"
  fi
  if [ "${FTAUDIT_ACTION_ANNOTATIONS:-true}" = true ]; then
    render --format github
  fi
  local format
  IFS=',' read -r -a formats <<<"${FTAUDIT_ACTION_FORMATS:-}"
  for format in "${formats[@]}"; do
    format="$(printf '%s' "$format" | tr -d '[:space:]')"
    case "$format" in
      "") ;;
      sarif) render --format sarif --output "$out_dir/ftaudit.sarif"; output sarif "$out_dir/ftaudit.sarif" ;;
      junit) render --format junit --output "$out_dir/ftaudit.xml"; output junit "$out_dir/ftaudit.xml" ;;
      html) render --format html --output "$out_dir/ftaudit.html"; output html "$out_dir/ftaudit.html" ;;
      markdown) render --format markdown --output "$out_dir/ftaudit.md"; output markdown "$out_dir/ftaudit.md" ;;
      *) say "unknown format '$format' (sarif, junit, html, markdown)"; return 3 ;;
    esac
  done
  # The counts, read from the report (the JSON contract) with the tool environment's Python.
  "$(dirname "$bin")/python" - "$report" >> "$GITHUB_OUTPUT" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
print("errors=%d" % summary["errors"])
print("warnings=%d" % summary["warnings"])
print("incomplete=%s" % ("true" if summary["incomplete"] else "false"))
print("readiness=%s" % summary["readiness"])
PY
}

gate() {
  local status="${FTAUDIT_ACTION_EXIT_CODE:-3}"
  [ -n "$status" ] || status=3
  if [ "$status" -eq 0 ]; then say "clean"; return 0; fi
  if [ "${FTAUDIT_ACTION_FAIL:-true}" != true ]; then
    say "ftaudit exited $status; not failing the job (fail: false)"
    return 0
  fi
  case "$status" in
    1) say "the policy is violated: see the summary and annotations" ;;
    2) say "something could not be checked: see the summary" ;;
    *) say "ftaudit could not run (exit $status): see the Scan step" ;;
  esac
  exit "$status"
}

case "${1:-}" in
  install | scan | report | gate) "$1" ;;
  *) echo "usage: $0 install|scan|report|gate" >&2; exit 3 ;;
esac
