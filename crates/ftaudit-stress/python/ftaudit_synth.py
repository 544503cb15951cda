"""Synthesized workloads, part one: finding calls that work in a package's own public API.

From the import packages a distribution installs, this walks the public names (``__all__`` or
names without a leading underscore) of the package and of its GIL-free native modules, keeps
the distribution's own functions and classes (``__module__`` inside its packages) and finds
calls that succeed single-threaded:
- the authors' doctest examples (``>>>`` lines), which are real, valid calls;
- signatures (``inspect.signature``, ``__text_signature__``) and annotations, with arguments
  generated from the parameter's annotation, default or name, else a small pool of candidates.

A call becomes a *program*: source lines that build what it needs (``setup``) and expressions
to evaluate (``calls``), so a program can be run again anywhere, written into a standalone
reproducer, and shown to a user. A program is kept only when it runs twice from a fresh state
with the same results (reprs, addresses masked), and when running all kept programs in two
different orders changes none of them (a call that depends on another's global side effect
would otherwise look like a race).

Never called: anything acting on the outside world (see UNSAFE_NAME_WORDS, UNSAFE_PARAMS and
UNSAFE_MODULES), setters of process-wide configuration, and names outside the distribution.
The sandbox holds regardless; this keeps the tier from wasting its budget or hanging.
"""

import ast
import doctest
import importlib
import inspect
import os
import pkgutil
import random
import re
import sys
import threading
import time

# A callable whose name has one of these words (split on '_' and case) is never called.
UNSAFE_NAME_WORDS = {
    "open", "load", "save", "dump", "write", "read", "remove", "delete", "unlink", "rmtree",
    "exit", "quit", "kill", "system", "exec", "spawn", "fork", "popen", "connect", "listen",
    "serve", "server", "bind", "accept", "send", "recv", "download", "upload", "install",
    "sleep", "wait", "input", "getpass", "chdir", "mkdir", "makedirs", "chmod", "chown",
    "environ", "setenv", "putenv", "print", "show", "plot", "interactive", "breakpoint",
    "trace", "debug", "test", "tests", "bench", "benchmark", "main", "cli", "run", "start",
    "stop", "shutdown", "register", "atexit", "signal", "alarm", "daemon", "pool", "thread",
    "threads", "mmap", "memmap", "file", "files", "fromfile", "tofile", "loadtxt", "savetxt",
    "genfromtxt", "path", "dir", "url", "request", "fetch", "socket", "subprocess", "shell",
    "config", "configure", "option", "options", "setting", "settings", "default", "defaults",
    "enable", "disable", "reset", "patch", "monkey", "setup", "teardown", "global", "globals",
    "seterr", "setlocale", "locale", "env", "log", "logging", "logger", "warn", "warnings",
    "cache", "clear", "gc", "collect", "free", "release", "lock", "unlock", "acquire",
    # acting on processes and the machine (a process-control library's whole API)
    "suspend", "resume", "terminate", "pause", "nice", "ionice", "affinity", "rlimit",
    "priority", "renice", "halt", "reboot", "poweroff", "umask", "chroot", "setuid", "setgid",
    "mount", "unmount", "swap", "process", "pid", "pids", "children", "parent",
}
# A name starting with one of these sets process-wide state: never called.
UNSAFE_PREFIXES = ("set_", "use_", "enable_", "disable_", "register_", "install_", "reset_")
# A parameter with one of these names makes the callable off limits (it names the outside world
# or takes code to run).
UNSAFE_PARAMS = {
    "file", "filename", "fname", "path", "filepath", "fp", "fd", "fileobj", "f", "dir",
    "directory", "folder", "url", "uri", "host", "port", "socket", "sock", "stream", "callback",
    "func", "function", "fn", "hook", "handler", "cmd", "command", "args_file", "output",
    "outfile", "out", "dest", "destination", "target_file", "cwd", "env",
}
# Modules whose names never appear in a program (doctests are checked for them).
UNSAFE_MODULES = {
    "os", "sys", "shutil", "subprocess", "signal", "socket", "ctypes", "multiprocessing",
    "threading", "asyncio", "io", "pathlib", "tempfile", "glob", "builtins", "importlib",
    "pickle", "marshal", "http", "urllib", "ftplib", "smtplib", "webbrowser", "code", "pdb",
    "gc", "atexit", "resource", "pty", "fcntl", "mmap", "select", "selectors", "ssl",
}
UNSAFE_CALLS = {"open", "exec", "eval", "compile", "__import__", "input", "breakpoint", "exit",
                "quit", "globals", "locals", "vars", "getattr", "setattr", "delattr"}

