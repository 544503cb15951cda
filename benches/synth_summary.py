"""Prints the synthesized tier's figures from an ftaudit stress JSON report: per distribution the
time used against the budget, calls per second, API coverage, each pattern's outcome and every
finding with its reproducer's standalone failure rate; then the totals.

    python benches/synth_summary.py REPORT.json [--markdown]
"""
import json
import sys


def rows(report):
    stress = report["stages"].get("stress") or {}
    facts = [f["stress"] for f in report["files"] if f.get("stress")] + list(stress.get("stdlib", []))
    for s in facts:
        y = s.get("synthesized")
        if y:
            yield s, y


def coverage(c):
    part = lambda k: f"{c[k]['exercised']}/{c[k]['found']}"
    return f"fn {part('functions')}, cls {part('classes')}, meth {part('methods')}"


def main():
    report = json.load(open(sys.argv[1]))
    markdown = "--markdown" in sys.argv
    stress = report["stages"]["stress"]
    total_calls = total_time = 0.0
    findings = []
    if markdown:
        print("| distribution | verdict | s used / budget | calls | calls/s | coverage (exercised/found) | programs (doctest) | patterns | findings |")
        print("|---|---|---|---|---|---|---|---|---|")
    for s, y in sorted(rows(report), key=lambda r: r[1]["distribution"].lower()):
        c = y["coverage"]
        seconds = y["elapsed_seconds"]
        # Calls made under threads: each pattern's calls, per thread and round, are not
        # counted here; this is the number of distinct calls exercised.
        calls = c["calls"]
        total_calls += calls
        total_time += seconds
        patterns = ", ".join(f"{p['pattern']} {p['outcome']}" for p in y["patterns"]) or "-"
        found = "; ".join(
            f"{f['kind']} in {f['pattern']} ({f['reproduced']['failures']}/{f['reproduced']['runs']}{' flaky' if f['flaky'] else ''})"
            for f in y["findings"]) or "none"
        for f in y["findings"]:
            findings.append((y["distribution"], f))
        note = y.get("not_run") or ""
        if markdown:
            print(f"| {y['distribution']} | {s['verdict']['verdict']} | {seconds:.1f} / {y['budget_seconds']:.0f} | {calls} | "
                  f"{calls / seconds if seconds else 0:.1f} | {coverage(c)} | {c['programs']} ({c['doctest_programs']}) | "
                  f"{patterns}{' — ' + note if note else ''} | {found} |")
        else:
            print(f"{y['distribution']:<28} {s['verdict']['verdict']:<15} {seconds:5.1f}/{y['budget_seconds']:.0f}s "
                  f"{calls:5d} calls {coverage(c)}; {c['programs']} programs ({c['doctest_programs']} doctest); "
                  f"{patterns}; findings: {found} {note}")
    print()
    print(f"stress stage wall time {stress['elapsed_seconds']:.1f} s on {stress['cores']['usable']} usable cores "
          f"(load {stress['cores']['loadavg_start'][0]:.2f} -> {stress['cores']['loadavg_end'][0]:.2f}); "
          f"synthesized tier {total_time:.1f} s for {int(total_calls)} distinct calls "
          f"({total_calls / max(total_time, 1e-9):.1f} distinct calls discovered and exercised per second)")
    for dist, f in findings:
        print(f"\n--- {dist}: {f['kind']} in {f['pattern']} on {f.get('program')}: {f.get('call')} "
              f"expected {f.get('expected')!r} got {f.get('got')!r} {f.get('exception') or ''} "
              f"(reproduced {f['reproduced']['failures']}/{f['reproduced']['runs']}{', flaky' if f['flaky'] else ''})")


if __name__ == "__main__":
    main()
