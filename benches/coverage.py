"""What each tool actually covered in one untimed run, so the timings compare like with like.

Usage: python coverage.py KIND=FILE...   with KIND one of
  ftaudit          an `ftaudit scan --format json` report
  abi3t-wheel      `abi3t-doctor wheel --format json` output
  abi3t-env        `abi3t-doctor env --format json` output
  abi3audit        `abi3audit --report` output
Prints one line per file. A file that is missing or not JSON is reported and skipped.
"""

import collections
import json
import sys


def ftaudit(report):
    s = report["summary"]
    files = report["files"]
    modules = sum(len((f.get("static_facts") or {}).get("modules") or []) for f in files)
    line = (f"{s['native_files']} native files ({s['extension_modules']} extension modules, "
            f"{s['bundled_libraries']} bundled libraries, {s['unchecked_files']} unchecked); "
            f"{modules} module definitions read; GIL declared not used {s['static_gil_not_used']}, "
            f"used {s['static_gil_used']}, undeterminable {s['static_gil_undeterminable']}; "
            f"{s['errors']} errors, {s['warnings']} warnings")
    dynamic = report["stages"].get("dynamic")
    if dynamic:
        outcomes = collections.Counter(f["dynamic"]["import"]["status"] for f in files if f.get("dynamic"))
        line += (f"; probe: {sum(outcomes.values())} modules {dict(outcomes)}, "
                 f"GIL required by {s['dynamic_gil_required']}, {dynamic['worker_processes']} worker processes, "
                 f"{dynamic['elapsed_seconds']:.1f} s in the probe")
    elif report["stages"].get("dynamic_skipped"):
        line += f"; probe skipped: {report['stages']['dynamic_skipped']}"
    return line


def abi3t_wheel(wheels):
    extensions = sum(len(w.get("extensions") or []) for w in wheels)
    errors = [w["filename"] for w in wheels if w.get("error")]
    findings = sum(len(w.get("findings") or []) for w in wheels)
    return (f"{len(wheels)} wheels, {extensions} extension modules inspected, {findings} findings, "
            f"{len(errors)} wheels with errors {errors[:3]}")


def abi3t_env(env):
    dists = env.get("distributions") or []
    inspected = sum(len(d.get("inspected") or []) for d in dists)
    verdicts = {k: v for k, v in (env.get("summary", {}).get("verdicts") or {}).items() if v}
    return f"{len(dists)} distributions, {inspected} extension modules inspected, verdicts {verdicts}"


def abi3audit(report):
    specs = report.get("specs") or {}
    audited = {spec: len(v.get("wheel") or []) for spec, v in specs.items()}
    with_any = sum(1 for n in audited.values() if n)
    return (f"{len(specs)} wheels given, {sum(audited.values())} objects audited in {with_any} of them "
            f"(it audits abi3 objects only; the rest are skipped as 'not abi3 tagged')")


KINDS = {"ftaudit": ftaudit, "abi3t-wheel": abi3t_wheel, "abi3t-env": abi3t_env, "abi3audit": abi3audit}


def main():
    for arg in sys.argv[1:]:
        kind, _, path = arg.partition("=")
        label = f"  {kind} ({path.rsplit('/', 1)[-1]})"
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            print(f"{label}: {KINDS[kind](data)}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            print(f"{label}: could not summarise: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
