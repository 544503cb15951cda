"""Compares what ftaudit's probe and the naive per-process loop said about each module.

Usage: python compare_probe.py FTAUDIT_JSON NAIVE_OUTPUT
NAIVE_OUTPUT has one line per module from the naive loop: "<module> True|False" or
"<module> error <Exception>". Prints the counts and every module the two disagree on.
"""

import collections
import json
import sys


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        report = json.load(f)
    probe = {}
    for file in report["files"]:
        facts = file.get("dynamic")
        if facts and facts["module"] not in probe:
            probe[facts["module"]] = facts
    naive = {}
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                naive[parts[0]] = parts[1] if parts[1] != "error" else "error " + " ".join(parts[2:])

    outcomes = collections.Counter(v["import"]["status"] for v in probe.values())
    print(f"  ftaudit probe: {len(probe)} modules, outcomes {dict(outcomes)}, "
          f"GIL required by {sum(1 for v in probe.values() if v.get('requires_gil'))}")
    kinds = collections.Counter(v.split()[0] for v in naive.values())
    print(f"  naive loop:    {len(naive)} modules answered, {dict(kinds)} (True = GIL enabled after the import)")

    disagreements, attributed, skipped = [], [], []
    for name in sorted(set(probe) | set(naive)):
        p, n = probe.get(name), naive.get(name)
        if p is None and n is not None and n.startswith("error"):
            # ftaudit's static pass found no module init function in the file (a ctypes
            # library named like a module): it does not import it, and the import fails anyway.
            skipped.append(name)
            continue
        if p is None or n is None:
            disagreements.append(f"{name}: only in {'naive loop' if p is None else 'ftaudit'} ({n or ''})")
            continue
        status = p["import"]["status"]
        if n.startswith("error"):
            if status == "ok":
                disagreements.append(f"{name}: naive import failed ({n}), ftaudit imported it")
        elif status != "ok":
            detail = p["import"].get("message") or p["import"].get("description") or ""
            disagreements.append(f"{name}: naive import worked (GIL {n}), ftaudit says {status} {detail[:100]}")
        elif n == "True" and not p.get("requires_gil") and p.get("gil_enabled_after"):
            # The GIL came on while importing this module, but through another one its package
            # pulled in: the naive loop cannot tell which; ftaudit can.
            attributed.append(name)
        elif (n == "True") != bool(p.get("requires_gil")):
            disagreements.append(f"{name}: naive GIL enabled={n}, ftaudit requires_gil={p.get('requires_gil')}")
    if attributed:
        print(f"  GIL enabled in the naive loop by a module that was pulled in, which ftaudit names: "
              f"{len(attributed)} modules, e.g. {', '.join(attributed[:3])}")
    if skipped:
        print(f"  not probed by ftaudit and failing in the naive loop too: {len(skipped)} files with a module "
              f"file name, e.g. {', '.join(skipped[:3])}")
    print(f"  disagreements: {len(disagreements)}")
    for line in disagreements[:40]:
        print(f"    {line}")


if __name__ == "__main__":
    main()
