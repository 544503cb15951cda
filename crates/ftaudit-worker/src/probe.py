# Runs inside the worker's embedded interpreter as module `_ftaudit_probe`. It imports only
# built-in and pure-Python stdlib modules, so it never changes what an extension import shows.
import sys
import time
import warnings
from importlib import import_module
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader

# Python/import.c, _PyImport_CheckGILForModule: written for every module that needs the GIL
# when PyConfig.verbose is on and the GIL setting is the default (3.13, 3.14).
_GIL_PREFIX = "# loading module '"
_GIL_SUFFIX = "', which requires the GIL"
# Python/import.c, import_find_extension: re-loading a cached single-phase module.
_PREVIOUSLY_LOADED = " # previously loaded ("
# Python functions that print only because PyConfig.verbose is on.
_VERBOSE_PRINTERS = {
    "_verbose_message": frozenset(
        {"_frozen_importlib", "_frozen_importlib_external", "importlib._bootstrap", "importlib._bootstrap_external"}
    ),
    "_trace": frozenset({"site"}),
}
_GIL_WARNING = "The global interpreter lock (GIL) has been enabled"
OUTPUT_LIMIT = 8192


class _BytesSink:
    """`sys.stdout.buffer` stand-in, for modules that write bytes."""

    def __init__(self, text):
        self._text = text

    def write(self, data):
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        pass


class Capture:
    """Replaces sys.stdout / sys.stderr for the whole run, so every stage's Python-level
    output is collected and importlib's verbose chatter (PyConfig.verbose is on so that
    CPython names GIL-requiring modules) never reaches the real file descriptors."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, fd):
        self._fd = fd
        self._parts = []
        self.buffer = _BytesSink(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        # These print through print(), so their frame is the caller.
        try:
            caller = sys._getframe(1)
        except ValueError:  # written from C with no Python frame on this thread
            caller = None
        if (
            caller is not None
            and caller.f_globals.get("__name__") in _VERBOSE_PRINTERS.get(caller.f_code.co_name, ())
        ):
            return len(text)
        self._parts.append(text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def fileno(self):
        return self._fd

    def take(self):
        text = "".join(self._parts)
        self._parts.clear()
        return text


stdout = Capture(1)
stderr = Capture(2)


def install_capture():
    sys.stdout = stdout
    sys.stderr = stderr


def flush_real_streams():
    """Text a module wrote to sys.__stdout__ / sys.__stderr__ must reach fd 1 / 2 before the
    next stage's marker, or the parent would attribute it to the next module."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def split_verbose(text):
    """Separates CPython's C-level verbose lines from what the module itself wrote."""
    gil_required_by = []
    kept = []
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\n")
        if bare.startswith(_GIL_PREFIX) and bare.endswith(_GIL_SUFFIX):
            name = bare[len(_GIL_PREFIX) : -len(_GIL_SUFFIX)]
            if name not in gil_required_by:
                gil_required_by.append(name)
        elif bare.startswith("import ") and _PREVIOUSLY_LOADED in bare:
            continue
        else:
            kept.append(line)
    return gil_required_by, "".join(kept)


def add_site_dirs(dirs):
    import os
    import site

    for d in dirs:
        site.addsitedir(os.fsdecode(d))
    # Text a .pth file printed is not any module's output; hand it back for the worker's stderr.
    _, text = split_verbose(stdout.take() + stderr.take())
    return text


def facts(gil_enabled_at_startup):
    import sysconfig

    return (
        sys.version.split()[0],
        sys.abiflags,
        sysconfig.get_config_var("Py_GIL_DISABLED") == 1,
        gil_enabled_at_startup,
        sysconfig.get_config_var("EXT_SUFFIX") or "",
        sys.implementation.cache_tag or "",
        sys.base_prefix,
    )


def exception_name(exc):
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_extension(module):
    spec = getattr(module, "__spec__", None)
    if isinstance(getattr(spec, "loader", None), ExtensionFileLoader):
        return True
    path = getattr(module, "__file__", None)
    return isinstance(path, str) and path.endswith(tuple(EXTENSION_SUFFIXES))


def _truncate(text):
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[:OUTPUT_LIMIT] + f"\n[... {len(text) - OUTPUT_LIMIT} more characters cut]"


def probe(name):
    """Imports `name` in the main interpreter. Returns the fields of an ImportRecord."""
    # An earlier module may have swapped sys.stdout/sys.stderr for its own objects.
    install_capture()
    already_loaded = name in sys.modules
    before = set(sys.modules)
    exc_name = exc_message = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            import_module(name)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from a module's init too
            exc_name, exc_message = exception_name(exc), str(exc)
        seconds = time.perf_counter() - start
    gil_enabled_after = sys._is_gil_enabled()
    flush_real_streams()

    gil_warning = None
    other_warnings = []
    for w in caught:
        text = str(w.message)
        if gil_warning is None and issubclass(w.category, RuntimeWarning) and text.startswith(_GIL_WARNING):
            gil_warning = text
        else:
            other_warnings.append(f"{w.filename}:{w.lineno}: {w.category.__name__}: {text}\n")

    pulled_in = sorted(
        n for n in set(sys.modules) - before if n != name and _is_extension(sys.modules.get(n))
    )
    gil_required_by, output = split_verbose(stdout.take() + stderr.take())
    output += "".join(other_warnings)
    return (
        exc_name,
        exc_message,
        gil_enabled_after,
        gil_warning,
        seconds,
        pulled_in,
        gil_required_by,
        already_loaded,
        _truncate(output) if output else None,
    )
