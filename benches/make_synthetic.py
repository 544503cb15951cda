"""Makes the synthetic site-packages folder that benches/scale.sh scans (standard library only).

  make_synthetic.py --source SITE_PACKAGES --out DIR --files N --native M [--dists D] [--copy]

DIR/lib/pythonX.Y[t]/site-packages/ gets exactly N files, M of them native, in D distributions
(default: one per 333 files, so a 100,000-file tree has 300). Each distribution is a package folder
with nested subpackages (an `__init__.py` in each) of `.py`, `.pyi` and data files, and a
`*.dist-info/` holding METADATA, WHEEL, INSTALLER, top_level.txt and a RECORD that lists every one
of its files with its sha256 and size, as pip writes it.

The native files are hard links (--copy: copies) of the real extension modules and bundled
libraries found in SITE_PACKAGES, taken in an order that spreads over their sizes (the largest
first, then a bit-reversed walk over the size ranking, so any prefix is a spread) and reused in
turn when M exceeds their number. A file keeps its own name, so its module init function still
matches; what makes every module name distinct is the package it is placed under
(`synth_pkg_0042/<subpackage>/_multiarray_umath.cpython-314t-x86_64-linux-gnu.so` is
`synth_pkg_0042.<subpackage>._multiarray_umath`). Files that are not importable by name in the
source (bundled libraries: `numpy.libs/libscipy_openblas...so`, `libarrow.so.2400`) go to the
distribution's `synth_pkg_0042.libs/` folder, as auditwheel places them, so they stay libraries.

The folder is remade only when the stamp changes: this script's own text, the parameters and the
list of source native files (path, size, mtime). Prints the site-packages path on its last line;
DIR/facts.json holds the counts and sizes that scale.sh reports.
"""

import argparse
import base64
import hashlib
import json
import math
import os
import random
import shutil
import sys

NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
WORDS = (
    "core utils io api backends plugins compat internal tests io_helpers parsers formats models "
    "config cli data types schema render tools ext net http async cache storage linalg stats "
    "signal image text codecs compression crypto graph tree sparse fft random testing typing"
).split()
DATA_EXTS = (".json", ".txt", ".csv", ".dat", ".png", ".toml", ".html")


# ---- ftaudit's file-name rules (crates/ftaudit-discover/src/names.rs), for classifying sources

def is_native_file_name(name):
    lower = name.lower()
    return lower.endswith(NATIVE_SUFFIXES) or ".so." in lower


def is_identifier(s):
    return bool(s) and (s[0] == "_" or s[0].isalpha()) and all(c == "_" or c.isalnum() for c in s)


def is_extension_suffix(suffix):
    lower = suffix.lower()
    if lower in ("so", "pyd", "abi3.so", "abi3t.so"):
        return True

    def tagged(tag, ext):
        if not lower.endswith(ext):
            return False
        t = lower[: -len(ext)]
        return t.startswith(tag) and "." not in t

    return tagged("cpython-", ".so") or tagged("cp", ".pyd") or tagged("pypy", ".so") or tagged("graalpy", ".so")


def module_name_for(relative_path):
    parts = [p for p in relative_path.split("/") if p]
    if not parts:
        return None
    file = parts.pop()
    stem, dot, suffix = file.partition(".")
    if not dot or not is_identifier(stem) or not is_extension_suffix(suffix):
        return None
    if not all(is_identifier(p) for p in parts):
        return None
    if stem != "__init__" or not parts:
        parts.append(stem)
    return ".".join(parts)


# ---- the source set

def source_natives(root):
    """Every native file under root as ftaudit's walk finds them: regular files (no symbolic
    links), `__pycache__` skipped. Returns [(relative path, size, mtime_ns)]."""
    found = []
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False) and is_native_file_name(entry.name):
                    st = entry.stat(follow_symlinks=False)
                    found.append((os.path.relpath(entry.path, root).replace(os.sep, "/"), st.st_size, st.st_mtime_ns))
    return found


def spread_order(n):
    """Indices 0..n-1 of a list sorted largest first, in bit-reversed order: 0 (the largest)
    first, and every prefix spread evenly over the ranking."""
    if n == 0:
        return []
    bits = max(1, (n - 1).bit_length())
    order = []
    for i in range(1 << bits):
        j = int(format(i, f"0{bits}b")[::-1], 2)
        if j < n:
            order.append(j)
    return order


# ---- writing