CANDIDATES = [3, "abc", b"abc", 1.5, [1, 2, 3], (1, 2), {"a": 1}, True, None]
BY_ANNOTATION = {int: [3, 0], float: [1.5], str: ["abc"], bytes: [b"abc"], bool: [True],
                 list: [[1, 2, 3]], tuple: [(1, 2)], dict: [{"a": 1}], bytearray: [bytearray(b"abc")]}
BY_NAME = [
    ({"n", "k", "i", "j", "count", "size", "length", "num", "index", "idx", "pos", "width",
      "height", "depth", "level", "base", "precision", "digits", "ndim", "axis", "start", "end",
      "step", "times", "repeat", "limit", "maxsize", "capacity"}, [3]),
    ({"x", "y", "z", "a", "b", "value", "val", "number", "num", "v"}, [3, 1.5]),
    ({"s", "text", "string", "name", "key", "word", "pattern", "source", "fmt", "format", "sep",
      "prefix", "suffix", "char", "chars", "label", "title", "template", "markup", "html",
      "query", "expr", "expression", "doc", "document", "json", "yaml", "src", "str"}, ["abc"]),
    ({"data", "buf", "buffer", "raw", "payload", "message", "msg", "block", "chunk", "content",
      "bytes", "blob", "input", "b", "key_bytes"}, [b"abc", "abc"]),
    ({"seq", "items", "values", "iterable", "array", "arr", "sequence", "elements", "lst",
      "list", "vector", "vec"}, [[1, 2, 3]]),
]
MAX_ATTEMPTS = 12
# Public submodules of a package walked beside it, and methods tried per class, at most.
MAX_SUBMODULES = 40
MAX_METHODS = 30
# Submodules never imported: test suites, demos, command lines, GUI toolkits.
UNSAFE_MODULE_WORDS = {"test", "tests", "testing", "conftest", "example", "examples", "demo",
                       "demos", "benchmark", "benchmarks", "bench", "setup", "main", "cli",
                       "gui", "tk", "tkinter", "qt", "wx", "gtk", "show", "conftest"}
SLOW_GRACE = 5.0
# Calls left behind before discovery gives up (one may hold what the others need).
MAX_STALLS = 3
# Words that make a call's result differ from run to run by design (random draws, clocks): such
# calls still run under threads, but only their exceptions count, never their results.
NONDETERMINISTIC_WORDS = {
    "random", "rand", "randn", "randint", "randrange", "shuffle", "permutation", "permuted",
    "choice", "choices", "sample", "uniform", "normal", "gauss", "zipf", "poisson", "binomial",
    "entropy", "urandom", "token", "uuid", "uuid4", "now", "time", "clock", "today", "counter",
    "perf", "monotonic", "generator", "rng", "integers", "bit", "seed",
}
CRASHED = "crashed the process single-threaded with generated arguments (a plain bug, not a race; left out)"
CALL_SECONDS = 1.0
ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def masked(value):
    """A result's repr with what differs from process to process masked: memory addresses, this
    process's scratch folder (its working folder, HOME and TMPDIR live there) and its pid; cut
    to a sane length."""
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr raised {type(exc).__name__}>"
    text = text.replace(_SCRATCH, "<scratch>") if _SCRATCH else text
    return re.sub(rf"\b{_PID}\b", "<pid>", ADDRESS.sub("0x?", text))[:400]


