"""Runs a recipe's units of work. The driver imports this module in the main interpreter, and
every subinterpreter and pool process imports it too, so each executor runs the same code.

A recipe is a module with top-level functions (see docs/stress.md):
    shared(seed)            -> state shared by the workers of one interpreter (untimed)
    local(shared, worker)   -> per-worker state (optional, untimed)
    work(shared, local, i)  -> one unit of work; its result depends only on (seed, i)
    check(i, result)        -> optional self-check; False or an exception means wrong
"""

import hashlib
import importlib
import sys
import threading
import time

_shared = {}
_shared_lock = threading.Lock()


def gil_is_on():
    """Whether the GIL came back: never news on a standard build, which always has it."""
    import sysconfig
    return sysconfig.get_config_var("Py_GIL_DISABLED") == 1 and sys._is_gil_enabled()


def run_queue_wait_ns():
    """Nanoseconds this thread has waited on a run queue (field 2 of schedstat)."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def digest(value):
    """A unit's result, reduced to 8 bytes; repr is canonical for the result types allowed."""
    return hashlib.blake2b(repr(value).encode(), digest_size=8).digest()


def shared_state(recipe, seed):
    """The recipe's shared state in this interpreter, made once (threads share it)."""
    key = (recipe, seed)
    with _shared_lock:
        if key not in _shared:
            module = importlib.import_module(recipe)
            make = getattr(module, "shared", None)
            _shared[key] = make(seed) if make is not None else None
        return _shared[key]


def warm(recipe, seed, hold):
    """Imports the recipe (and so the module under test) and builds its shared state; holds the
    worker for `hold` seconds so that a pool starts all of its workers at once."""
    start = time.perf_counter()
    shared_state(recipe, seed)
    left = hold - (time.perf_counter() - start)
    if left > 0:
        time.sleep(left)
    return gil_is_on()


def run_chunk(recipe, seed, worker, start, stop, t0):
    """Units [start, stop) on one worker, started at the common instant t0 (perf_counter, which
    is CLOCK_MONOTONIC: one clock for every thread and process of the machine)."""
    module = importlib.import_module(recipe)
    shared = shared_state(recipe, seed)
    make_local = getattr(module, "local", None)
    local = make_local(shared, worker) if make_local is not None else None
    check = getattr(module, "check", None)
    work = module.work
    ahead = t0 - time.perf_counter()
    if ahead > 0.002:
        time.sleep(ahead - 0.002)
    while time.perf_counter() < t0:
        pass
    began = time.perf_counter()
    cpu = time.thread_time()
    waited = run_queue_wait_ns()
    digests = []
    failed = []
    for i in range(start, stop):
        result = work(shared, local, i)
        digests.append(digest(result))
        if check is not None:
            try:
                ok = check(i, result) is not False
            except Exception:
                ok = False
            if not ok:
                failed.append(i)
    ended = time.perf_counter()
    return (
        began,
        ended,
        time.thread_time() - cpu,
        (run_queue_wait_ns() - waited) / 1e9,
        b"".join(digests),
        tuple(failed),
        gil_is_on(),
    )
