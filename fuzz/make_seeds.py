#!/usr/bin/env python3
"""Writes the raw seeds the committed corpora were minimised from (see README.md).

    python3 fuzz/make_seeds.py OUT_DIR

Reads the real wheel sets cached by scripts/fetch-wheels.sh under ~/.cache/ftaudit/wheels/ and
the fixtures built by scripts/build-fixtures.sh under ~/.cache/ftaudit/fixtures/, and writes
OUT_DIR/{static_analyze,wheel,metadata}/. Sources that are missing are skipped. The
worker_protocol seeds are recorded from a real worker instead: see record_worker_seeds.sh.
Only the standard library is used.
"""

import hashlib
import io
import os
import struct
import sys
import zipfile
from pathlib import Path

CACHE = Path(os.environ.get("FTAUDIT_CACHE", Path.home() / ".cache" / "ftaudit"))
WHEELS = CACHE / "wheels"
STATIC_MAX = 64 * 1024  # -max_len of static_analyze, the name byte included
WHEEL_MAX = 256 * 1024  # -max_len of wheel
TEXT_MAX = 16 * 1024

# Index of the file name static_analyze uses for a seed (its NAMES table).
LINUX_314T, LINUX_313T, LINUX_314, ABI3, DARWIN, WIN_PYD, LIBSO, LIBSO_VER, DLL, DYLIB = range(10)


def out(kind, name, data):
    folder = OUT / kind
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    (folder / f"{name}-{digest}").write_bytes(data)


def static_seed(name, pick, data):
    out("static_analyze", name, bytes([pick]) + data[: STATIC_MAX - 1])


def member(wheel_glob, member_suffix):
    for wheel in sorted(WHEELS.glob(wheel_glob)):
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                if info.filename.endswith(member_suffix):
                    return z.read(info)
    return None


def fat(slices, fat64=False):
    """A universal Mach-O file holding `slices` [(cputype, cpusubtype, bytes)], 4 KiB aligned."""
    align = 12
    up = lambda n: n + (-n % (1 << align))  # noqa: E731
    header_len = 8 + len(slices) * (32 if fat64 else 20)
    head = struct.pack(">II", 0xCAFEBABF if fat64 else 0xCAFEBABE, len(slices))
    offsets, offset = [], up(header_len)
    for _, _, data in slices:
        offsets.append(offset)
        offset = up(offset + len(data))
    for (cputype, subtype, data), offset in zip(slices, offsets):
        if fat64:
            head += struct.pack(">IIQQII", cputype, subtype, offset, len(data), align, 0)
        else:
            head += struct.pack(">IIIII", cputype, subtype, offset, len(data), align)
    image = bytearray(head)
    for (_, _, data), offset in zip(slices, offsets):
        image += b"\0" * (offset - len(image)) + data
    return bytes(image)