_SCRATCH = os.getcwd()
_PID = os.getpid()


def scratch_entries():
    """Every path under the scratch folder (the only place a call can write), with its size and
    modification time: a call that creates or changes a file shows as a difference."""
    found = set()
    for root, dirs, files in os.walk(_SCRATCH):
        for name in dirs + files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            found.add((path, st.st_size, st.st_mtime_ns))
        if len(found) > 5000:
            break
    return found


def words(name):
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return set(filter(None, spaced.split("_")))


def nondeterministic(program):
    """Whether a program calls something whose result varies by design, by its names."""
    text = " ".join([program.label] + program.calls)
    return bool(words(re.sub(r"[^A-Za-z0-9_]", "_", text)) & NONDETERMINISTIC_WORDS)


def file_bound(program):
    """Whether what the set-up makes names a file in the scratch folder (an object bound to a
    data file, a cache): objects made by several threads would share that file, so their
    results are not compared, only their exceptions and crashes count."""
    if not program.setup:
        return False
    try:
        ns = namespace(program.imports)
        for line in program.setup:
            exec(line, ns)
    except Exception:
        return False
    return any("<scratch>" in masked(v) for k, v in ns.items()
               if not k.startswith("__") and not inspect.ismodule(v))


def unsafe_name(name):
    lowered = name.lower()
    return lowered.startswith(UNSAFE_PREFIXES) or bool(words(name) & UNSAFE_NAME_WORDS)


class Program:
    """Source lines that make what the calls need, then the calls (expressions)."""

    def __init__(self, label, origin, imports, setup, calls, shared=None):
        self.label = label
        self.origin = origin
        self.imports = list(imports)
        self.setup = list(setup)
        self.calls = list(calls)
        self.shared = shared  # the name of the object the calls use, if any
        self.expected = None
        # False for calls whose results vary by design (random draws): only exceptions count.
        self.compare = True

    def as_dict(self):
        return {"label": self.label, "origin": self.origin, "imports": self.imports,
                "setup": self.setup, "calls": self.calls, "shared": self.shared,
                "expected": self.expected, "compare": self.compare}


def namespace(imports):
    ns = {"__name__": "ftaudit_program"}
    for name in imports:
        top = name.split(".")[0]
        ns[top] = importlib.import_module(top)
        importlib.import_module(name)
    return ns


def run_program(program, ns=None):
    """Runs setup then each call; returns the masked results ('!Type' for a raise)."""
    if ns is None:
        ns = namespace(program.imports)
        for line in program.setup:
            exec(line, ns)
    out = []
    for call in program.calls:
        try:
            out.append(masked(eval(call, ns)))
        except Exception as exc:
            out.append(f"!{type(exc).__name__}")
    return out


def interleaved(program):
    """Two copies of `program` in fresh namespaces, their calls alternating on this thread."""
    spaces = []
    for _ in range(2):
        ns = namespace(program.imports)
        for line in program.setup:
            exec(line, ns)
        spaces.append(ns)
    out = [[], []]
    for call in program.calls:
        for ns, got in zip(spaces, out):
            try:
                got.append(masked(eval(call, ns)))
            except Exception as exc:
                got.append(f"!{type(exc).__name__}")
    return out


class Runner:
    """One long-lived helper thread that makes every discovery call, so that thread-local state
    a package keeps (a per-thread tracer, a per-thread cache) carries over from call to call as
    it does on a pattern's threads; and a deadline per call (a call that never returns ends
    discovery after MAX_STALLS, see Discovery.stall)."""

    def __init__(self):
        import queue
        self.tasks = queue.Queue()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            fn, box, done = self.tasks.get()
            try:
                box["value"] = fn()
            except BaseException as exc:  # noqa: B902 - anything the package raises
                box["error"] = exc
            done.set()

    def call(self, fn, seconds=CALL_SECONDS):
        box, done = {}, threading.Event()
        self.tasks.put((fn, box, done))
        if not done.wait(seconds):
            # Slow, or stuck: a call that finishes within a grace period was only slow (it is
            # dropped, discovery goes on); one that does not is stuck, and discovery stops.
            return ("slow", None) if done.wait(SLOW_GRACE) else ("timeout", None)
        if "error" in box:
            return "error", box["error"]
        return "ok", box.get("value")


