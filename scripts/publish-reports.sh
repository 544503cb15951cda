#!/usr/bin/env bash
# Regenerates reports/: real compatibility matrices of pinned packages, as JSON (the report
# model) and as table, Markdown and HTML, then one merged matrix of them all.
#
#   scripts/publish-reports.sh            # incremental: re-audits only what changed
#   FTAUDIT_PUBLISH_FULL=1 scripts/publish-reports.sh    # everything again
#
# What is audited:
#   - per free-threaded interpreter (FTAUDIT_INTERPRETERS, default "3.14 3.13"): the demo venv
#     and the pinned linux set, probed; the published set of the most-downloaded native
#     packages (fixtures/wheels/published/top-<tag>.txt), probed and stressed;
#   - the standard build of the first interpreter: its linux set, probed (subinterpreters);
#   - the macOS and Windows wheel sets, read statically, and the published set's lock read for
#     macOS arm64 (macOS 15) and Windows amd64 from the index (fixtures/wheels/published/top-<tag>-lock.txt).
#
# Incremental: each report's inputs (the set's pins with their wheel hashes, the interpreter,
# the ftaudit version, the scan's options) are kept in reports/state/<name>.inputs. A report
# whose inputs are unchanged is kept as it is; one whose pins moved is scanned again with
# `--reuse` (the earlier report) and `--rescan` naming every distribution whose pin or hash
# changed, so only those are probed and stressed again. The merged matrix is compared with the
# previous one (`merge --previous`): what became ready, regressed or is new goes into its summary.
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
mkdir -p reports/state
# Stress settings of the published sets: a few seconds of synthesized calls per distribution.
stress_args=(--stress --synth-budget "${FTAUDIT_SYNTH_BUDGET:-5}")
# Results are reused only across runs of the same ftaudit version (not its build commit).
version="$("$bin/ftaudit" --version | awk '{print $2}')"
started=$SECONDS

say() { printf '[publish] %s\n' "$*" >&2; }

# pins FILE -> "name version sha256..." per pinned distribution, sorted (names normalised).
pins() {
  awk '
    /^[A-Za-z0-9]/ { if (line) print line; split($1, p, "=="); n = tolower(p[1]); gsub(/[-_.]+/, "-", n); line = n " " p[2]; next }
    /--hash=sha256:/ { h = $0; sub(/.*--hash=sha256:/, "", h); sub(/[ \\].*/, "", h); line = line " " h }
    END { if (line) print line }
  ' "$1" | sort
}

# publish NAME INPUTS_FILE|- TARGET [scan args...]: scans TARGET into reports/NAME.json unless its
# inputs are unchanged, then renders it. INPUTS_FILE is the pinned set behind TARGET (- if none).
publish() {
  local name="$1" set_file="$2" target="$3"; shift 3
  local json="reports/$name.json" state="reports/state/$name.inputs" want
  want="$(mktemp)"
  {
    printf 'ftaudit %s\n' "$version"
    printf 'options %s\n' "$*"
    [ "$set_file" = - ] || pins "$set_file"
  } >"$want"
  local reuse=() scan=1
  if [ -z "${FTAUDIT_PUBLISH_FULL:-}" ] && [ -f "$json" ] && [ ! -f "$state" ] && [ -d "$target" ]; then
    # An earlier report without its inputs: ftaudit's own checks (its version, the interpreter,
    # each distribution's version, native files and module names) decide what it still covers.
    reuse=(--reuse "$json")
    say "$name: no record of its inputs; reusing what ftaudit finds unchanged"
  elif [ -z "${FTAUDIT_PUBLISH_FULL:-}" ] && [ -f "$json" ] && [ -f "$state" ]; then
    if cmp -s "$want" "$state"; then
      say "$name: inputs unchanged since $(date -u -r "$json" +%FT%TZ), kept"
      scan=0
    elif [ "$(head -n 2 "$want")" = "$(head -n 2 "$state")" ] && [ -d "$target" ]; then
      # Same ftaudit and options: only the distributions whose pin or hash moved run again.
      local changed
      changed="$(comm -13 <(tail -n +3 "$state") <(tail -n +3 "$want") | awk '{print $1}' | paste -sd, -)"
      reuse=(--reuse "$json")
      [ -z "$changed" ] || reuse+=(--rescan "$changed")
      say "$name: re-auditing ${changed:-nothing new (distributions removed)}; the rest is reused"
    fi
  fi
  local start=$SECONDS
  if [ "$scan" = 1 ]; then
    # Exit status 1/2 (findings, incomplete) is the content of the report, not a failure to make it.
    "$bin/ftaudit" scan "$target" "$@" "${reuse[@]}" --format json --output "$json.new" || [ $? -le 2 ]
    mv "$json.new" "$json"
  fi
  mv "$want" "$state"
  # The other formats are rendered from that one report, not from a second scan (and again
  # when it was kept, so every page comes from this ftaudit).
  "$bin/ftaudit" report "$json" --notes --output "reports/$name.txt" || [ $? -le 2 ]
  "$bin/ftaudit" report "$json" --format markdown --output "reports/$name.md" || [ $? -le 2 ]
  "$bin/ftaudit" report "$json" --format html --output "reports/$name.html" || [ $? -le 2 ]
  say "$name: reports/$name.{json,txt,md,html} in $((SECONDS - start)) s"
}

