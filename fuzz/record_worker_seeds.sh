#!/usr/bin/env bash
# Records worker_protocol seeds from a real ftaudit-worker run over the fixture modules: what it
# writes to its result pipe (fd 3, one WorkerEvent JSON a line) and its raw stdout / stderr
# with the stage markers of token 5eed (the token fuzz_targets/worker_protocol.rs uses).
#
#   fuzz/record_worker_seeds.sh OUT_DIR
#
# Needs scripts/build.sh's ftaudit-embed and 3.14t worker library (target/release/, or
# FTAUDIT_BUILD_DIR), the provisioned 3.14t (its shared libpython, FTAUDIT_PYTHON) and
# scripts/build-fixtures.sh's fixture venv (or FTAUDIT_FIXTURES_SITE).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: $0 OUT_DIR}"
mkdir -p "$out"
build="${FTAUDIT_BUILD_DIR:-$root/target/release}"
python="${FTAUDIT_PYTHON:-$(head -n 1 "${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}/interpreters/3.14t")}"
home="$(env -u PYTHON_GIL "$python" -I -S -c 'import sys; print(sys.base_prefix)')"
libpython="$(env -u PYTHON_GIL "$python" -I -S -c 'import os, sysconfig; print(os.path.join(sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")))')"
# The embedded worker, started as ftaudit starts it.
worker=("$build/ftaudit-embed" --libpython "$libpython" --worker "$build/ftaudit-worker-3.14t.so" -- --home "$home")
site="${FTAUDIT_FIXTURES_SITE:-$(ls -d "${FTAUDIT_CACHE:-$HOME/.cache/ftaudit}"/fixtures/cpython-314t/venv/lib/python*/site-packages | head -n 1)}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# record NAME SUBINTERPRETERS MODULE...
record() {
  local name="$1" sub="$2"
  shift 2
  local modules=""
  for m in "$@"; do modules+="${modules:+,}\"$m\""; done
  printf '{"site_dirs":["%s"],"modules":[%s],"subinterpreters":%s}' "$site" "$modules" "$sub" \
    >"$scratch/request.json"
  # A module that crashes the worker is part of what is recorded: its stream ends mid-batch.
  (cd "$scratch" && env -i HOME="$scratch" PATH=/usr/bin:/bin timeout 60 "${worker[@]}" \
    --request "$scratch/request.json" --result-fd 3 --markers 5eed \
    3>"$out/$name-events" >"$out/$name-stdout" 2>"$out/$name-stderr" </dev/null) || true
  for f in "$out/$name"-*; do [[ -s "$f" ]] || rm -f "$f"; done
}

record empty false
record noisy-subinterpreters true ftfix_noisy ftfix_interp_per_gil
record outcomes true ftfix_mp_gil_not_used ftfix_mp_gil_used ftfix_mp_no_gil_slot \
  ftfix_exec_raises ftfix_init_raises ftfix_interp_not_supported ftfix_interp_supported \
  ftfix_sp_plain ftfix_sp_setgil ftfix_two_entries ftfix_pkg._needs_gil ftfix_pkg._gil_free \
  ftfix_claims_stable._core ftfix_café ftfix_gil_build_renamed ftfix_mp_gil_odd_value \
  ftfix_corrupt ftfix_textfile ftfix_does_not_exist
record segfault false ftfix_mp_gil_used ftfix_init_segfault ftfix_sp_plain
record abort true ftfix_noisy ftfix_init_abort
# Hand-written: outcomes only the parent or a dying worker produces, escapes, a stream mixing
# markers (a broken one, a foreign token, the largest seq, a marker cut at the end) with events.
cat >"$out/synthetic-outcomes-events" <<'JSON'
{"event":"subinterpreter","module":"m","stage":"isolated_subinterpreter","outcome":{"status":"crashed","signal":11,"description":"SIGSEGV"}}
{"event":"subinterpreter","module":"m","stage":"legacy_subinterpreter","outcome":{"status":"timed_out","seconds":30.5}}
{"event":"subinterpreter","module":"m","stage":"isolated_subinterpreter","outcome":{"status":"memory_limit","limit_mb":2048}}
{"event":"subinterpreter","module":"m","stage":"legacy_subinterpreter","outcome":{"status":"not_attempted","reason":"the main import failed"}}
{"event":"subinterpreter","module":"m","stage":"isolated_subinterpreter","outcome":{"status":"crashed","signal":null,"description":"exit 3"}}
{"event":"imported","module":"p.q","outcome":{"status":"error","exception":"ImportError","message":"caf\u00e9 \"quoted\"\n\ttab \ud83d\ude00"},"gil_enabled_after":false,"gil_warning":null,"import_seconds":1e-7,"pulled_in":["a.b","c"],"gil_required_by":[],"already_loaded":true,"python_output":"line\r\n\u0000nul"}
{"event":"begin","module":"","stage":"import"}
{"event":"done"}
JSON
printf 'startup\n\0ftaudit:5eed:1\0{"event":"begin","module":"m","stage":"import"}\n\0ftaudit:5eed:2\0\0ftaudit:5eed:x\0\0ftaudit:other:3\0tail \0ftaudit:5eed:18446744073709551615\0last\0ftaudit:5eed:12' \
  >"$out/synthetic-mixed"
ls -l "$out"
