"""Synthesized workloads, part two: concurrency patterns over discovered programs, each written
as a standalone script that is also what the driver runs (``exec`` of the same source), so the
reproducer a user gets is exactly the code that failed.

Patterns and their oracles (a failure counts only where the same calls passed on one thread):
- independent: every thread runs every program from its own fresh state: each result must
  equal the single-thread one (process-global state, static buffers, lazy tables). A call of a
  module-level function with no arguments only observes process state (a counter, the current
  settings): its result is never compared under threads, only its exceptions count;
- shared_input: one setup (arrays, buffers, compiled objects) shared by all threads, whose
  calls do not change it: results must equal;
- shared_object: one object, its methods called concurrently in random orders, readers and
  writers mixed: no crash, hang or internal error (SystemError, MemoryError, AssertionError, a
  Rust panic); a clean "already borrowed" is "not shareable"; an exception a plain Python
  object would raise under the same race ("changed size during iteration") is a note;
- accumulator: one object fed the same block by every thread: its final state must equal the
  state after the same number of feeds in a row (identical blocks: any interleaving is right);
- first_use: a fresh interpreter where every thread makes its first calls at once behind a
  barrier (run by the parent as a new process): results must equal.

A script prints ``FTAUDIT-RESULT {json}`` and exits 1 when it reproduced a failure (a crash ends
it with the signal), 0 when it did not.
"""

import json

UPDATE_WORDS = ("update", "feed", "add", "append", "extend", "push", "put", "write", "insert", "accumulate", "digest_update")
READER_WORDS = ("digest", "hexdigest", "value", "result", "getvalue", "total", "size", "count",
                "items", "finish", "finalize", "sum", "state", "tolist", "copy")

RUNTIME = r'''
import importlib
import json
import random
import re
import sys
import threading
import time
import types

ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
INTERNAL = ("SystemError", "MemoryError", "AssertionError", "PanicException")
NOT_SHAREABLE = re.compile(r"already (mutably )?borrowed|borrowed mutably|not thread.?safe|"
                           r"concurrent (use|access|call)|in use by another thread", re.I)
NULLARY = re.compile(r"^([A-Za-z_][\w.]*)\(\)$")
PLAIN_RACE = re.compile(r"changed size during iteration|mutated during iteration|"
                        r"modified during iteration|generator already executing", re.I)


SCRATCH = __import__("os").getcwd()
PID = __import__("os").getpid()


def masked(value):
    """A result's repr with what differs from process to process masked: memory addresses, this
    process's scratch folder (its working folder, HOME and TMPDIR live there) and its pid; cut
    to a sane length."""
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr raised {type(exc).__name__}>"
    text = text.replace(SCRATCH, "<scratch>") if SCRATCH != "/" else text
    return re.sub(rf"\b{PID}\b", "<pid>", ADDRESS.sub("0x?", text))[:400]


def fresh(program):
    ns = {"__name__": "ftaudit_program"}
    for name in program["imports"]:
        ns[name.split(".")[0]] = importlib.import_module(name.split(".")[0])
        importlib.import_module(name)
    for line in program["setup"]:
        exec(line, ns)
    return ns


def evaluate(call, ns):
    """(masked result, None) or ('!Type', (type, message))."""
    try:
        return masked(eval(call, ns)), None
    except Exception as exc:
        return "!" + type(exc).__name__, (type(exc).__name__, str(exc)[:500])


def kind_of(error, shared):
    """An exception seen only under threads. On one shared object, a clean exception is what a
    plain Python object may raise under the same race (a note); only internal errors and
    "already borrowed" count. Without sharing, any exception is a wrong result."""
    name, message = error
    if name in INTERNAL:
        return "internal_error"
    if NOT_SHAREABLE.search(message):
        return "not_shareable" if shared else "internal_error"
    if shared or PLAIN_RACE.search(message):
        return "note"
    return "wrong_result"


def observer(call, ns):
    """A module-level function called without arguments: it reads process state."""
    match = NULLARY.match(call)
    if not match:
        return False
    try:
        target = eval(match.group(1), ns)
    except Exception:
        return False
    if isinstance(target, type):
        return False
    head = match.group(1).split(".")[0]
    return "." not in match.group(1) or isinstance(ns.get(head), types.ModuleType)


RANK = {"internal_error": 4, "wrong_result": 3, "not_shareable": 2, "note": 1}
failures = []
serious = []  # failures other than notes: 20 of them end the run early, notes never do
lock = threading.Lock()


def fail(kind, program, call, expected=None, got=None, error=None):
    with lock:
        if kind == "note" and len(failures) - len(serious) >= 5:
            return
        if kind != "note":
            serious.append(kind)
        failures.append({"kind": kind, "program": program["label"], "call": call,
                         "expected": expected, "got": got,
                         "exception": error[0] if error else None,
                         "message": error[1] if error else None})


def threads_run(body):
    barrier = threading.Barrier(THREADS)
    deadline = []

    def go(k):
        barrier.wait()
        if not deadline:
            deadline.append(time.monotonic() + DURATION)
        rng = random.Random(SEED * 1000 + k)
        rounds = 0
        while rounds == 0 or (time.monotonic() < deadline[0] and len(serious) < 20):
            body(k, rng)
            rounds += 1

    workers = [threading.Thread(target=go, args=(k,)) for k in range(THREADS)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def check(program, ns, results, errors):
    for call, want, got, error in zip(program["calls"], program["expected"], results, errors):
        if got != want and error is None and (not program.get("compare", True) or observer(call, ns)):
            continue
        if got != want:
            if error is not None:
                # A program whose results are not compared (random draws, objects bound to one
                # data file) shares state by design: a clean exception there is a note.
                fail(kind_of(error, not program.get("compare", True)), program, call, want, got, error)
            else:
                fail("wrong_result", program, call, want, got)
            return


def summary():
    if not failures:
        return {"failed": False, "kind": None, "pattern": PATTERN, "failures": 0}
    worst = max(failures, key=lambda f: RANK[f["kind"]])
    return dict(worst, failed=True, pattern=PATTERN, failures=len(failures))
'''