tag_of() {
  env -u PYTHON_GIL "$1" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}{sys.abiflags}")'
}

for py in "${pythons[@]}"; do
  tag="$(tag_of "$py")"
  publish "demo-$tag-probed" "fixtures/wheels/demo-requirements-$tag.txt" \
    "$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh demo | tail -n 1)"
  # A linux set that is its own dependency closure is installed and probed; the others are read.
  if grep -q '^# @closure' "fixtures/wheels/linux-$tag.txt"; then
    publish "wheels-linux-$tag-probed" "fixtures/wheels/linux-$tag.txt" \
      "$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh "linux-$tag" | tail -n 1)"
  fi
  top="fixtures/wheels/published/top-$tag.txt"
  if [ -f "$top" ]; then
    FTAUDIT_PYTHON="$py" scripts/fetch-wheels.sh "top-$tag" >/dev/null
    publish "top-linux-$tag-stressed" "$top" \
      "$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh "top-$tag" | tail -n 1)" "${stress_args[@]}"
  fi
  lock="fixtures/wheels/published/top-$tag-lock.txt"
  if [ -f "$lock" ]; then
    version_flag="${tag#cp}"; version_flag="${version_flag:0:1}.${version_flag:1}"
    publish "top-$tag-macos-windows-lock" "$lock" "$lock" --python "$version_flag" \
      --platform macosx_15_0_arm64 --platform win_amd64
  fi
done
standard_tag="$(tag_of "$standard")"
if [ -f "fixtures/wheels/linux-$standard_tag.txt" ]; then
  publish "wheels-linux-$standard_tag-probed" "fixtures/wheels/linux-$standard_tag.txt" \
    "$(FTAUDIT_PYTHON="$standard" scripts/make-venv.sh "linux-$standard_tag" | tail -n 1)"
fi
for set in macos-arm64 macos-x86_64 windows-amd64; do
  publish "wheels-$set-static" "fixtures/wheels/$set.txt" "$sets/$set"
done

# The published matrix: the most-downloaded native packages (their stressed 3.14t and 3.13t
# reports, their macOS and Windows wheels from the lock) and the standard build's column, compared
# with the previous publication. The demo and pinned-set reports above stay pages of their own:
# they hold other versions of the same packages, and one column must not mix two versions.
reports=(reports/top-*-stressed.json reports/top-*-lock.json)
if [ -f "reports/wheels-linux-$standard_tag-probed.json" ]; then
  reports+=("reports/wheels-linux-$standard_tag-probed.json")
fi
previous=()
if [ -f reports/matrix.json ]; then
  cp reports/matrix.json reports/state/previous-matrix.json
  previous=(--previous reports/state/previous-matrix.json)
fi
"$bin/ftaudit" merge "${reports[@]}" "${previous[@]}" --output reports/matrix.json
"$bin/ftaudit" merge "${reports[@]}" "${previous[@]}" --format html \
  --title "ftaudit: free-threading compatibility matrix" --output reports/matrix.html
# The summary a reader quotes, then the per-package roll-up, builds and platforms side by side.
"$bin/ftaudit" merge "${reports[@]}" "${previous[@]}" --format markdown \
  --title "ftaudit: packages by interpreter and platform" --output reports/packages.md
if [ "${#previous[@]}" -gt 0 ]; then
  "$bin/ftaudit" diff reports/state/previous-matrix.json reports/matrix.json >&2 || true
fi
say "reports/matrix.{json,html}, reports/packages.md; $((SECONDS - started)) s in all"
