"""ftaudit reproducer: the first_use pattern on isort, 4 threads, seed 1.

Run it with the environment's own python. Exit status 1: the failure reproduced (the last line says what);
0: it did not this time; a crash ends it with the signal. Programs:
  isort.check_code
  isort.check_code (shared input)
  isort.check_stream
  isort.check_stream (shared input)
  isort.code
  isort.code (shared input)
  isort.format.BasicPrinter methods
  isort.find_imports_in_code
  isort.find_imports_in_code (shared input)
  isort.identify.Import methods
  isort.find_imports_in_paths
  isort.find_imports_in_paths (shared input)
  isort.find_imports_in_stream
  isort.find_imports_in_stream (shared input)
  isort.place_module
  isort.place_module (shared input)
  isort.place_module_with_reason
  isort.place_module_with_reason (shared input)
  isort.comments.add_to_line
  isort.comments.add_to_line (shared input)
  isort.comments.parse
  isort.comments.parse (shared input)
  isort.core.format_natural
  isort.core.format_natural (shared input)
  isort.format.format_simplified
  isort.format.format_simplified (shared input)
  isort.identify.imports
  isort.identify.imports (shared input)
  isort.identify.normalize_from_import_string
  isort.identify.normalize_from_import_string (shared input)
  isort.identify.normalize_line
  isort.identify.normalize_line (shared input)
  isort.identify.skip_line
  isort.identify.skip_line (shared input)
  isort.identify.strip_syntax
  isort.identify.strip_syntax (shared input)
  isort.settings.entry_points
  isort.settings.entry_points (shared input)
  isort.settings.wrap_mode_from_string
  isort.settings.wrap_mode_from_string (shared input)
  isort.sorting.naturally
  isort.sorting.naturally (shared input)
  isort.wrap.formatter_from_string
  isort.wrap.formatter_from_string (shared input)
"""

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

PATTERN = 'first_use'
THREADS = 4
SEED = 1
if __name__ == '__main__' and len(sys.argv) > 1:
    THREADS = int(sys.argv[1])
