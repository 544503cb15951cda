#!/usr/bin/env bash
# What the sandbox costs the import probe: `ftaudit scan` of the real linux set (every module
# imported, then tried in both kinds of subinterpreter) with the box on and with `--sandbox off`,
# in alternating order, BENCH_RUNS times each (default 5). Prints each run's wall time, the
# medians with their spread, the on/off ratio, and whether every module got the same verdict
# both ways (the box must change nothing that is measured).
#
#   benches/sandbox.sh            # BENCH_RUNS, BENCH_JOBS and FTAUDIT_BIN_DIR as in benches/lib.sh
set -euo pipefail
# shellcheck source=benches/lib.sh
. "$(dirname "$0")/lib.sh"
bench_interpreter
bench_build
runs="${BENCH_RUNS:-5}"
[ "$runs" -ge 3 ] || bench_die "BENCH_RUNS must be at least 3"
venv="$(FTAUDIT_PYTHON="$py" "$bench_root/scripts/make-venv.sh" "linux-$py_tag" | tail -n 1)"
out="$bench_cache/sandbox"
mkdir -p "$out"
bench_log "venv $venv; $runs runs per mode, --jobs $bench_jobs; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
times_on=()
times_off=()
for i in $(seq 1 "$runs"); do
  # Alternate which mode goes first, so a drift in the machine's load hits both alike.
  if [ $((i % 2)) -eq 1 ]; then order=(on off); else order=(off on); fi
  for mode in "${order[@]}"; do
    start=$(date +%s.%N)
    set +e
    "$bin_dir/ftaudit" scan "$venv" --jobs "$bench_jobs" --sandbox "$mode" --format json --output "$out/$mode-$i.json"
    status=$?
    set -e
    end=$(date +%s.%N)
    [ "$status" -le 2 ] || bench_die "ftaudit exited $status"
    t=$(echo "$end - $start" | bc)
    bench_log "run $i, sandbox $mode: ${t}s (exit $status)"
    if [ "$mode" = on ]; then times_on+=("$t"); else times_off+=("$t"); fi
  done
done
"$py" - "$out" "$runs" "${times_on[*]}" "${times_off[*]}" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
on = [float(t) for t in sys.argv[3].split()]
off = [float(t) for t in sys.argv[4].split()]
def describe(ts):
    return f"median {statistics.median(ts):.2f} s [min {min(ts):.2f}, max {max(ts):.2f}]"
def verdicts(path):
    report = json.load(open(path))
    facts = {}
    for f in report["files"]:
        d = f.get("dynamic")
        if d:
            facts[d["module"]] = (d["import"]["status"], d["requires_gil"],
                                  (d.get("isolated_subinterpreter") or {}).get("status"),
                                  (d.get("legacy_subinterpreter") or {}).get("status"))
    return facts, report["stages"]["dynamic"]["sandbox"]
base, box = verdicts(f"{out}/on-1.json")
differ = set()
for i in range(1, runs + 1):
    for mode in ("on", "off"):
        facts, _ = verdicts(f"{out}/{mode}-{i}.json")
        differ |= {m for m in set(base) | set(facts) if base.get(m) != facts.get(m)}
print(f"modules probed: {len(base)}")
print(f"sandbox on : {describe(on)}")
print(f"sandbox off: {describe(off)}")
print(f"on/off: {statistics.median(on) / statistics.median(off):.3f} (median of on over median of off)")
paired = sorted(a / b for a, b in zip(on, off))
print(f"paired on/off ratios: {', '.join(f'{r:.3f}' for r in paired)}")
print(f"modules whose verdict differs between any two runs: {len(differ)} {sorted(differ)[:10]}")
print(f"sandbox: {box['status']}, Landlock ABI {box['landlock_abi']}, {box['children']} worker process(es)")
for layer in box["layers"]:
    print(f"  {layer['name']}: {'enforced' if layer['enforced'] else 'NOT enforced'}: {layer['detail']}")
PY
