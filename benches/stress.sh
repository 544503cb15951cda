#!/usr/bin/env bash
# Scaling tables of the shipped recipes: threads vs subinterpreters vs processes at 1, 2, 4 and
# the core count, on the demo venv of each provisioned interpreter (3.14t, then 3.13t), plus the
# stdlib recipes. Prints the text report's stress section (medians, quartiles, efficiency, the
# core count and load) and writes the JSON and SVG charts under $OUT (default target/bench-stress).
#
#   benches/stress.sh                 # every interpreter named by FTAUDIT_INTERPRETERS ("3.14 3.13")
#   STRESS_ARGS="--repeats 9" benches/stress.sh
#   SYNTH_SET=linux benches/stress.sh # then the synthesized tier alone over the linux-cp3XXt set:
#                                     # wall time, calls per second, budget used, coverage
#                                     # (benches/synth_summary.py); SYNTH_ARGS adds flags
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-target/bench-stress}"
mkdir -p "$OUT"
scripts/build.sh >/dev/null
read -r -a minors <<<"${FTAUDIT_INTERPRETERS:-3.14 3.13}"
for minor in "${minors[@]}"; do
  py="$(env -u FTAUDIT_PYTHON scripts/provision-python.sh "$minor" | tail -n 1)"
  venv="$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh demo | tail -n 1)"
  echo "=== $minor: $venv ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) ==="
  # shellcheck disable=SC2086
  target/debug/ftaudit stress "$venv" --stdlib --no-generic --format json -o "$OUT/stress-$minor.json" \
    --charts "$OUT/charts-$minor" ${STRESS_ARGS:-} || true
  target/debug/ftaudit report "$OUT/stress-$minor.json" | sed -n '/^stress:/,/^findings:/p' | sed '$d'
done
if [ -n "${SYNTH_SET:-}" ]; then
  for minor in "${minors[@]}"; do
    py="$(env -u FTAUDIT_PYTHON scripts/provision-python.sh "$minor" | tail -n 1)"
    tag="$(env -u PYTHON_GIL "$py" -I -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}{sys.abiflags}")')"
    venv="$(FTAUDIT_PYTHON="$py" scripts/make-venv.sh "$SYNTH_SET-$tag" | tail -n 1)"
    echo "=== synthesized tier, $minor: $venv ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) ==="
    start=$(date +%s)
    # shellcheck disable=SC2086
    target/debug/ftaudit stress "$venv" --stdlib --no-generic --no-shipped-recipes --executors threads \
      --format json -o "$OUT/synth-$minor.json" ${SYNTH_ARGS:-} || true
    echo "wall: $(( $(date +%s) - start )) s"
    "$py" benches/synth_summary.py "$OUT/synth-$minor.json"
  done
fi