DURATION = 0.0
FEEDS = 400
PROGRAMS = json.loads("[\n {\n  \"label\": \"isort.check_code\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.check_code('abc')\"\n  ],\n  \"expected\": [\n   \"True\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.check_code (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.check_code(arg0)\"\n  ],\n  \"expected\": [\n   \"True\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.check_stream\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.check_stream('abc')\"\n  ],\n  \"expected\": [\n   \"True\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.check_stream (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.check_stream(arg0)\"\n  ],\n  \"expected\": [\n   \"True\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.code\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.code('abc')\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.code (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.code(arg0)\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.format.BasicPrinter methods\",\n  \"imports\": [\n   \"isort.format\"\n  ],\n  \"setup\": [\n   \"obj = isort.format.BasicPrinter('abc', 'abc')\"\n  ],\n  \"calls\": [\n   \"obj.diff_line('abc')\",\n   \"obj.error('abc')\",\n   \"obj.success('abc')\"\n  ],\n  \"expected\": [\n   \"None\",\n   \"None\",\n   \"None\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.find_imports_in_code\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.find_imports_in_code('abc')\"\n  ],\n  \"expected\": [\n   \"<isort.api.find_imports_in_code_gen object at 0x?>\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.find_imports_in_code (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.find_imports_in_code(arg0)\"\n  ],\n  \"expected\": [\n   \"<isort.api.find_imports_in_code_gen object at 0x?>\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.Import methods\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [\n   \"obj = isort.identify.Import(3, True, 'abc')\"\n  ],\n  \"calls\": [\n   \"obj.statement()\"\n  ],\n  \"expected\": [\n   \"'import abc'\"\n  ],\n  \"shared\": \"obj\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.find_imports_in_paths\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.find_imports_in_paths(3)\"\n  ],\n  \"expected\": [\n   \"<isort.api.find_imports_in_paths_gen object at 0x?>\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.find_imports_in_paths (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 3\"\n  ],\n  \"calls\": [\n   \"isort.find_imports_in_paths(arg0)\"\n  ],\n  \"expected\": [\n   \"<isort.api.find_imports_in_paths_gen object at 0x?>\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.find_imports_in_stream\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.find_imports_in_stream(3)\"\n  ],\n  \"expected\": [\n   \"<isort.api.find_imports_in_stream_gen object at 0x?>\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.find_imports_in_stream (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 3\"\n  ],\n  \"calls\": [\n   \"isort.find_imports_in_stream(arg0)\"\n  ],\n  \"expected\": [\n   \"<isort.api.find_imports_in_stream_gen object at 0x?>\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.place_module\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.place_module('abc')\"\n  ],\n  \"expected\": [\n   \"'STDLIB'\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.place_module (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.place_module(arg0)\"\n  ],\n  \"expected\": [\n   \"'STDLIB'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.place_module_with_reason\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.place_module_with_reason('abc')\"\n  ],\n  \"expected\": [\n   \"('STDLIB', \\\"Matched configured known pattern re.compile('^abc$')\\\")\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.place_module_with_reason (shared input)\",\n  \"imports\": [\n   \"isort\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.place_module_with_reason(arg0)\"\n  ],\n  \"expected\": [\n   \"('STDLIB', \\\"Matched configured known pattern re.compile('^abc$')\\\")\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.comments.add_to_line\",\n  \"imports\": [\n   \"isort.comments\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.comments.add_to_line(None)\"\n  ],\n  \"expected\": [\n   \"''\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.comments.add_to_line (shared input)\",\n  \"imports\": [\n   \"isort.comments\"\n  ],\n  \"setup\": [\n   \"arg0 = None\"\n  ],\n  \"calls\": [\n   \"isort.comments.add_to_line(arg0)\"\n  ],\n  \"expected\": [\n   \"''\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.comments.parse\",\n  \"imports\": [\n   \"isort.comments\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.comments.parse('abc')\"\n  ],\n  \"expected\": [\n   \"('abc', None)\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.comments.parse (shared input)\",\n  \"imports\": [\n   \"isort.comments\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.comments.parse(arg0)\"\n  ],\n  \"expected\": [\n   \"('abc', None)\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.core.format_natural\",\n  \"imports\": [\n   \"isort.core\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.core.format_natural('abc')\"\n  ],\n  \"expected\": [\n   \"'import abc'\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.core.format_natural (shared input)\",\n  \"imports\": [\n   \"isort.core\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.core.format_natural(arg0)\"\n  ],\n  \"expected\": [\n   \"'import abc'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.format.format_simplified\",\n  \"imports\": [\n   \"isort.format\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.format.format_simplified('abc')\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.format.format_simplified (shared input)\",\n  \"imports\": [\n   \"isort.format\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.format.format_simplified(arg0)\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.imports\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.identify.imports(3)\"\n  ],\n  \"expected\": [\n   \"<isort.identify.imports_gen object at 0x?>\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.imports (shared input)\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [\n   \"arg0 = 3\"\n  ],\n  \"calls\": [\n   \"isort.identify.imports(arg0)\"\n  ],\n  \"expected\": [\n   \"<isort.identify.imports_gen object at 0x?>\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.normalize_from_import_string\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.identify.normalize_from_import_string('abc')\"\n  ],\n  \"expected\": [\n   \"'abc '\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.normalize_from_import_string (shared input)\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.identify.normalize_from_import_string(arg0)\"\n  ],\n  \"expected\": [\n   \"'abc '\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.normalize_line\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.identify.normalize_line('abc')\"\n  ],\n  \"expected\": [\n   \"NormalizeLineResult(normalized_line='abc', raw_line='abc')\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.normalize_line (shared input)\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.identify.normalize_line(arg0)\"\n  ],\n  \"expected\": [\n   \"NormalizeLineResult(normalized_line='abc', raw_line='abc')\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.skip_line\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.identify.skip_line('abc', 'abc')\"\n  ],\n  \"expected\": [\n   \"SkipLineResult(should_skip=True, in_quote='abc')\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.skip_line (shared input)\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\",\n   \"arg1 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.identify.skip_line(arg0, arg1)\"\n  ],\n  \"expected\": [\n   \"SkipLineResult(should_skip=True, in_quote='abc')\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.strip_syntax\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.identify.strip_syntax('abc')\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.identify.strip_syntax (shared input)\",\n  \"imports\": [\n   \"isort.identify\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.identify.strip_syntax(arg0)\"\n  ],\n  \"expected\": [\n   \"'abc'\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.settings.entry_points\",\n  \"imports\": [\n   \"isort.settings\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.settings.entry_points('abc')\"\n  ],\n  \"expected\": [\n   \"EntryPoints(())\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.settings.entry_points (shared input)\",\n  \"imports\": [\n   \"isort.settings\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.settings.entry_points(arg0)\"\n  ],\n  \"expected\": [\n   \"EntryPoints(())\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.settings.wrap_mode_from_string\",\n  \"imports\": [\n   \"isort.settings\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.settings.wrap_mode_from_string(3)\"\n  ],\n  \"expected\": [\n   \"<WrapModes.VERTICAL_HANGING_INDENT: 3>\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.settings.wrap_mode_from_string (shared input)\",\n  \"imports\": [\n   \"isort.settings\"\n  ],\n  \"setup\": [\n   \"arg0 = 3\"\n  ],\n  \"calls\": [\n   \"isort.settings.wrap_mode_from_string(arg0)\"\n  ],\n  \"expected\": [\n   \"<WrapModes.VERTICAL_HANGING_INDENT: 3>\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.sorting.naturally\",\n  \"imports\": [\n   \"isort.sorting\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.sorting.naturally('abc')\"\n  ],\n  \"expected\": [\n   \"['a', 'b', 'c']\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.sorting.naturally (shared input)\",\n  \"imports\": [\n   \"isort.sorting\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.sorting.naturally(arg0)\"\n  ],\n  \"expected\": [\n   \"['a', 'b', 'c']\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n },\n {\n  \"label\": \"isort.wrap.formatter_from_string\",\n  \"imports\": [\n   \"isort.wrap\"\n  ],\n  \"setup\": [],\n  \"calls\": [\n   \"isort.wrap.formatter_from_string('abc')\"\n  ],\n  \"expected\": [\n   \"<built-in function grid>\"\n  ],\n  \"shared\": null,\n  \"compare\": true\n },\n {\n  \"label\": \"isort.wrap.formatter_from_string (shared input)\",\n  \"imports\": [\n   \"isort.wrap\"\n  ],\n  \"setup\": [\n   \"arg0 = 'abc'\"\n  ],\n  \"calls\": [\n   \"isort.wrap.formatter_from_string(arg0)\"\n  ],\n  \"expected\": [\n   \"<built-in function grid>\"\n  ],\n  \"shared\": \"arg0\",\n  \"compare\": true\n }\n]")

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
