"""ftaudit's stress driver: run by the venv's own free-threaded python as a contained child
(`python -I -S -B -X faulthandler driver.py --request request.json --result-fd 3 --markers T`).

It stresses one module, workload after workload, and reports raw measurements as JSON lines on
the result descriptor; the parent (crates/ftaudit-stress) turns them into figures and verdicts.
After each "begin" event it writes a stage marker to fd 1 and 2, so the parent attributes any
output (a faulthandler dump, a module's chatter) to the stage that wrote it.
"""

import ast
import faulthandler
import importlib
import json
import os
import random
import site
import sys
import threading
import time
import traceback
import warnings

_GIL_WARNING = "The global interpreter lock (GIL) has been enabled"
_result_fd = 3
_token = None
_seq = 0
_gil_warnings = []


def gil_is_on():
    """Whether the GIL came back: only a free-threaded build can say yes; a standard build
    always has it, so there it is never news."""
    import sysconfig
    return sysconfig.get_config_var("Py_GIL_DISABLED") == 1 and sys._is_gil_enabled()


def emit(event, **fields):
    fields["event"] = event
    data = (json.dumps(fields) + "\n").encode()
    while data:
        data = data[os.write(_result_fd, data):]


def begin(workload, stage):
    """Opens a stage: the event, then the markers on fd 1 and 2 (after flushing Python's
    buffers, so earlier text stays with the earlier stage)."""
    global _seq
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    emit("begin", workload=workload, stage=stage)
    _seq += 1
    if _token:
        marker = f"\0ftaudit:{_token}:{_seq}\0".encode()
        for fd in (1, 2):
            os.write(fd, marker)


def exception_fields(exc):
    """Type, message and traceback; a subinterpreter's failure names the original exception."""
    info = getattr(exc, "excinfo", None)
    if info is not None and getattr(info, "type", None) is not None:
        name = getattr(info.type, "__qualname__", str(info.type))
        return {"exception": name, "message": str(getattr(info, "msg", "")),
                "traceback": str(getattr(info, "formatted", "") or "")[-4000:]}
    return {"exception": type(exc).__qualname__, "message": str(exc)[:2000],
            "traceback": "".join(traceback.format_exception(exc))[-4000:]}


def record_warning(message, category, filename, lineno, file=None, line=None):
    text = str(message)
    if issubclass(category, RuntimeWarning) and text.startswith(_GIL_WARNING):
        _gil_warnings.append(text)


def gil_culprit(before):
    """The module CPython named when it re-enabled the GIL, else the extension modules loaded
    since `before` (a set of module names)."""
    for text in _gil_warnings:
        start = text.find("module '")
        if start >= 0:
            end = text.find("'", start + 8)
            return text[start + 8:end], text
    new = sorted(set(sys.modules) - before)
    native = [n for n in new if getattr(sys.modules.get(n), "__file__", "") and
              str(sys.modules[n].__file__).endswith((".so", ".pyd"))]
    return (native[0] if native else None), None


def interpreter_facts():
    import sysconfig
    return {
        "version": sys.version.split()[0],
        "abiflags": sys.abiflags,
        "py_gil_disabled": sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
        "gil_enabled_at_startup": sys._is_gil_enabled(),
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX") or "",
        "cache_tag": sys.implementation.cache_tag or "",
        "base_prefix": sys.base_prefix,
    }


def cores():
    usable = os.process_cpu_count() if hasattr(os, "process_cpu_count") else len(os.sched_getaffinity(0))
    return {"usable": usable or 1, "online": os.cpu_count() or 1, "loadavg": list(os.getloadavg())}


def list_recipes(files):
    """Each recipe's metadata, read with ast.literal_eval: nothing in the file runs."""
    for path in files:
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read(), filename=path)
            meta = None
            functions = set()
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "FTAUDIT_RECIPE" for t in node.targets):
                    meta = ast.literal_eval(node.value)
                elif isinstance(node, ast.FunctionDef):
                    functions.add(node.name)
            if not isinstance(meta, dict):
                raise ValueError("no FTAUDIT_RECIPE = {...} dictionary at top level")
            if meta.get("version") != 1:
                raise ValueError(f"FTAUDIT_RECIPE version {meta.get('version')!r}: only 1 is known")
            modules = meta.get("modules")
            if not isinstance(modules, list) or not modules or not all(isinstance(m, str) for m in modules):
                raise ValueError("FTAUDIT_RECIPE['modules'] must be a non-empty list of module names")
            if "work" not in functions:
                raise ValueError("no top-level function work(shared, local, i)")
            emit("recipe", file=path, modules=modules, unit=str(meta.get("unit", "")),
                 stdlib=bool(meta.get("stdlib", False)), error=None)
        except Exception as exc:
            emit("recipe", file=path, modules=[], unit="", stdlib=False, error=f"{type(exc).__name__}: {exc}")