def static_seeds():
    fixtures = CACHE / "fixtures"
    for interp, pick in [("cpython-314t", LINUX_314T), ("cpython-313t", LINUX_313T)]:
        site = next(fixtures.glob(f"{interp}/venv/lib/python*/site-packages"), None)
        if site is None:
            continue
        for so in sorted(site.rglob("*.so")):
            if interp == "cpython-313t" and "gil" not in so.name:
                continue  # the 3.13t builds differ from the 3.14t ones mostly in the suffix
            p = pick
            if so.name.startswith("lib"):
                p = LIBSO
            elif ".cpython-314-" in so.name or ".cpython-313-" in so.name:
                p = LINUX_314
            static_seed(f"fixture-{interp}-{so.name.split('.')[0]}", p, so.read_bytes())

    linux = [
        # (wheel glob, member suffix, pick): small whole files of every generator seen, then
        # heads of larger ones (their section headers and symbols are cut off).
        ("linux-cp314t/markupsafe-*.whl", "_speedups.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/mypy-*.whl", "mypy/__init__.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/mypy-*.whl", "mypyc/ir/ops.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/pycryptodome-*.whl", "Crypto/Cipher/_raw_ecb.abi3.so", ABI3),
        ("linux-cp314t/scipy-*.whl", "scipy/_lib/_fpumode.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/scikit_learn-*.whl", "sklearn/utils/_heap.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/numpy-*.whl", "_core/_operand_flag_tests.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/rapidfuzz-*.whl", "_feature_detector_cpp.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/pillow-*.whl", "libXau-00ec42fe.so.6.0.0", LIBSO_VER),
        ("linux-cp314t/librt-*.whl", "librt/time.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/greenlet-*.whl", "_test_extension.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/pandas-*.whl", "pandas_datetime.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/argon2_cffi_bindings-*.whl", "_ffi.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp313t/markupsafe-*.whl", "_speedups.cpython-313t-x86_64-linux-gnu.so", LINUX_313T),
        ("linux-cp314t/frozenlist-*.whl", "_frozenlist.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/pydantic_core-*.whl", "_pydantic_core.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        ("linux-cp314t/msgpack-*.whl", "_cmsgpack.cpython-314t-x86_64-linux-gnu.so", LINUX_314T),
        # macOS: thin arm64 files (the one under 64 KiB whole).
        ("macos-arm64/markupsafe-*.whl", "_speedups.cpython-314t-darwin.so", DARWIN),
        ("macos-arm64/frozenlist-*.whl", "_frozenlist.cpython-314t-darwin.so", DARWIN),
        ("macos-arm64/cffi-*.whl", "_cffi_backend.cpython-314t-darwin.so", DARWIN),
        # Windows: PE32+.
        ("windows-amd64/markupsafe-*.whl", "_speedups.cp314t-win_amd64.pyd", WIN_PYD),
        ("windows-amd64/frozenlist-*.whl", "_frozenlist.cp314t-win_amd64.pyd", WIN_PYD),
        ("windows-amd64/cffi-*.whl", "_cffi_backend.cp314t-win_amd64.pyd", WIN_PYD),
    ]
    for glob, suffix, pick in linux:
        data = member(glob, suffix)
        if data is not None:
            static_seed(suffix.rsplit("/", 1)[-1].split(".")[0], pick, data)

    # Universal files: none of the cached wheels has one, so wrap the arm64 markupsafe module
    # (whole) with a second slice that is only the head of another file.
    speedups = member("macos-arm64/markupsafe-*.whl", "_speedups.cpython-314t-darwin.so")
    other = member("macos-arm64/frozenlist-*.whl", "_frozenlist.cpython-314t-darwin.so")
    if speedups and other:
        x86_head = bytearray(other[:2048])
        x86_head[4:8] = struct.pack("<I", 0x01000007)  # CPU_TYPE_X86_64
        arm64 = (0x0100000C, 0, speedups)
        x86 = (0x01000007, 3, bytes(x86_head))
        static_seed("fat32-arm64-x86_64", DARWIN, fat([arm64, x86]))
        static_seed("fat64-x86_64-arm64", DARWIN, fat([x86, arm64], fat64=True))
        static_seed("fat32-one-slice", DARWIN, fat([arm64]))
    # Not binaries at all, and cut-off headers.
    static_seed("text", LINUX_314T, b"#!/bin/sh\necho not an extension\n")
    static_seed("elf-head", LIBSO, b"\x7fELF\x02\x01\x01" + b"\0" * 9)
    static_seed("mz-head", DLL, b"MZ" + b"\0" * 58 + struct.pack("<I", 64) + b"PE\0\0")


def wheel_seeds():
    small = [
        "linux-cp314t/markupsafe-*.whl",
        "linux-cp313t/markupsafe-*.whl",
        "linux-cp314t/argon2_cffi_bindings-*.whl",
        "linux-cp314t/setproctitle-*.whl",
        "linux-cp314t/ujson-*.whl",
        "linux-cp314t/propcache-*.whl",
        "linux-cp314t/mypy_extensions-*.whl",
        "linux-cp314t/cycler-*.whl",
        "macos-arm64/markupsafe-*.whl",
        "macos-arm64/frozenlist-*.whl",
        "windows-amd64/markupsafe-*.whl",
        "windows-amd64/frozenlist-*.whl",
    ]
    for glob in small:
        for wheel in sorted(WHEELS.glob(glob))[:1]:
            data = wheel.read_bytes()
            if len(data) <= WHEEL_MAX:
                out("wheel", wheel.name.split("-")[0] + "-" + wheel.parent.name, data)

    # A made-up wheel with what the real ones rarely combine: stored and deflated members,
    # .data/platlib, a bundled library, a package __init__ module, a dist-info with a
    # classifier, and a member bigger than HEADER_BYTES (so read_head stops inside it).
    site = next((CACHE / "fixtures").glob("cpython-314t/venv/lib/python*/site-packages"), None)
    if site is None:
        return
    so = lambda n: (site / n).read_bytes()  # noqa: E731
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(
            "ftfix-1.0.dist-info/METADATA",
            "Metadata-Version: 2.4\nName: ftfix\nVersion: 1.0\n"
            "Classifier: Programming Language :: Python :: Free Threading :: 3 - Stable\n\nbody\n",
            zipfile.ZIP_DEFLATED,
        )
        z.writestr(
            "ftfix-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp314-cp314t-linux_x86_64\n",
        )
        z.writestr(
            "ftfix_pkg/_gil_free.cpython-314t-x86_64-linux-gnu.so",
            so("ftfix_pkg/_gil_free.cpython-314t-x86_64-linux-gnu.so"),
            zipfile.ZIP_STORED,
        )
        z.writestr(
            "ftfix-1.0.data/platlib/ftfix_mp_gil_used.cpython-314t-x86_64-linux-gnu.so",
            so("ftfix_mp_gil_used.cpython-314t-x86_64-linux-gnu.so"),
            zipfile.ZIP_DEFLATED,
        )
        big = so("libftfix_helper.so")
        big = big + b"\0" * (70 * 1024 - len(big))
        z.writestr("ftfix.libs/libftfix_helper-0123abcd.so.1", big, zipfile.ZIP_DEFLATED)
        z.writestr("ftfix.libs/libstored-0123abcd.so.1", big, zipfile.ZIP_STORED)
        z.writestr("ftfix-1.0.dist-info/RECORD", "ftfix-1.0.dist-info/RECORD,,\n")
    out("wheel", "made-up-ftfix", buf.getvalue())

    # A wheel with no dist-info, and one that is only a central directory.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.cpython-314t-x86_64-linux-gnu.so", so("ftfix_sp_plain.cpython-314t-x86_64-linux-gnu.so"), zipfile.ZIP_DEFLATED)
    out("wheel", "no-dist-info", buf.getvalue())
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    out("wheel", "empty", buf.getvalue())


def metadata_seeds():
    picked = [
        "linux-cp314t/markupsafe-*.whl",
        "linux-cp314t/numpy-*.whl",
        "linux-cp314t/scipy-*.whl",
        "linux-cp314t/pydantic_core-*.whl",
        "linux-cp314t/cffi-*.whl",
        "linux-cp314t/mypy_extensions-*.whl",
        "linux-cp313t/psutil-*.whl",
        "macos-arm64/frozenlist-*.whl",
        "windows-amd64/cffi-*.whl",
    ]
    for glob in picked:
        for wheel in sorted(WHEELS.glob(glob))[:1]:
            with zipfile.ZipFile(wheel) as z:
                for info in z.infolist():
                    base = info.filename.rsplit("/", 1)[-1]
                    if ".dist-info/" in info.filename and base in ("METADATA", "WHEEL", "RECORD"):
                        data = z.read(info)
                        if base == "METADATA":
                            # The header block is what is read; keep a little of the body.
                            end = data.find(b"\n\n")
                            data = data[: (end + 200 if end >= 0 else TEXT_MAX)]
                        out("metadata", f"{wheel.name.split('-')[0]}-{base}", data[:TEXT_MAX])
    for site in (CACHE / "fixtures").glob("*/venv/lib/python*/site-packages"):
        for dist in sorted(site.glob("*.dist-info")):
            for base in ("METADATA", "WHEEL", "RECORD"):
                if (dist / base).is_file():
                    out("metadata", f"fixture-{dist.name}-{base}", (dist / base).read_bytes()[:TEXT_MAX])
        break
    for name in ["numpy-2.3.1.dist-info", "odd-name-1.0-rc1.dist-info", "noversion.dist-info"]:
        out("metadata", "dir-name", name.encode())
    out("metadata", "record-quoted", b'a/b.so,sha256=x,10\n"odd,name.so",,\n,,\nx\\y.pyd,,\n"unterminated\n')


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    OUT = Path(sys.argv[1])
    static_seeds()
    wheel_seeds()
    metadata_seeds()
    for kind in sorted(os.listdir(OUT)):
        files = list((OUT / kind).iterdir())
        print(f"{kind}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