_runner = None


def bounded(fn, seconds=CALL_SECONDS):
    global _runner
    if _runner is None:
        _runner = Runner()
    return _runner.call(fn, seconds)


def unprinted(node):
    """`print(x)` as `x` (and `print(a, b)` as `(a, b)`): what a doctest prints is the result
    to compare, and a print returns None whatever it printed."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"):
        return None
    if not node.args or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    if len(node.args) == 1:
        return ast.unparse(node.args[0])
    return ast.unparse(ast.Tuple(elts=node.args, ctx=ast.Load()))


def safe_source(source, own):
    """Whether a doctest example only imports the distribution's own packages and calls nothing
    from UNSAFE_MODULES / UNSAFE_CALLS / unsafe names."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if not all(a.name.split(".")[0] in own for a in node.names):
                return False
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] not in own:
                return False
        elif isinstance(node, (ast.With, ast.AsyncWith, ast.AsyncFunctionDef, ast.Await,
                               ast.Global, ast.Nonlocal, ast.Delete, ast.While, ast.Try)):
            return False
        elif isinstance(node, ast.Name) and (node.id in UNSAFE_MODULES or node.id in UNSAFE_CALLS):
            return False
        elif isinstance(node, ast.Attribute) and (unsafe_name(node.attr) or node.attr.startswith("__")):
            return False
    return True