def run_threads(workers, timeout, workload):
    """Starts the threads and waits for all of them; one still running at the deadline is stuck."""
    for t in workers:
        t.start()
    deadline = time.monotonic() + timeout
    for t in workers:
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in workers):
        stuck(workload, "threads", len(workers), timeout)


# -- tier 1: generic ---------------------------------------------------------------------------

def first_import(name, threads, timeout):
    """N threads released together by a barrier import the module into a fresh interpreter."""
    barrier = threading.Barrier(threads)
    results = [None] * threads

    def go(k):
        try:
            barrier.wait()
            results[k] = ("ok", id(importlib.import_module(name)))
        except BaseException as exc:
            results[k] = ("error", f"{type(exc).__name__}: {exc}")

    run_threads([threading.Thread(target=go, args=(k,)) for k in range(threads)], timeout, "first-import")
    problems = []
    ids = {r[1] for r in results if r[0] == "ok"}
    errors = [r[1] for r in results if r[0] == "error"]
    if errors:
        problems.append(f"{len(errors)} of {threads} threads failed to import: {errors[0]}")
    if len(ids) > 1:
        problems.append(f"the threads got {len(ids)} different module objects")
    return problems


METH_VARARGS, METH_KEYWORDS, METH_NOARGS, METH_O, METH_FASTCALL, METH_METHOD = 0x1, 0x2, 0x4, 0x8, 0x80, 0x200


def method_flags_reader():
    """Reads PyCFunctionObject.m_ml->ml_flags with ctypes, if a check on known builtins shows
    the layout is the expected one; None otherwise (then no call is made)."""
    try:
        import ctypes
        import zlib
        header = object.__basicsize__
        ptr = ctypes.sizeof(ctypes.c_void_p)

        def flags(f):
            ml = ctypes.c_void_p.from_address(id(f) + header).value
            return ctypes.c_int.from_address(ml + 2 * ptr).value if ml else None

        known = {len: METH_O, sys._is_gil_enabled: METH_NOARGS,
                 zlib.crc32: METH_FASTCALL, zlib.compress: METH_FASTCALL | METH_KEYWORDS}
        if all(flags(f) == want for f, want in known.items()):
            return flags
    except Exception:
        pass
    return None


def rejected_calls(f, flags):
    """Calls CPython rejects with TypeError before entering the C function."""
    if flags is None or flags & METH_KEYWORDS or flags & METH_METHOD:
        return []
    if flags & METH_NOARGS:
        return [((0,), {}), ((), {"x": 0})]
    if flags & METH_O:
        return [((), {}), ((0, 0), {}), ((), {"x": 0})]
    if flags & (METH_VARARGS | METH_FASTCALL):
        return [((), {"x": 0})]
    return []


def introspect(name, threads, rounds, timeout):
    """Concurrent introspection and rejected calls; see docs/stress.md for why none of it can
    run the module's own code."""
    import types
    module = sys.modules[name]
    namespace = dict(vars(module))
    read_flags = method_flags_reader()
    actions = []
    for key, value in sorted(namespace.items(), key=lambda kv: kv[0]):
        if isinstance(value, type):
            actions.append((f"type.__repr__({key})", type.__repr__, (value,), {}, "value"))
            actions.append((f"{key}.__mro__", lambda t=value: tuple(c.__name__ for c in t.__mro__), (), {}, "value"))
            actions.append((f"dict({key}.__dict__)", lambda t=value: sorted(dict(t.__dict__)), (), {}, "value"))
            for attr, d in sorted(value.__dict__.items()):
                # A descriptor of `object` itself (a class that borrows `object.__reduce__`)
                # accepts object() as self: only others reject it before their C code runs.
                if type(d) is types.MethodDescriptorType and d.__objclass__ is not object:
                    actions.append((f"{key}.{attr}(object())", d, (object(),), {}, "TypeError"))
        elif type(value) is types.BuiltinFunctionType and read_flags is not None:
            for args, kwargs in rejected_calls(value, read_flags(value)):
                shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
                actions.append((f"{key}({shown})", value, args, kwargs, "TypeError"))

    def perform(action):
        label, fn, args, kwargs, expect = action
        try:
            out = fn(*args, **kwargs)
        except TypeError as exc:
            return ("TypeError", None) if expect == "TypeError" else ("raised", f"TypeError: {exc}")
        except BaseException as exc:
            return ("raised", f"{type(exc).__name__}: {exc}")
        return ("value", repr(out)) if expect == "value" else ("returned", repr(out)[:200])

    reference = [perform(a) for a in actions]
    problems = []
    for action, (kind, detail) in zip(actions, reference):
        if action[4] == "TypeError" and kind != "TypeError":
            problems.append(f"call not rejected: {action[0]} {kind} {detail}")
    if problems:
        return len(actions), read_flags is not None, problems
    barrier = threading.Barrier(threads)
    seen = []

    def go():
        barrier.wait()
        for _ in range(rounds):
            for action, want in zip(actions, reference):
                got = perform(action)
                if got != want:
                    seen.append(f"{action[0]} gave {got} under {threads} threads, {want} alone")
                    return

    run_threads([threading.Thread(target=go) for _ in range(threads)], timeout, "introspect")
    return len(actions), read_flags is not None, seen[:5]