BODIES = {
    "independent": r'''
def run():
    def body(k, rng):
        for program in PROGRAMS:
            ns = fresh(program)
            out = [evaluate(c, ns) for c in program["calls"]]
            check(program, ns, [o[0] for o in out], [o[1] for o in out])
    threads_run(body)
    return summary()
''',
    "first_use": r'''
def run():
    def body(k, rng):
        for program in PROGRAMS:
            ns = fresh(program)
            out = [evaluate(c, ns) for c in program["calls"]]
            check(program, ns, [o[0] for o in out], [o[1] for o in out])
    # Once only: the point is that these are the first calls in this interpreter.
    global DURATION
    DURATION = 0.0
    threads_run(body)
    gil = getattr(sys, "_is_gil_enabled", lambda: False)()
    if gil and not failures:
        fail("gil_reenabled", PROGRAMS[0], PROGRAMS[0]["calls"][0])
    return summary()
''',
    "shared_input": r'''
def run():
    shared = [fresh(p) for p in PROGRAMS]
    def body(k, rng):
        for program, ns in zip(PROGRAMS, shared):
            out = [evaluate(c, ns) for c in program["calls"]]
            check(program, ns, [o[0] for o in out], [o[1] for o in out])
    threads_run(body)
    return summary()
''',
    "shared_object": r'''
def run():
    shared = [fresh(p) for p in PROGRAMS]
    def body(k, rng):
        for program, ns in zip(PROGRAMS, shared):
            calls = list(program["calls"])
            rng.shuffle(calls)
            for call in calls:
                got, error = evaluate(call, ns)
                if error is not None and not got in program["expected"]:
                    fail(kind_of(error, True), program, call, None, got, error)
    threads_run(body)
    return summary()
''',
    "accumulator": r'''
def run():
    for program in PROGRAMS:
        update, reader = program["calls"]
        feeds = THREADS * FEEDS
        ns = fresh(program)
        for _ in range(feeds):
            evaluate(update, ns)
        want = evaluate(reader, ns)[0]
        ns = fresh(program)
        barrier = threading.Barrier(THREADS)
        def go():
            barrier.wait()
            for _ in range(FEEDS):
                got, error = evaluate(update, ns)
                if error is not None:
                    fail(kind_of(error, True), program, update, None, got, error)
                    return
        workers = [threading.Thread(target=go) for _ in range(THREADS)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        got = evaluate(reader, ns)[0]
        if got != want:
            fail("wrong_result", program, f"{THREADS} threads x {FEEDS} x {update}, then {reader}", want, got)
    return summary()
''',
}

FOOTER = r'''

if __name__ == "__main__":
    # The expected results were recorded with hash seed 0: set and dict reprs order str keys by
    # their hash, so this script runs with the same seed (it starts itself again if need be).
    import os
    if sys.flags.hash_randomization and not sys.flags.ignore_environment:
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
    # A crash prints the faulting frame (as under `python -X faulthandler`), and a run that hangs
    # leaves every thread's stack on stderr before it is stopped.
    import faulthandler
    faulthandler.enable()
    faulthandler.dump_traceback_later(45, exit=False)
    result = run()
    print("FTAUDIT-RESULT " + json.dumps(result), flush=True)
    sys.exit(1 if result["failed"] and result["kind"] != "note" else 0)
'''


def script(pattern, programs, threads, seed, duration, distribution, feeds=400):
    """The standalone script for one pattern over these programs (dicts from Program.as_dict)."""
    slim = [{k: p.get(k) for k in ("label", "imports", "setup", "calls", "expected", "shared", "compare")}
            for p in programs]
    header = (f'"""ftaudit reproducer: the {pattern} pattern on {distribution}, '
              f'{threads} threads, seed {seed}.\n\n'
              'Run it with the environment\'s own python. Exit status 1: the failure reproduced '
              '(the last line says what);\n0: it did not this time; a crash ends it with the '
              'signal. Programs:\n'
              + "".join(f"  {p['label']}\n" for p in slim) + '"""\n')
    # `python reproducer.py 1` runs the same calls on one thread: the control that must pass.
    constants = (f"\nPATTERN = {pattern!r}\nTHREADS = {threads}\nSEED = {seed}\n"
                 "if __name__ == '__main__' and len(sys.argv) > 1:\n    THREADS = int(sys.argv[1])\n"
                 f"DURATION = {duration!r}\nFEEDS = {feeds}\n"
                 f"PROGRAMS = json.loads({json.dumps(json.dumps(slim, indent=1))})\n")
    return header + RUNTIME + constants + BODIES[pattern] + FOOTER


def accumulator_programs(programs):
    """(setup, update call, reader call) programs for objects with an update-like method taking
    one argument and a reader with none."""
    out = []
    for p in programs:
        if not p["shared"]:
            continue
        obj = p["shared"] + "."
        updates = [c for c in p["calls"] if c.startswith(obj) and c[len(obj):].split("(")[0] in UPDATE_WORDS
                   and not c.endswith("()")]
        readers = [c for c in p["calls"] if (c.startswith(obj) and c[len(obj):].split("(")[0] in READER_WORDS
                                             and c.endswith("()")) or c == f"len({p['shared']})"]
        if updates and readers:
            out.append(dict(p, label=f"{p['label']} (accumulator)", calls=[updates[0], readers[0]],
                            expected=None))
    return out