class Discovery:
    def __init__(self, packages, modules, deadline, exclude=(), trying=None):
        # Programs that crashed an earlier driver single-threaded: never tried again.
        self.exclude = set(exclude)
        # Called with a program's label before it runs (the parent learns which one crashed).
        self.trying = trying or (lambda label: None)
        self.own = {p.split(".")[0] for p in packages}
        self.packages = list(packages)
        self.modules = list(modules)
        self.deadline = deadline
        self.count = {k: {"found": 0, "exercised": 0, "skipped": 0} for k in ("functions", "classes", "methods")}
        self.skipped = {}
        self.examples = []
        self.stalled = []
        # Callables whose calls created files: never kept.
        self.writes = set()
        self.programs = []

    def skip(self, kind, name, reason):
        if name in self.exclude:
            reason = CRASHED
        elif name in self.writes:
            reason = "writes files (calls from several threads would share them)"
        self.count[kind]["skipped"] += 1
        self.skipped.setdefault(reason, []).append(name)

    def out_of_time(self):
        return len(self.stalled) >= MAX_STALLS or time.monotonic() > self.deadline

    def stall(self, label):
        """A call did not return: it keeps its thread, a new one takes the next calls."""
        global _runner
        self.stalled.append(label)
        _runner = None
        self.skipped.setdefault("did not return within the grace period (left behind)", []).append(label)

    def owned(self, obj):
        module = getattr(obj, "__module__", None) or ""
        return module.split(".")[0] in self.own

    def public(self):
        """(dotted path, object, import name) of every public own callable, each once. Only
        public modules are walked: the packages, and native modules with no `_` component in
        their path (a private `pkg._lib.hashtable` is reached through the package's API)."""
        seen, found = set(), []
        public_modules = [m for m in self.modules
                          if not any(part.startswith("_") for part in m.split("."))]
        for name in self.packages + public_modules + self.submodules():
            try:
                mod = importlib.import_module(name)
            except Exception as exc:
                self.skipped.setdefault(f"import failed: {type(exc).__name__}", []).append(name)
                continue
            if mod.__doc__:
                self.examples.append((name, mod.__doc__, name))
            names = getattr(mod, "__all__", None)
            if not isinstance(names, (list, tuple)):
                names = [n for n in dir(mod) if not n.startswith("_")]
            for attr in sorted(set(n for n in names if isinstance(n, str))):
                try:
                    obj = getattr(mod, attr)
                except Exception:
                    continue
                if not (inspect.isclass(obj) or callable(obj)) or inspect.ismodule(obj):
                    continue
                if id(obj) in seen or not self.owned(obj):
                    continue
                seen.add(id(obj))
                found.append((f"{name}.{attr}", obj, name))
        return found

    def submodules(self):
        """The packages' public submodules (no `_`, no test suites or GUIs), at most
        MAX_SUBMODULES: many packages keep their API there (PIL.Image)."""
        out = []
        for name in self.packages:
            try:
                package = importlib.import_module(name)
            except Exception:
                continue
            for info in pkgutil.iter_modules(getattr(package, "__path__", []) or []):
                if info.name.startswith("_") or words(info.name) & (UNSAFE_MODULE_WORDS | UNSAFE_NAME_WORDS):
                    continue
                out.append(f"{name}.{info.name}")
        return out[:MAX_SUBMODULES]

    def run(self):
        items = self.public()
        functions = [i for i in items if not inspect.isclass(i[1])]
        classes = [i for i in items if inspect.isclass(i[1])]
        # Functions and classes taken in turn, so that neither starves the other; exploring
        # stops at half of discovery's time, the doctests at three quarters: the rest is for
        # the order check, which always runs (a program it did not check is not kept).
        order = [x for pair in zip(functions, classes) for x in pair]
        order += functions[len(classes):] + classes[len(functions):]
        window = max(0.0, self.deadline - time.monotonic())
        explore_until = time.monotonic() + 0.5 * window
        doctests_until = time.monotonic() + 0.75 * window
        for path, obj, imp in order:
            kind = "classes" if inspect.isclass(obj) else "functions"
            self.count[kind]["found"] += 1
            doc = getattr(obj, "__doc__", None)
            if isinstance(doc, str) and ">>>" in doc:
                self.examples.append((path, doc, imp))
            if self.out_of_time() or time.monotonic() > explore_until:
                self.skip(kind, path, "the time budget ran out")
                continue
            short = path.rsplit(".", 1)[1]
            # A module-level set...() sets process-wide (or thread-wide) state: settrace, setlocale.
            if unsafe_name(short) or (kind == "functions" and short.lower().startswith("set")):
                self.skip(kind, path, "acts on the outside world or global configuration (by its name)")
                continue
            if kind == "classes":
                self.explore_class(path, obj, imp)
            else:
                self.explore_function(path, obj, imp)
        for path, doc, imp in self.examples:
            if self.out_of_time() or time.monotonic() > doctests_until:
                break
            self.from_doctest(path, doc, imp)
        self.keep_order_independent()
        return self.programs

    # -- arguments ------------------------------------------------------------------------------

    def argument_sets(self, obj):
        """Candidate argument lists (sources), best guesses first; None when off limits."""
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return [[]] + [[repr(c)] for c in CANDIDATES]
        required = []
        for p in sig.parameters.values():
            if p.name in ("self", "cls"):
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is not p.empty:
                continue  # never passed: an optional `out=` or `callback=` stays unset
            if p.name.lower() in UNSAFE_PARAMS:
                return None
            required.append(p)
        if len(required) > 4:
            return None
        guesses = []
        for p in required:
            options = []
            ann = p.annotation
            if isinstance(ann, str):
                ann = {"int": int, "float": float, "str": str, "bytes": bytes, "bool": bool,
                       "list": list, "tuple": tuple, "dict": dict}.get(ann.split("|")[0].strip(), ann)
            if ann in BY_ANNOTATION:
                options += BY_ANNOTATION[ann]
            for names, values in BY_NAME:
                if p.name.lower() in names:
                    options += values
            options += [c for c in CANDIDATES if c not in options]
            guesses.append(options)
        sets = []
        for k in range(len(CANDIDATES)):
            sets.append([repr(opts[min(k, len(opts) - 1)]) for opts in guesses])
        unique = []
        for s in sets:
            if s not in unique:
                unique.append(s)
        return unique[:MAX_ATTEMPTS]

    def first_working(self, make_program):
        """The first candidate program that runs twice in a row, on one thread, with the same
        results."""
        for attempt in make_program():
            if self.out_of_time():
                return None
            if attempt.label in self.exclude:
                return None
            self.trying(attempt.label)
            before = scratch_entries()
            status, runs = bounded(lambda: [run_program(attempt) for _ in range(3)])
            if scratch_entries() - before:
                # It writes files: under threads the calls would share them, a conflict of the
                # test's making, not the package's.
                self.writes.add(attempt.label)
                return None
            if status == "timeout":
                self.stall(attempt.label)
                return None
            if status != "ok" or any(r.startswith("!") for r in runs[0]):
                continue
            if runs[1] == runs[0] == runs[2]:
                attempt.expected = runs[0]
                attempt.compare = not nondeterministic(attempt) and not file_bound(attempt)
                return attempt
        return None

    def explore_function(self, path, obj, imp):
        sets = self.argument_sets(obj)
        if sets is None:
            self.skip("functions", path, "a parameter names a file, socket or callback, or too many required")
            return
        program = self.first_working(
            lambda: (Program(path, "signature", [imp], [], [f"{path}({', '.join(s)})"]) for s in sets))
        if program is None:
            self.skip("functions", path, "no generated arguments gave a repeatable call")
            return
        self.count["functions"]["exercised"] += 1
        self.programs.append(program)
        # The same call with its arguments made once and shared: one read-only input for all.
        args = sets[[f"{path}({', '.join(s)})" for s in sets].index(program.calls[0])]
        if args:
            names = [f"arg{i}" for i in range(len(args))]
            self.programs.append(Program(f"{path} (shared input)", "signature", [imp],
                                         [f"{n} = {a}" for n, a in zip(names, args)],
                                         [f"{path}({', '.join(names)})"], shared=names[0]))
            self.programs[-1].expected = program.expected
            self.programs[-1].compare = program.compare

    def explore_class(self, path, cls, imp):
        sets = self.argument_sets(cls)
        if sets is None:
            self.skip("classes", path, "a constructor parameter names a file, socket or callback")
            return
        ctor = self.first_working(
            lambda: (Program(path, "signature", [imp], [f"obj = {path}({', '.join(s)})"], ["type(obj).__name__"])
                     for s in sets))
        if ctor is None:
            self.skip("classes", path, "no generated arguments constructed it")
            return
        self.count["classes"]["exercised"] += 1
        calls = []
        found_before = self.count["methods"]["found"]
        for name in sorted(vars(cls))[:MAX_METHODS * 2]:
            if self.out_of_time() or self.count["methods"]["found"] - found_before >= MAX_METHODS:
                break
            if name.startswith("_") and name not in ("__len__", "__iter__", "__contains__", "__getitem__"):
                continue
            attr = getattr(cls, name, None)
            if not callable(attr):
                continue
            self.count["methods"]["found"] += 1
            label = f"{path}.{name}"
            doc = getattr(attr, "__doc__", None)
            if isinstance(doc, str) and ">>>" in doc:
                self.examples.append((label, doc, imp))
            if unsafe_name(name):
                self.skip("methods", label, "acts on the outside world or global configuration (by its name)")
                continue
            sets = self.argument_sets(attr)
            if sets is None:
                self.skip("methods", label, "a parameter names a file, socket or callback, or too many required")
                continue
            expr = {"__len__": "len(obj)", "__iter__": "list(obj)", "__contains__": "(3 in obj)",
                    "__getitem__": "obj[0]"}
            found = self.first_working(
                lambda: (Program(label, "signature", [imp], ctor.setup,
                                 calls + [expr.get(name, f"obj.{name}({', '.join(s)})")], shared="obj")
                         for s in ([[]] if name in expr else sets)))
            if found is None:
                self.skip("methods", label, "no generated arguments gave a repeatable call")
                continue
            self.count["methods"]["exercised"] += 1
            calls = found.calls
        if calls:
            program = Program(f"{path} methods", "signature", [imp], ctor.setup, calls, shared="obj")
            program.expected = run_program(program)
            program.compare = not nondeterministic(program) and not file_bound(program)
            self.programs.append(program)

    def from_doctest(self, path, doc, imp):
        """Each docstring's examples, run in order: assignments set up, expressions are calls."""
        try:
            examples = doctest.DocTestParser().get_examples(doc)
        except ValueError:
            return
        setup, calls, imports = [], [], [imp]
        for ex in examples:
            source = ex.source.strip()
            if not safe_source(source, self.own):
                break
            try:
                tree = ast.parse(source)
            except SyntaxError:
                break
            if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
                calls.append(unprinted(tree.body[0].value) or source)
            elif all(isinstance(n, (ast.Assign, ast.Import, ast.ImportFrom, ast.AugAssign)) for n in tree.body):
                if calls:
                    break  # state changed after calls: keep the part before
                for node in tree.body:
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        imports += [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                setup.append(source)
            else:
                break
        if not calls:
            return
        shared = None
        targets = [n.targets[0].id for s in setup for n in ast.parse(s).body
                   if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
        if targets and any(c.startswith(targets[-1] + ".") for c in calls):
            shared = targets[-1]
        candidate = Program(f"{path} (doctest)", "doctest", [i for i in imports if i], [], calls, shared)
        # A doctest runs in its module's namespace: its names are used unqualified.
        home = imp if imp in self.packages + self.modules else imp.rsplit(".", 1)[0]
        candidate.setup = [f"from {home} import *"] + setup
        program = self.first_working(lambda: iter([candidate]))
        if program is not None:
            self.programs.append(program)

    def keep_order_independent(self):
        """Runs every program again in two seeded shuffles, one after another in one process:
        a program whose results change with what ran before it depends on global state and
        cannot give a race oracle; it is dropped."""
        for seed in (1, 2):
            if len(self.stalled) >= MAX_STALLS:
                self.programs = []
                break
            order = list(self.programs)
            random.Random(seed).shuffle(order)
            for program in order:
                self.trying(program.label)
                status, got = bounded(lambda: run_program(program))
                if status == "timeout":
                    self.stall(program.label)
                    program.expected = None
                    continue
                if status != "ok" or any(r.startswith("!") for r in got):
                    program.expected = None
                elif program.compare and got != program.expected:
                    program.expected = None
            self.programs = [p for p in self.programs if p.expected is not None]
        # Two copies of a program, call by call on one thread: one that changes process-wide
        # state its copy reads (registers a name the copy registers too) fails here as it would
        # under threads with the GIL. Such a conflict is the test's making, not a race.
        for program in [p for p in self.programs if len(p.calls) > 1]:
            self.trying(program.label)
            status, pair = bounded(lambda: interleaved(program))
            if status != "ok" or any(
                    got != program.expected if program.compare else any(r.startswith("!") for r in got)
                    for got in pair):
                program.expected = None
        self.programs = [p for p in self.programs if p.expected is not None]

    def coverage(self):
        skipped = [{"reason": r, "count": len(v), "examples": v[:5]} for r, v in sorted(self.skipped.items())]
        return {"functions": self.count["functions"], "classes": self.count["classes"],
                "methods": self.count["methods"], "programs": len(self.programs),
                "doctest_programs": sum(1 for p in self.programs if p.origin == "doctest"),
                "calls": sum(len(p.calls) for p in self.programs), "skipped": skipped,
                "stalled": self.stalled[-1] if len(self.stalled) >= MAX_STALLS else None}