# -- tier 2 and 3: recipes ---------------------------------------------------------------------

chunks = None  # ftaudit_stress_worker, imported by main() once its folder is on sys.path


class LowLevelInterpreterPool:
    """A pool of isolated subinterpreters on 3.13, where there is no InterpreterPoolExecutor:
    one thread per interpreter, each running `_interpreters.exec`; results come back through a
    file in the scratch folder (the private module's queues differ between versions)."""

    def __init__(self, workers, paths_dir):
        import _interpreters
        from concurrent.futures import ThreadPoolExecutor
        self._interpreters = _interpreters
        self._ids = [_interpreters.create("isolated") for _ in range(workers)]
        self._free = list(self._ids)
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=workers)
        self._paths = paths_dir
        self._n = 0

    def submit(self, fn, *args):
        return self._threads.submit(self._run, fn.__module__, fn.__name__, args)

    def _run(self, module, name, args):
        import pickle
        with self._lock:
            interp = self._free.pop()
            self._n += 1
            out = os.path.abspath(f"subinterp-{self._n}.pickle")
        try:
            code = (
                "import pickle, site, traceback\n"
                f"site.addsitedir({self._paths!r})\n"
                "try:\n"
                f"    import {module} as m\n"
                f"    r = ('ok', m.{name}(*{args!r}))\n"
                "except BaseException as e:\n"
                "    r = ('error', type(e).__qualname__, str(e), ''.join(traceback.format_exception(e)))\n"
                f"with open({out!r}, 'wb') as f:\n"
                "    pickle.dump(r, f)\n"
            )
            failure = self._interpreters.exec(interp, code)
            if failure is not None:
                raise RuntimeError(f"subinterpreter failed: {failure}")
            with open(out, "rb") as f:
                result = pickle.load(f)
            os.unlink(out)
        finally:
            with self._lock:
                self._free.append(interp)
        if result[0] == "error":
            exc = RuntimeError(result[2])
            exc.excinfo = type("Info", (), {"type": type(result[1], (), {"__qualname__": result[1]}),
                                             "msg": result[2], "formatted": result[3]})
            raise exc
        return result[1]

    def shutdown(self):
        self._threads.shutdown(wait=True)
        for interp in self._ids:
            try:
                self._interpreters.destroy(interp)
            except Exception:
                pass


def make_pool(kind, workers, paths_dir):
    import concurrent.futures as cf
    if kind == "threads":
        return cf.ThreadPoolExecutor(max_workers=workers)
    if kind == "subinterpreters":
        if hasattr(cf, "InterpreterPoolExecutor"):
            return cf.InterpreterPoolExecutor(max_workers=workers, initializer=site.addsitedir,
                                              initargs=(paths_dir,))
        return LowLevelInterpreterPool(workers, paths_dir)
    import multiprocessing
    # forkserver on both versions: fork would copy a multi-threaded driver.
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))


