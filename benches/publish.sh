#!/usr/bin/env bash
# Publishing speed: a warm re-run of scripts/publish-reports.sh with nothing changed (every report
# kept, re-rendered and merged again) against the full publication it stands in for, the merge of
# the published reports alone, and the page: how long headless Chromium takes to load
# reports/matrix.html and run its script (navigation start to the script's end, from the page's
# own performance clock), and with every package open. Wall time and peak RSS, median, min and
# max over BENCH_RUNS. A benchmark, not a test.
#
#   benches/publish.sh            # warm re-runs, merge, page load
#   benches/publish.sh --full     # also one full publication (FTAUDIT_PUBLISH_FULL=1): an hour here
#
# The full publication's figures are also in reports/state/publish-times.txt, written by the run.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${BENCH_RUNS:-5}"
say() { printf '[bench-publish] %s\n' "$*" >&2; }
[ -f reports/matrix.json ] || { say "no reports/matrix.json: run scripts/publish-reports.sh first"; exit 1; }
bin="$(scripts/build.sh --release 2>/dev/null | tail -n 1)"
scratch="$(mktemp -d)"
# Each re-run compares with the matrix before it: the published pages are put back afterwards,
# so the benchmark leaves "since the previous publication" as it found it.
mkdir -p "$scratch/kept"
cp reports/matrix.json reports/matrix.html reports/packages.md "$scratch/kept/"
trap 'cp "$scratch/kept"/* reports/; rm -rf "$scratch"' EXIT

# measure LABEL CMD...: wall seconds and peak RSS (MB) of one run, appended to $scratch/LABEL.
measure() {
  local label="$1"; shift
  /usr/bin/time -f '%e %M' -o "$scratch/time" "$@" >/dev/null 2>"$scratch/stderr" \
    || { cat "$scratch/stderr" >&2; return 1; }
  awk '{printf "%s %.0f\n", $1, $2 / 1024}' "$scratch/time" >>"$scratch/$label"
}

stats() { # stats LABEL -> "median (min-max) s, peak RSS median MB"
  python3 - "$scratch/$1" <<'EOF'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
t = [r[0] for r in rows]; m = [r[1] for r in rows]
print(f"{statistics.median(t):.2f} s (min {min(t):.2f}, max {max(t):.2f}, n={len(t)}), "
      f"peak RSS {statistics.median(m):.0f} MB")
EOF
}

if [ "${1:-}" = --full ]; then
  say "full publication (FTAUDIT_PUBLISH_FULL=1)"
  FTAUDIT_PUBLISH_FULL=1 measure full scripts/publish-reports.sh
fi
scripts/publish-reports.sh >/dev/null 2>&1  # settle: every state file written
for _ in $(seq "$runs"); do measure warm scripts/publish-reports.sh; done
mapfile -t reports < <(ls reports/*-probed.json reports/*-stressed.json reports/*-static.json reports/*-lock.json 2>/dev/null)
for _ in $(seq "$runs"); do measure merge "$bin/ftaudit" merge "${reports[@]}" --output "$scratch/m.json"; done
for _ in $(seq "$runs"); do
  measure merge-html "$bin/ftaudit" merge "${reports[@]}" --format html --output "$scratch/m.html"
done

# The page load, by the page's own clock: a tiny script appended after the page's writes the
# time from navigation start to the end of the page's script into the DOM.
page_ms() { # page_ms FRAGMENT -> milliseconds
  local copy="$scratch/page.html"
  sed 's|</body></html>|<script>document.body.dataset.loadMs = String(Math.round(performance.now()));</script></body></html>|' \
    reports/matrix.html >"$copy"
  local profile; profile="$(mktemp -d)"
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$profile" --dump-dom \
    "file://$copy$1" 2>/dev/null | grep -o 'data-load-ms="[0-9]*"' | grep -o '[0-9]*'
  rm -rf "$profile"
}
all_open="#open=$(python3 -c "import json; print(','.join(p['distribution'].lower() for p in json.load(open('reports/matrix.json'))['packages']))")"
load=() load_open=()
for _ in $(seq "$runs"); do load+=("$(page_ms '')"); load_open+=("$(page_ms "$all_open")"); done

packages="$(python3 -c "import json; m=json.load(open('reports/matrix.json')); print(len(m['packages']), 'packages,', len(m['rows']), 'modules,', len(m['columns']), 'columns')")"
size="$(du -h reports/matrix.html | cut -f1)"
echo "published matrix: $packages; matrix.html $size"
[ -f "$scratch/full" ] && echo "full publication:        $(stats full)"
echo "warm re-run, unchanged: $(stats warm)"
echo "merge (JSON):           $(stats merge)"
echo "merge (HTML):           $(stats merge-html)"
python3 - "${load[*]}" "${load_open[*]}" <<'EOF'
import statistics, sys
for label, text in (("page load (closed)", sys.argv[1]), ("page load (all open)", sys.argv[2])):
    ms = [int(x) for x in text.split()]
    print(f"{label + ':':24}{statistics.median(ms)} ms (min {min(ms)}, max {max(ms)}, n={len(ms)})")
EOF
