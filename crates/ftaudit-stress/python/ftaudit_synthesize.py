"""The synthesized workload in the driver: discover a distribution's calls (ftaudit_synth), run
each concurrency pattern's script (ftaudit_patterns) in this process, minimise a failure to the
one program that shows it, and report. The first-use pattern needs a fresh interpreter: its
script is handed to the parent, which runs it as new processes.

Events (beside the driver's begin markers, one stage per pattern):
  synth_coverage  what was found, exercised and skipped, and why
  synth_first_use the first-use script, for the parent to run
  synth_patterns  the patterns planned (those after a crash are reported as not run)
  synth_plan      the script about to run (the reproducer if the driver dies in it)
  synth_result    a pattern's outcome, with the (minimised) script when it failed
"""

import sys
import time

import ftaudit_patterns as patterns
import ftaudit_synth as synth

# Per script: how long the threads keep going, and at most how many programs take part (a
# pattern over more programs runs as several scripts, while the budget lasts).
PATTERN_SECONDS = 0.4
# One shared object needs longer hammering for a race to corrupt memory.
SHARED_OBJECT_SECONDS = 1.0
MAX_PROGRAMS = 40
RACE_ROUNDS = 3


def seconds_for(pattern):
    return SHARED_OBJECT_SECONDS if pattern == "shared_object" else PATTERN_SECONDS
# The first-use script runs once per fresh process: a larger sample, still bounded.
MAX_FIRST_USE = 200


def run_script(source):
    """Executes a pattern script here and returns its result (what its run() returned)."""
    ns = {"__name__": "ftaudit_pattern"}
    exec(compile(source, "<ftaudit pattern>", "exec"), ns)
    return ns["run"]()


def assigned(program):
    """The names the program's set-up assigns."""
    import ast
    names = []
    for line in program.setup:
        try:
            tree = ast.parse(line)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.append(node.id)
    return names


def snapshot(ns):
    """The masked reprs of what the set-up made (not modules, not builtins)."""
    return {k: synth.masked(v) for k, v in ns.items()
            if not k.startswith("__") and not isinstance(v, type(sys))}


def idempotent(program):
    """True when the calls leave their setup as they found it, so threads can share it: on one
    setup, the program gives its results, each call made twice in a row gives the same result
    both times, the program then gives its results again, and what the set-up made looks the
    same (its repr) before and after. (A sequence that only undoes itself, like add then pop,
    fails the second test; one that fills or resizes in place, the last: under threads both
    interleave with the other calls.)"""
    try:
        ns = synth.namespace(program.imports)
        for line in program.setup:
            exec(line, ns)
        before = snapshot(ns)
        if synth.run_program(program, ns) != program.expected:
            return False
        for call in program.calls:
            one = synth.Program("", "", [], [], [call])
            if synth.run_program(one, ns) != synth.run_program(one, ns) or snapshot(ns) != before:
                return False
        return synth.run_program(program, ns) == program.expected and snapshot(ns) == before
    except Exception:
        return False


def plan(programs):
    """Pattern name -> the programs it runs (dicts), in the order they run."""
    independent = list(programs)
    with_setup = [p for p in programs if p.setup]
    # A shared *input*: what the set-up made is passed to calls, never the receiver of a method
    # call (an object whose methods run concurrently is the shared_object pattern, whose oracle
    # is crashes and internal errors: a plain object with scratch state races there too).
    shared_input = [p for p in with_setup
                    if not any(c.startswith(f"{name}.") for c in p.calls for name in assigned(p))
                    and idempotent(p)]
    mutated = [p for p in with_setup if p.shared and p not in shared_input]
    dicts = lambda ps: [p.as_dict() for p in ps]
    out = {
        "independent": dicts(independent),
        "shared_input": dicts(shared_input),
        "shared_object": dicts(mutated + [p for p in shared_input if p.shared]),
        "accumulator": patterns.accumulator_programs(dicts(with_setup)),
    }
    return {k: v for k, v in out.items() if v}


