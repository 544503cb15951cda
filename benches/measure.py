"""Timing loop and figures table for the benchmark scripts (standard library only).

  measure.py run --out FILE --label L [--runs N] [--warmup K] [--ok 0,1] [--stdin FILE] -- CMD...
      Runs CMD K times untimed, then N times timed, stdout/stderr discarded; appends one JSON
      line {label, wall[], cpu[], status} to FILE. CPU is user+sys of the command and all its
      children, so CPU/wall shows how many cores a run kept busy. A run whose exit status is not
      in --ok stops the series and is recorded as failed, with the tail of its stderr.

  measure.py report FILE [--ratio NAME=SLOW/FAST[:GOAL]]... [--throughput LABEL=FACTS_LABEL]...
      Prints the table (median, min, max of wall seconds; median CPU seconds) and the ratios.
      Labels in --ratio / --throughput may be given by a unique prefix.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def children_cpu():
    usage = os.times()
    return usage.children_user + usage.children_system


def run(args):
    ok = {int(s) for s in args.ok.split(",")}
    record = {"label": args.label, "wall": [], "cpu": [], "status": "ok", "command": args.command}
    for i in range(args.warmup + args.runs):
        stdin = open(args.stdin, "rb") if args.stdin else subprocess.DEVNULL
        cpu_before = children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(args.command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        cpu = children_cpu() - cpu_before
        if stdin is not subprocess.DEVNULL:
            stdin.close()
        if proc.returncode not in ok:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            record["status"] = f"exit {proc.returncode}: " + " | ".join(tail)
            print(f"  {args.label}: FAILED ({record['status'][:300]})", file=sys.stderr)
            break
        if i >= args.warmup:
            record["wall"].append(wall)
            record["cpu"].append(cpu)
            print(f"  {args.label}: run {i - args.warmup + 1}/{args.runs} {wall:.3f} s wall, {cpu:.3f} s CPU",
                  file=sys.stderr)
    with open(args.out, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def load(path):
    records = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                # Interleaved series append one run per line under the same label.
                old = records.get(record["label"])
                if old is not None and old["status"] == "ok" and record["status"] == "ok":
                    old["wall"] += record["wall"]
                    old["cpu"] += record["cpu"]
                else:
                    records[record["label"]] = record
    return records


def find(records, name):
    if name in records:
        return records[name]
    hits = [r for label, r in records.items() if label.startswith(name)]
    if len(hits) != 1:
        raise SystemExit(f"measure.py: label {name!r} matches {len(hits)} records")
    return hits[0]


def median(record, key="wall"):
    values = record.get(key) or []
    return statistics.median(values) if values else None


def report(args):
    records = load(args.file)
    width = max(len(label) for label in records) + 2
    header = f"{'what':<{width}} {'median s':>9} {'min s':>8} {'max s':>8} {'CPU s':>8} {'runs':>4}"
    print(header)
    print("-" * len(header))
    for label, r in records.items():
        if r["wall"]:
            walls = r["wall"]
            print(f"{label:<{width}} {median(r):9.3f} {min(walls):8.3f} {max(walls):8.3f} "
                  f"{median(r, 'cpu'):8.3f} {len(walls):4d}"
                  + ("" if r["status"] == "ok" else "  (incomplete)"))
        if r["status"] != "ok":
            print(f"{label:<{width}} FAILED: {r['status'][:200]}")
        for key, value in (r.get("extra") or {}).items():
            shown = f"{value:.1f}" if isinstance(value, float) else str(value)
            print(f"{'':<{width}}   {key}: {shown}")

    if args.ratio:
        print()
        print("ratios (of medians)")
    for spec in args.ratio:
        name, _, rest = spec.partition("=")
        # Labels may hold colons; a goal is the last ":<=N" or ":>=N".
        pair, _, goal = rest.rpartition(":")
        if not goal.startswith(("<=", ">=")):
            pair, goal = rest, ""
        slow_name, _, fast_name = pair.partition("/")
        try:
            slow, fast = median(find(records, slow_name)), median(find(records, fast_name))
        except SystemExit as error:
            print(f"  {name}: n/a ({error})")
            continue
        if slow is None or fast is None or fast == 0:
            print(f"  {name}: n/a (a side did not run)")
            continue
        verdict = ""
        if goal:
            op, target = goal[:2], float(goal[2:])
            met = slow / fast <= target if op == "<=" else slow / fast >= target
            verdict = f"   goal {op} {target:g}: {'met' if met else 'NOT met'}"
        print(f"  {name}: {slow / fast:.2f}x{verdict}")

    for spec in args.throughput:
        label, _, facts_label = spec.partition("=")
        try:
            r, facts = find(records, label), find(records, facts_label).get("extra") or {}
        except SystemExit as error:
            print(f"  throughput of {label}: n/a ({error})")
            continue
        seconds = median(r)
        if not seconds:
            continue
        print(f"  throughput of {r['label']}: {facts.get('files', 0) / seconds:.0f} native files/s, "
              f"{facts.get('uncompressed_mb', 0) / seconds:.0f} MB/s uncompressed, "
              f"{facts.get('compressed_mb', 0) / seconds:.0f} MB/s compressed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--out", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--ok", default="0")
    p.add_argument("--stdin")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("file")
    p.add_argument("--ratio", action="append", default=[])
    p.add_argument("--throughput", action="append", default=[])
    args = parser.parse_args()
    if args.cmd == "run":
        if args.command and args.command[0] == "--":
            args.command = args.command[1:]
        if not args.command:
            parser.error("run needs a command after --")
        run(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
