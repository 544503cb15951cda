"""Which files are native code, and which of those are importable extension modules.

The same rules ftaudit's discovery documents (crates/ftaudit-discover/src/names.rs), restated
here so the benchmarks count their inputs independently of the tool they measure.
"""

import re

_IDENTIFIER = re.compile(r"^[^\W\d]\w*$")


def is_native_file_name(name):
    """`.so`, `.pyd`, `.dylib`, `.dll` and versioned shared objects (`libfoo.so.1.2`)."""
    lower = name.lower()
    return lower.endswith((".so", ".pyd", ".dylib", ".dll")) or ".so." in lower


def _is_extension_suffix(suffix):
    lower = suffix.lower()
    if lower in ("so", "pyd", "abi3.so", "abi3t.so"):
        return True
    for tag, ext in (("cpython-", ".so"), ("cp", ".pyd"), ("pypy", ".so"), ("graalpy", ".so")):
        if lower.endswith(ext):
            middle = lower[: -len(ext)]
            if middle.startswith(tag) and "." not in middle:
                return True
    return False


def module_name_for(relative_path):
    """Dotted import name of a file relative to a sys.path entry, or None if not importable."""
    parts = [p for p in relative_path.split("/") if p]
    if not parts:
        return None
    stem, dot, suffix = parts.pop().partition(".")
    if not dot or not _IDENTIFIER.match(stem) or not _is_extension_suffix(suffix):
        return None
    if not all(_IDENTIFIER.match(p) for p in parts):
        return None
    # pkg/__init__.<suffix> is the package pkg itself (mypyc compiles package __init__ modules).
    if stem == "__init__" and parts:
        return ".".join(parts)
    return ".".join(parts + [stem])