def minimise(pattern, programs, result, threads, seed, distribution, tries=3):
    """The script with only the failing program, when that alone fails again; else the whole."""
    whole = patterns.script(pattern, programs, threads, seed, seconds_for(pattern), distribution)
    alone = [p for p in programs if p["label"].startswith(result.get("program") or "\0")][:1]
    if not alone or len(programs) == 1:
        return whole, False
    source = patterns.script(pattern, alone, threads, seed, seconds_for(pattern), distribution)
    for _ in range(tries):
        emit_plan(pattern, source)
        if run_script(source).get("failed"):
            return source, True
    return whole, False


_emit = None
_workload = None


def emit_plan(pattern, source):
    _emit("synth_plan", workload=_workload, pattern=pattern, source=source)


def run(workload, emit, begin, gil_culprit):
    global _emit, _workload
    _emit, _workload = emit, workload["name"]
    name = workload["name"]
    threads, seed = workload["threads"], workload["seed"]
    distribution = workload["distribution"]
    started = time.monotonic()
    budget = workload["budget_seconds"]
    begin(name, "discover")
    discovery = synth.Discovery(workload["packages"], workload["modules"], started + budget * 0.5,
                                exclude=workload.get("exclude", ()),
                                trying=lambda label: emit("synth_trying", workload=name, label=label))
    programs = discovery.run()
    emit("synth_coverage", workload=name, coverage=discovery.coverage(),
         seconds=time.monotonic() - started)
    if not programs:
        return
    first_use = [p.as_dict() for p in programs][:MAX_FIRST_USE]
    emit("synth_first_use", workload=name,
         source=patterns.script("first_use", first_use, threads, seed, 0.0, distribution))
    before = set(sys.modules)
    planned = plan(programs)
    emit("synth_patterns", workload=name, patterns=list(planned))
    # Chunks taken round-robin over the patterns, so a short budget still tries every pattern.
    queue = []
    for pattern, members in planned.items():
        for k in range(0, len(members), MAX_PROGRAMS):
            queue.append((k // MAX_PROGRAMS, pattern, members[k:k + MAX_PROGRAMS]))
    queue.sort(key=lambda item: item[0])
    # Budget left after one pass goes to more rounds of the patterns whose races are a matter of
    # luck (one shared object, one accumulator), at most RACE_ROUNDS in all, until one fails.
    racy = [item for item in queue if item[1] in ("shared_object", "accumulator")]
    queue += [item for _ in range(RACE_ROUNDS - 1) for item in racy]
    found = set()
    seen_once = set()
    for _, pattern, members in queue:
        repeat = (pattern, id(members)) in seen_once
        if repeat and (pattern in found or time.monotonic() > started + budget):
            continue
        if time.monotonic() > started + budget:
            emit("synth_result", workload=name, pattern=pattern, result=None, source=None,
                 minimised=False, programs=len(members), skipped="the time budget ran out")
            continue
        source = patterns.script(pattern, members, threads, seed, seconds_for(pattern), distribution)
        begin(name, pattern)
        emit_plan(pattern, source)
        result = run_script(source)
        minimised = False
        if result.get("failed") and result.get("kind") != "note":
            source, minimised = minimise(pattern, members, result, threads, seed, distribution)
        gil = sys._is_gil_enabled()
        culprit = gil_culprit(before)[0] if gil else None
        seen_once.add((pattern, id(members)))
        if result.get("failed") and result.get("kind") != "note":
            found.add(pattern)
        elif repeat:
            continue  # a further round that found nothing adds nothing to the report
        emit("synth_result", workload=name, pattern=pattern, result=result,
             source=source if result.get("failed") else None, minimised=minimised,
             programs=0 if repeat else len(members),
             calls=0 if repeat else sum(len(p["calls"]) for p in members),
             gil=gil, module=culprit, skipped=None)
        if gil:
            break
