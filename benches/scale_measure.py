"""Wall time and memory of one command, and the scale table of benches/scale.sh (standard library only).

  scale_measure.py run --out FILE --label L --facts FACTS.json [--runs N] [--warmup K] [--ok 0,1]
                       [--interval-ms MS] [--report-out PATH] -- CMD...
      First, when --report-out is given, one untimed run with stdout to PATH, whose report is
      counted (native files, modules, attributed to a distribution, analysed, problems). Then K
      untimed and N timed runs, stdout and stderr discarded. Every run goes through GNU time
      (`/usr/bin/time -f '%e %M'`), whose %M is the command's own peak RSS (ru_maxrss). Each timed
      run records wall seconds, CPU seconds (user + sys), that peak RSS, and the peaks of VmRSS,
      RssAnon, RssFile and RssShmem sampled from /proc/PID/status every MS milliseconds
      (default 1). Appends one JSON line to FILE, with the tree's facts (make_synthetic.py's
      facts.json).

  scale_measure.py report FILE
      The figures table (medians of the timed runs; wall and peak RSS min and max), then per-file
      bookkeeping (against the tree with the largest native file alone, and between trees), and
      the growth of memory and time against the growth of the tree and of the native bytes.

Why GNU time, not this process's own wait4: Python starts children with vfork, and the kernel
carries the peak RSS of the memory image an exec replaces into the new program's ru_maxrss, so
a command started from here would report at least this Python process's own peak (tens of MB
after it has read a large report). GNU time forks the command from its own small image.

Peak RSS counts the touched pages of every file mapping that is live at that moment (installed
files are read through read-only mmap) as well as anonymous memory (heap, stacks); the sampled
RssAnon peak is the part that is memory the process allocated. A sampled peak can miss a spike
shorter than the interval, so it is a lower bound, and runs that last a few milliseconds get too
few samples to say anything (shown as -); the sampled VmRSS peak, against %M, shows how close
sampling came.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem")
GNU_TIME = "/usr/bin/time"
MIN_SAMPLES = 10


def child_of(pid, stop):
    """The pid GNU time started (its only child), once it exists."""
    path = f"/proc/{pid}/task/{pid}/children"
    while not stop.is_set():
        try:
            with open(path) as f:
                children = f.read().split()
        except OSError:
            return None
        if children:
            return int(children[0])
        time.sleep(0.0001)
    return None


def sample(parent, stop, peaks, interval):
    pid = child_of(parent, stop)
    if pid is None:
        return
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
    except OSError:
        return
    try:
        while not stop.is_set():
            try:
                data = os.pread(fd, 8192, 0)
            except OSError:
                break
            seen = False
            for line in data.split(b"\n"):
                key, _, value = line.partition(b":")
                key = key.decode()
                if key in peaks:
                    seen = True
                    kib = int(value.split()[0])
                    if kib > peaks[key]:
                        peaks[key] = kib
            if not seen:  # a zombie: no memory left to look at
                break
            peaks["samples"] += 1
            time.sleep(interval)
    finally:
        os.close(fd)


def timed_run(command, interval, stdout=subprocess.DEVNULL):
    """One run under GNU time: (exit status, wall s, cpu s, peak RSS KiB, sampled peaks, stderr tail)."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as timing:
        peaks = {key: 0 for key in FIELDS}
        peaks["samples"] = 0
        stop = threading.Event()
        start = time.perf_counter()
        proc = subprocess.Popen([GNU_TIME, "-f", "%e %M", "-o", timing.name, *command],
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        sampler = threading.Thread(target=sample, args=(proc.pid, stop, peaks, interval), daemon=True)
        sampler.start()
        # The rusage of GNU time includes the command it waited for: CPU to the microsecond.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        # "Command exited with non-zero status N" comes first when the status is not 0.
        last = (timing.read().strip().splitlines() or ["0 0"])[-1].split()
        maxrss = int(last[-1])
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, maxrss, peaks, tail


def coverage(path):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    files = report.get("files", [])
    problems = {}
    for f in files:
        if f.get("problem"):
            kind = f["problem"].get("kind", "?") if isinstance(f["problem"], dict) else "?"
            problems[kind] = problems.get(kind, 0) + 1
    return {
        "files": len(files),
        "modules": sum(1 for f in files if f.get("module_name")),
        "distinct_modules": len({f["module_name"] for f in files if f.get("module_name")}),
        "attributed": sum(1 for f in files if f.get("distribution")),
        "analysed": sum(1 for f in files if f.get("static_facts")),
        "problems": problems,
        "distributions": len(report.get("distributions", [])),
    }


def run(args):
    if not os.access(GNU_TIME, os.X_OK):
        sys.exit(f"scale_measure.py: no {GNU_TIME} (GNU time; on Debian: apt-get install -y time)")
    ok = {int(s) for s in args.ok.split(",")}
    with open(args.facts, encoding="utf-8") as f:
        facts = json.load(f)
    record = {"label": args.label, "facts": facts, "command": args.command, "status": "ok",
              "wall": [], "cpu": [], "maxrss_kib": [], "samples": [],
              **{f"peak_{key}_kib": [] for key in FIELDS}}
    interval = args.interval_ms / 1000

    if args.report_out:
        with open(args.report_out, "wb") as out:
            status, _, _, _, _, tail = timed_run(args.command, interval, stdout=out)
        if status not in ok:
            record["status"] = f"exit {status}: " + " | ".join(tail)
        else:
            record["report_bytes"] = os.path.getsize(args.report_out)
            record["coverage"] = coverage(args.report_out)
            c = record["coverage"]
            if c["files"] != facts["native"] or c["attributed"] != facts["native"]:
                print(f"  {args.label}: WARNING: the report lists {c['files']} native files "
                      f"({c['attributed']} attributed) for {facts['native']} in the tree", file=sys.stderr)

    for i in range(args.warmup + args.runs):
        if record["status"] != "ok":
            break
        status, wall, cpu, maxrss, peaks, tail = timed_run(args.command, interval)
        if status not in ok:
            record["status"] = f"exit {status}: " + " | ".join(tail)
            print(f"  {args.label}: FAILED ({record['status'][:300]})", file=sys.stderr)
            break
        if i < args.warmup:
            continue
        record["wall"].append(wall)
        record["cpu"].append(cpu)
        record["maxrss_kib"].append(maxrss)
        record["samples"].append(peaks["samples"])
        for key in FIELDS:
            record[f"peak_{key}_kib"].append(peaks[key])
        print(f"  {args.label}: run {i - args.warmup + 1}/{args.runs} {wall:.3f} s wall, {cpu:.3f} s CPU, "
              f"peak RSS {maxrss / 1024:.1f} MiB (sampled: anon {peaks['RssAnon'] / 1024:.1f}, "
              f"file {peaks['RssFile'] / 1024:.1f}, {peaks['samples']} samples)", file=sys.stderr)
    with open(args.out, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


# ---- report

def mb(kib):
    return kib * 1024 / 1e6


def med(record, key):
    values = record.get(key) or []
    return statistics.median(values) if values else None


def sampled(record, key):
    """The median sampled peak in KiB, or None when the runs were too short to sample."""
    if (med(record, "samples") or 0) < MIN_SAMPLES:
        return None
    return med(record, f"peak_{key}_kib")


def show(kib, width=6):
    return f"{'-':>{width}}" if kib is None else f"{mb(kib):>{width}.1f}"


def report(args):
    with open(args.file, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    print("sizes in MB (10^6 bytes); medians of the timed runs; peak RSS = GNU time's %M (ru_maxrss);")
    print(f"anon / file = peaks of RssAnon / RssFile sampled from /proc/PID/status (- : under {MIN_SAMPLES} samples a run)")
    header = (f"{'tree':<28} {'files':>7} {'native':>6} {'native MB':>9} {'largest':>7} "
              f"{'median s':>8} {'min s':>6} {'max s':>6} {'CPU s':>6} {'cores':>5} "
              f"{'peak RSS':>8} {'(min-max)':>13} {'anon':>6} {'file':>6} {'report':>6}")
    print(header)
    print("-" * len(header))
    done = []
    for r in records:
        facts = r["facts"]
        if not r["wall"]:
            print(f"{r['label']:<28} FAILED: {r['status'][:200]}")
            continue
        done.append(r)
        rss = r["maxrss_kib"]
        print(f"{r['label']:<28} {facts['files']:>7,} {facts['native']:>6,} {facts['native_bytes'] / 1e6:>9,.0f} "
              f"{facts['largest_bytes'] / 1e6:>7.1f} {med(r, 'wall'):>8.3f} {min(r['wall']):>6.3f} "
              f"{max(r['wall']):>6.3f} {med(r, 'cpu'):>6.2f} {med(r, 'cpu') / med(r, 'wall'):>5.2f} "
              f"{mb(med(r, 'maxrss_kib')):>8.1f} {f'({mb(min(rss)):.1f}-{mb(max(rss)):.1f})':>13} "
              f"{show(sampled(r, 'RssAnon'))} {show(sampled(r, 'RssFile'))} {r.get('report_bytes', 0) / 1e6:>6.1f}")
    print()
    for r in done:
        facts, c = r["facts"], r.get("coverage") or {}
        line = (f"  {r['label']}: {facts['distributions']} distributions, {facts['package_folders']} package "
                f"folders, {facts['extension_modules']} extension modules + {facts['bundled_libraries']} bundled "
                f"libraries by name ({facts['distinct_sources']} distinct sources, "
                f"{facts['native_bytes_distinct'] / 1e6:.0f} MB distinct, {facts['link']} links)")
        if c:
            problems = ", ".join(f"{n} {k}" for k, n in sorted(c["problems"].items())) or "none"
            line += (f"; report: {c['files']} native files, {c['analysed']} analysed, {c['attributed']} attributed "
                     f"to a distribution, {c['distinct_modules']} distinct module names, problems: {problems}")
        line += f"; {int(med(r, 'samples'))} samples a run"
        if sampled(r, "VmRSS") is not None:
            line += f", sampled VmRSS peak {mb(sampled(r, 'VmRSS')):.1f} MB of {mb(med(r, 'maxrss_kib')):.1f}"
        print(line)

    trees = [r for r in done if r["facts"]["native"] > 1]
    alone = next((r for r in done if r["facts"]["native"] == 1), None)
    baseline = next((r for r in done if r["facts"]["native"] == 0), None)
    if not trees:
        return
    print()
    biggest = max(trees, key=lambda r: (r["facts"]["native"], r["facts"]["files"]))["facts"]
    top2 = sum(biggest["largest_4_bytes"][:2])
    print(f"largest native file: {biggest['largest_bytes'] / 1e6:.1f} MB ({biggest['largest_source']}); "
          f"the two largest of the biggest tree (ftaudit starts the largest files first, one per thread): "
          f"{top2 / 1e6:.1f} MB")
    if baseline:
        print(f"process baseline (no native file): peak RSS {mb(med(baseline, 'maxrss_kib')):.1f} MB")
    if alone:
        print(f"largest native file alone: peak RSS {mb(med(alone, 'maxrss_kib')):.1f} MB")
    ref = alone or baseline
    if ref:
        print()
        print(f"per native file (bookkeeping): (peak RSS of the tree - of the {ref['label']}) / native files")
        for r in trees:
            n, nb = r["facts"]["native"], r["facts"]["native_bytes"]
            d_rss = med(r, "maxrss_kib") - med(ref, "maxrss_kib")
            print(f"  {r['label']}: +{mb(d_rss):.1f} MB = {d_rss / n:.1f} KiB/native file; peak RSS is "
                  f"{100 * med(r, 'maxrss_kib') * 1024 / nb:.2f}% of the {nb / 1e6:,.0f} MB of native files")
    pairs = []
    for i, a in enumerate(trees):
        for b in trees[i + 1:]:
            fa, fb = a["facts"], b["facts"]
            if fa["native"] == fb["native"] and fa["files"] != fb["files"]:
                pairs.append((a, b, "files"))
            elif fa["native"] != fb["native"] and fa["files"] * fb["native"] == fb["files"] * fa["native"]:
                pairs.append((a, b, "native"))
    if pairs:
        print("between trees (marginal cost; anon is the sampled RssAnon peak)")
    for a, b, kind in pairs:
        fa, fb = a["facts"], b["facts"]
        if fb[kind] < fa[kind]:
            a, b, fa, fb = b, a, fb, fa
        d_rss = med(b, "maxrss_kib") - med(a, "maxrss_kib")
        anon_a, anon_b = sampled(a, "RssAnon"), sampled(b, "RssAnon")
        d_anon = None if anon_a is None or anon_b is None else anon_b - anon_a
        n = fb[kind] - fa[kind]
        if kind == "native":
            what = (f"+{n:,} native files (+{fb['files'] - fa['files']:,} files in all, "
                    f"+{(fb['native_bytes'] - fa['native_bytes']) / 1e6:,.0f} MB of native files)")
            per = f"{d_rss / n:.1f} KiB peak RSS" + ("" if d_anon is None else f", {d_anon / n:.1f} KiB anon") + \
                " per native file"
        else:
            what = f"+{n:,} files, no more native ones"
            per = f"{d_rss * 1024 / n:.1f} bytes peak RSS" + \
                ("" if d_anon is None else f", {d_anon * 1024 / n:.1f} bytes anon") + " per file"
        anon = "" if d_anon is None else f", anon {mb(d_anon):+.1f} MB"
        print(f"  {a['label']} -> {b['label']}: {what}: peak RSS {mb(d_rss):+.1f} MB{anon}, "
              f"wall {med(b, 'wall') - med(a, 'wall'):+.3f} s, CPU {med(b, 'cpu') - med(a, 'cpu'):+.3f} s; {per}")
    small = min(trees, key=lambda r: (r["facts"]["native"], r["facts"]["files"]))
    big = max(trees, key=lambda r: (r["facts"]["native"], r["facts"]["files"]))
    fs, fb = small["facts"], big["facts"]

    def ratio(key):
        x, y = (med(big, key), med(small, key)) if key in ("wall", "cpu", "maxrss_kib") else \
            (sampled(big, key), sampled(small, key))
        return "n/a" if not x or not y else f"x{x / y:.2f}"

    print(f"growth, {small['label']} -> {big['label']}: files x{fb['files'] / fs['files']:.1f}, "
          f"native files x{fb['native'] / fs['native']:.1f}, native bytes x{fb['native_bytes'] / fs['native_bytes']:.1f}; "
          f"peak RSS {ratio('maxrss_kib')}, anon {ratio('RssAnon')}, file-backed {ratio('RssFile')}, "
          f"wall {ratio('wall')}, CPU {ratio('cpu')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run")
    p.add_argument("--out", required=True)
    p.add_argument("--label", required=True)
    p.add_argument("--facts", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--ok", default="0")
    p.add_argument("--interval-ms", type=float, default=1.0)
    p.add_argument("--report-out")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("file")
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