def vm_hwm_kb(pid="self"):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child_cpu_seconds(pids):
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
            total += (int(rest[11]) + int(rest[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


_current_pool_pids = []


def stuck(workload, executor, workers, timeout):
    """A stage did not finish in time. The faulthandler watchdog armed at the stage's start has
    dumped every thread by now; measure whether anything still uses CPU (spinning or busy) or
    nothing does (blocked: a deadlock), report it, and end the process (the parent then kills
    the process group, pool processes included)."""
    own0, kids0 = time.process_time(), child_cpu_seconds(_current_pool_pids)
    # Every thread's Python stack, on stderr (the parent files it under this stage).
    try:
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    except Exception:
        pass
    time.sleep(1.0)
    used = (time.process_time() - own0) + (child_cpu_seconds(_current_pool_pids) - kids0)
    emit("stuck", workload=workload, executor=executor, workers=workers, seconds=timeout,
         cpu_per_second=round(used, 3))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(75)


def timed_run(pool, recipe, seed, units, workers, lead, timeout, workload, executor):
    import concurrent.futures as cf
    t0 = time.perf_counter() + lead
    futures = [pool.submit(chunks.run_chunk, recipe, seed, k, k * units // workers,
                           (k + 1) * units // workers, t0) for k in range(workers)]
    done, pending = cf.wait(futures, timeout=timeout)
    if pending:
        stuck(workload, executor, workers, timeout)
    return t0, [f.result() for f in futures]


def run_recipe(request, workload, recipe, paths_dir):
    seed = request["seed"]
    timeout = request["stage_timeout"]
    target = request["target_seconds"]
    counts = request["worker_counts"]
    modules_before = set(sys.modules)

    begin(workload, "calibrate")
    faulthandler.dump_traceback_later(timeout, exit=False)
    units = max(counts)
    reference = None
    try:
        while True:
            t0 = time.perf_counter()
            result = chunks.run_chunk(recipe, seed, 0, 0, units, t0)
            seconds = result[1] - result[0]
            reference = result[4]
            if result[5]:
                emit("not_run", workload=workload, executor=None,
                     reason=f"check() failed for units {list(result[5][:5])} on 1 worker: the recipe is wrong for this version")
                return
            if seconds >= target or units >= 1 << 22:
                break
            if seconds > timeout / 4:
                break
            grow = 2 if seconds <= 0 else min(16, max(2, int(target / max(seconds, 1e-6)) + 1))
            units *= grow
    except Exception as exc:
        faulthandler.cancel_dump_traceback_later()
        emit("not_run", workload=workload, executor=None,
             reason="the recipe raised on 1 worker", **exception_fields(exc))
        return
    faulthandler.cancel_dump_traceback_later()
    emit("calibrated", workload=workload, units=units, seconds=seconds)
    if gil_is_on():
        module, text = gil_culprit(modules_before)
        emit("gil", workload=workload, executor="threads", workers=1, module=module, warning=text)

    for executor in request["executors"]:
        if executor == "subinterpreters" and not request["subinterpreters_ok"]:
            emit("not_run", workload=workload, executor=executor,
                 reason=request.get("subinterpreters_reason") or "the module cannot be imported in an isolated subinterpreter")
            continue
        begin(workload, executor)
        faulthandler.dump_traceback_later(timeout * (len(counts) + 2), exit=False)
        lead = 0.02 if executor == "threads" else 0.05
        pools = {}
        try:
            reset_peak()
            for n in counts:
                start = time.perf_counter()
                pool = make_pool(executor, n, paths_dir)
                pools[n] = pool
                warmed = [pool.submit(chunks.warm, recipe, seed, 0.05) for _ in range(n)]
                for f in warmed:
                    f.result(timeout=timeout)
                emit("startup", workload=workload, executor=executor, workers=n,
                     seconds=time.perf_counter() - start)
            if executor == "processes":
                _current_pool_pids[:] = [p for pool in pools.values() for p in getattr(pool, "_processes", {})]
            for n in counts:  # one untimed run each: caches, allocator arenas, lazy imports
                timed_run(pools[n], recipe, seed, units, n, lead, timeout, workload, executor)
            gil_reported = gil_is_on()
            for r in range(request["repeats"]):
                order = list(counts)
                random.Random(seed * 7919 + r).shuffle(order)
                for n in order:
                    t0, results = timed_run(pools[n], recipe, seed, units, n, lead, timeout, workload, executor)
                    wall = max(x[1] for x in results) - t0
                    got = b"".join(x[4] for x in results)
                    gil = gil_is_on() or any(x[6] for x in results)
                    emit("round", workload=workload, executor=executor, workers=n, round=r,
                         wall=wall, cpu=sum(x[2] for x in results), wait=sum(x[3] for x in results),
                         late=sum(1 for x in results if x[0] - t0 > 0.001), gil=gil)
                    if got != reference:
                        wrong = [i for i in range(units) if got[8 * i:8 * i + 8] != reference[8 * i:8 * i + 8]]
                        i = wrong[0]
                        emit("failure", kind="wrong_result", workload=workload, executor=executor,
                             workers=n, round=r, unit=i, wrong_units=len(wrong),
                             expected=reference[8 * i:8 * i + 8].hex(), got=got[8 * i:8 * i + 8].hex())
                    failed = [i for x in results for i in x[5]]
                    if failed:
                        emit("failure", kind="check_failed", workload=workload, executor=executor,
                             workers=n, round=r, unit=failed[0], wrong_units=len(failed))
                    if gil and not gil_reported:
                        gil_reported = True
                        module, text = gil_culprit(modules_before)
                        emit("gil", workload=workload, executor=executor, workers=n, module=module, warning=text)
            peak = vm_hwm_kb()
            if executor == "processes":
                peak = (peak or 0) + sum(vm_hwm_kb(p) or 0 for p in _current_pool_pids)
            emit("memory", workload=workload, executor=executor, peak_rss_mb=(peak or 0) / 1024)
        except Exception as exc:
            emit("failure", kind="exception", workload=workload, executor=executor,
                 workers=None, round=None, **exception_fields(exc))
        finally:
            faulthandler.cancel_dump_traceback_later()
            for pool in pools.values():
                try:
                    pool.shutdown()
                except Exception:
                    pass
            _current_pool_pids.clear()


def main():
    global _result_fd, _token
    args = sys.argv[1:]
    options = dict(zip(args[::2], args[1::2]))
    _result_fd = int(options.get("--result-fd", "3"))
    _token = options.get("--markers")
    with open(options["--request"], encoding="utf-8") as f:
        request = json.load(f)
    paths_dir = os.path.abspath(request["paths_dir"])
    site.addsitedir(paths_dir)
    global chunks
    import ftaudit_stress_worker as chunks
    warnings.showwarning = record_warning
    emit("ready", interpreter=interpreter_facts(), cores=cores(),
         subinterpreter_executor=("InterpreterPoolExecutor" if sys.version_info >= (3, 14) else "_interpreters"))
    if request.get("list_recipes") is not None:
        list_recipes(request["list_recipes"])
        emit("done")
        return
    name = request["module"]
    timeout = request["stage_timeout"]
    for workload in request["workloads"]:
        kind = workload["kind"]
        if kind == "first_import":
            begin("first-import", "threads")
            faulthandler.dump_traceback_later(timeout, exit=False)
            before = set(sys.modules)
            problems = first_import(name, workload["threads"], timeout)
            faulthandler.cancel_dump_traceback_later()
            module, text = gil_culprit(before) if gil_is_on() else (None, None)
            emit("generic", workload="first-import", threads=workload["threads"], checked=1,
                 calls=False, problems=problems, gil=gil_is_on(), module=module, warning=text)
        elif kind == "introspect":
            begin("introspect", "threads")
            faulthandler.dump_traceback_later(timeout, exit=False)
            before = set(sys.modules)
            try:
                importlib.import_module(name)
            except Exception as exc:
                # Said apart from what introspection finds: the parent checks whether the
                # import fails on one thread too (then it is no concurrency problem).
                checked, calls, problems = 0, False, [f"failed to import: {type(exc).__name__}: {exc}"]
            else:
                try:
                    checked, calls, problems = introspect(name, workload["threads"], workload["rounds"], timeout)
                except Exception as exc:
                    checked, calls, problems = 0, False, [f"{type(exc).__name__}: {exc}"]
            faulthandler.cancel_dump_traceback_later()
            module, text = gil_culprit(before) if gil_is_on() else (None, None)
            emit("generic", workload="introspect", threads=workload["threads"], checked=checked,
                 calls=calls, problems=problems, gil=gil_is_on(), module=module, warning=text)
        elif kind == "synthesized":
            import ftaudit_synthesize
            # A pattern that never returns is a hang: the watchdog dumps every thread for the
            # parent, which ends the driver once it stops answering.
            faulthandler.dump_traceback_later(timeout, repeat=True, exit=False)
            try:
                ftaudit_synthesize.run(workload, emit, begin, gil_culprit)
            finally:
                faulthandler.cancel_dump_traceback_later()
        else:
            run_recipe(request, workload["name"], workload["recipe"], paths_dir)
    emit("done")


if __name__ == "__main__":
    try:
        main()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    # Pool threads or a module's own threads must not keep the process (and the parent) waiting.
    os._exit(0)