class Writer:
    def __init__(self, site, link):
        self.site = site
        self.link = link
        self.files = 0
        self.pure_bytes = 0
        self.hashes = {}

    def record_hash(self, data):
        digest = hashlib.sha256(data).digest()
        return "sha256=" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def write(self, rel, data):
        path = os.path.join(self.site, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.files += 1
        self.pure_bytes += len(data)
        return f"{rel},{self.record_hash(data)},{len(data)}"

    def place_native(self, rel, source_path, size):
        path = os.path.join(self.site, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if self.link == "hard":
            os.link(source_path, path)
        else:
            shutil.copyfile(source_path, path)
        self.files += 1
        if source_path not in self.hashes:
            h = hashlib.sha256()
            with open(source_path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            self.hashes[source_path] = "sha256=" + base64.urlsafe_b64encode(h.digest()).decode().rstrip("=")
        return f"{rel},{self.hashes[source_path]},{size}"


def corpus():
    """About 64 KB of Python-looking text that file contents are sliced from."""
    rng = random.Random(1)
    lines = []
    size = 0
    while size < 65536:
        name = "_".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
        kind = rng.random()
        if kind < 0.15:
            line = f"\ndef {name}(self, value, *, strict=False):\n    \"\"\"Return the {name} of value.\"\"\"\n"
        elif kind < 0.25:
            line = f"\nclass {name.title().replace('_', '')}:\n    __slots__ = ('{name}',)\n"
        elif kind < 0.35:
            line = f"from .{rng.choice(WORDS)} import {name}\n"
        else:
            line = f"    {name} = {rng.choice(WORDS)}.{name}({rng.randint(0, 999)})  # {rng.choice(WORDS)}\n"
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()


def log_uniform(rng, low, high):
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def make_distribution(w, d, pure_count, natives, text, pyver_tag, rng):
    """One distribution: pure_count package files (at least one __init__.py), the given native
    files [(source relative path, source absolute path, size, module?)], five dist-info files."""
    top = f"synth_pkg_{d:04d}"
    version = f"{1 + d % 7}.{d % 13}.{d % 5}"
    rows = []
    # Package folders: about 12 files a folder, nested up to 4 below the top package.
    n_folders = max(1, min(pure_count, round(pure_count / 12)))
    folders = [(top, 0)]
    names_in = {top: set()}
    while len(folders) < n_folders:
        parent, depth = rng.choice([f for f in folders if f[1] < 4])
        name = rng.choice(WORDS)
        while name in names_in[parent]:
            name = f"{rng.choice(WORDS)}{rng.randint(2, 99)}"
        names_in[parent].add(name)
        child = f"{parent}/{name}"
        names_in[child] = set()
        folders.append((child, depth + 1))
    used = {folder: set() for folder, _ in folders}
    for folder, _ in folders:
        rows.append(w.write(f"{folder}/__init__.py", b'"""Synthetic package for benches/scale.sh."""\n'))
        used[folder].add("__init__.py")
    for k in range(pure_count - len(folders)):
        folder = rng.choice(folders)[0]
        roll = rng.random()
        if roll < 0.65:
            ext, size = ".py", log_uniform(rng, 200, 12000)
        elif roll < 0.75:
            ext, size = ".pyi", log_uniform(rng, 100, 4000)
        else:
            ext, size = rng.choice(DATA_EXTS), log_uniform(rng, 100, 30000)
        name = f"{rng.choice(WORDS)}_{k}{ext}"
        used[folder].add(name)
        start = rng.randrange(len(text))
        if ext == ".png":
            data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)
        else:
            body = (text[start:] + text)[:size]
            data = f"# {folder}/{name}\n".encode() + body
        rows.append(w.write(f"{folder}/{name}", data))
    libs = f"{top}.libs"
    used[libs] = set()
    extensions = libraries = 0
    for i, (src_rel, src_path, size, is_module) in natives:
        name = src_rel.rsplit("/", 1)[-1]
        if is_module:
            extensions += 1
            candidates = [f for f, _ in folders]
            rng.shuffle(candidates)
            folder = next((f for f in candidates if name not in used[f]), f"{top}/_copy{i}")
        else:
            libraries += 1
            folder = libs if name not in used[libs] else f"{libs}/c{i}"
        used.setdefault(folder, set()).add(name)
        rows.append(w.place_native(f"{folder}/{name}", src_path, size))

    dist_info = f"{top}-{version}.dist-info"
    description = (text[: 500 + (d * 37) % 3000]).decode()
    metadata = (
        f"Metadata-Version: 2.1\nName: synth-pkg-{d:04d}\nVersion: {version}\n"
        f"Summary: synthetic distribution {d} for benches/scale.sh\n"
        "License: MIT\nRequires-Python: >=3.13\n"
        "Classifier: Programming Language :: Python :: 3\n"
        + ("Classifier: Programming Language :: Python :: Free Threading :: 2 - Beta\n" if d % 3 == 0 else "")
        + f"Requires-Dist: synth-pkg-{(d + 1) % 1000:04d}\n\n{description}\n"
    ).encode()
    wheel = (
        "Wheel-Version: 1.0\nGenerator: benches/make_synthetic.py\n"
        f"Root-Is-Purelib: {'false' if natives else 'true'}\n"
        f"Tag: {pyver_tag}-manylinux_2_17_x86_64\nTag: {pyver_tag}-manylinux2014_x86_64\n"
    ).encode()
    rows.append(w.write(f"{dist_info}/METADATA", metadata))
    rows.append(w.write(f"{dist_info}/WHEEL", wheel))
    rows.append(w.write(f"{dist_info}/INSTALLER", b"pip\n"))
    rows.append(w.write(f"{dist_info}/top_level.txt", f"{top}\n".encode()))
    rows.append(f"{dist_info}/RECORD,,")
    record = ("\n".join(rows) + "\n").encode()
    path = os.path.join(w.site, dist_info, "RECORD")
    with open(path, "wb") as f:
        f.write(record)
    w.files += 1
    w.pure_bytes += len(record)
    return len(folders) + (1 if libraries else 0), extensions, libraries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="a real site-packages folder to take native files from")
    parser.add_argument("--out", required=True)
    parser.add_argument("--files", type=int, required=True)
    parser.add_argument("--native", type=int, required=True)
    parser.add_argument("--dists", type=int)
    parser.add_argument("--copy", action="store_true", help="copy the native files instead of hard-linking them")
    args = parser.parse_args()
    dists = args.dists or max(1, round(args.files / 333))
    if args.files < args.native + 6 * dists:
        parser.error(f"{args.files} files cannot hold {args.native} native ones and {dists} distributions "
                     "(each needs five dist-info files and an __init__.py)")

    source = os.path.realpath(args.source)
    listing = sorted(source_natives(source), key=lambda t: (-t[1], t[0]))
    if args.native and not listing:
        sys.exit(f"make_synthetic.py: no native files under {source}")
    lib_dir = os.path.basename(os.path.dirname(source))
    pyver = lib_dir if lib_dir.startswith("python") else "python3.14t"
    digits = pyver[len("python"):].rstrip("t").replace(".", "")
    pyver_tag = f"cp{digits}-cp{digits}{'t' if pyver.endswith('t') else ''}"
    link = "copy" if args.copy else "hard"

    with open(__file__, "rb") as f:
        own = f.read()
    params = {"files": args.files, "native": args.native, "dists": dists, "link": link, "source": source}
    stamp = hashlib.sha256(own + json.dumps(params, sort_keys=True).encode()
                           + json.dumps(listing).encode()).hexdigest()[:16]
    out = os.path.abspath(args.out)
    site = os.path.join(out, "lib", pyver, "site-packages")
    try:
        with open(os.path.join(out, ".stamp")) as f:
            if f.read().strip() == stamp and os.path.isdir(site):
                print(f"[make_synthetic] up to date: {out}", file=sys.stderr)
                print(site)
                return
    except OSError:
        pass

    print(f"[make_synthetic] writing {args.files} files ({args.native} native, {dists} distributions) "
          f"into {out}", file=sys.stderr)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp_site = os.path.join(tmp, "lib", pyver, "site-packages")
    os.makedirs(tmp_site)
    w = Writer(tmp_site, link)
    text = corpus()

    order = spread_order(len(listing))
    chosen = []  # (index, (source rel, source abs, size, is module))
    for i in range(args.native):
        rel, size, _ = listing[order[i % len(order)]]
        chosen.append((i, (rel, os.path.join(source, rel), size, module_name_for(rel) is not None)))
    per_dist = [[] for _ in range(dists)]
    for i, item in chosen:
        per_dist[i % dists].append((i, item))
    pure_total = args.files - args.native - 5 * dists
    folders = extensions = libraries = 0
    for d in range(dists):
        pure = pure_total // dists + (1 if d < pure_total % dists else 0)
        f, e, l = make_distribution(w, d, pure, per_dist[d], text, pyver_tag, random.Random(d))
        folders += f
        extensions += e
        libraries += l
    if w.files != args.files:
        sys.exit(f"make_synthetic.py: wrote {w.files} files, expected {args.files}")

    sizes = sorted((item[2] for _, item in chosen), reverse=True)
    largest = max(chosen, key=lambda c: c[1][2])[1] if chosen else None
    distinct = {item[1] for _, item in chosen}
    facts = {
        "stamp": stamp,
        "files": args.files,
        "native": args.native,
        "extension_modules": extensions,
        "bundled_libraries": libraries,
        "distributions": dists,
        "package_folders": folders,
        "native_bytes": sum(sizes),
        "native_bytes_distinct": sum(os.path.getsize(p) for p in distinct),
        "distinct_sources": len(distinct),
        "largest_bytes": sizes[0] if sizes else 0,
        "largest_source": largest[0] if largest else None,
        "largest_4_bytes": sizes[:4],
        "pure_bytes": w.pure_bytes,
        "link": link,
        "source": source,
        "source_natives": len(listing),
    }
    with open(os.path.join(tmp, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
    with open(os.path.join(tmp, ".stamp"), "w") as f:
        f.write(stamp + "\n")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"[make_synthetic] {args.files} files, {args.native} native ({extensions} extension modules, "
          f"{libraries} bundled libraries, {sum(sizes) / 1e6:.0f} MB as listed, {len(distinct)} distinct "
          f"sources), {dists} distributions, {folders} package folders", file=sys.stderr)
    print(os.path.join(out, "lib", pyver, "site-packages"))


if __name__ == "__main__":
    main()
