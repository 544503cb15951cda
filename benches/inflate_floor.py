"""The floor for a static pass over wheels: inflating the native members' bytes on one core.

Any tool that reads every extension module out of a folder of wheels has to inflate at least
these bytes, so this is the time no such tool can beat on one core. Prints one JSON line in the
format of measure.py (label, wall times) plus the counts the figures table needs.

Usage: python inflate_floor.py WHEEL_DIR --runs N [--label LABEL]
"""

import argparse
import json
import pathlib
import sys
import time
import zipfile
import zlib

from names import is_native_file_name, module_name_for


def native_members(wheel_dir):
    """(wheel path, ZipInfo, is extension module) for every native member, in a stable order."""
    found = []
    for wheel in sorted(pathlib.Path(wheel_dir).glob("*.whl")):
        try:
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    if info.is_dir() or not is_native_file_name(info.filename.rsplit("/", 1)[-1]):
                        continue
                    found.append((wheel, info, module_name_for(install_path(info.filename)) is not None))
        except (OSError, zipfile.BadZipFile) as error:
            print(f"inflate_floor: skipping {wheel}: {error}", file=sys.stderr)
    return found


def install_path(member):
    """`x-1.0.data/platlib/a/b.so` installs as `a/b.so`."""
    first, _, rest = member.partition("/")
    if first.endswith(".data"):
        for scheme in ("platlib/", "purelib/"):
            if rest.startswith(scheme):
                return rest[len(scheme):]
    return member


def raw_member(data, info):
    """The member's compressed bytes, sliced out of the whole wheel's bytes."""
    # Local header: 30 fixed bytes, then the name and extra field whose lengths sit at 26 and 28.
    start = info.header_offset
    name_len = int.from_bytes(data[start + 26:start + 28], "little")
    extra_len = int.from_bytes(data[start + 28:start + 30], "little")
    begin = start + 30 + name_len + extra_len
    return data[begin:begin + info.compress_size]


def inflate_all(chunks):
    """Inflates every chunk; returns the uncompressed byte count."""
    total = 0
    for method, raw in chunks:
        if method == zipfile.ZIP_DEFLATED:
            total += len(zlib.decompress(raw, -15))
        else:
            total += len(raw)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel_dir")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--label", default="floor: zlib inflate, 1 core")
    args = parser.parse_args()

    members = native_members(args.wheel_dir)
    if not members:
        sys.exit(f"inflate_floor: no native members in {args.wheel_dir}")
    # The compressed bytes are read up front: the floor is the inflate, not the disk.
    by_wheel = {}
    for wheel, info, is_module in members:
        by_wheel.setdefault(wheel, []).append((info, is_module))
    modules, everything = [], []
    compressed = {"modules": 0, "all": 0}
    for wheel, infos in by_wheel.items():
        data = wheel.read_bytes()
        for info, is_module in infos:
            chunk = (info.compress_type, raw_member(data, info))
            everything.append(chunk)
            compressed["all"] += info.compress_size
            if is_module:
                modules.append(chunk)
                compressed["modules"] += info.compress_size

    records = []
    for label, chunks, key in (
        (args.label + ", extension modules", modules, "modules"),
        (args.label + ", all native files", everything, "all"),
    ):
        times = []
        size = 0
        for _ in range(args.runs):
            start = time.perf_counter()
            size = inflate_all(chunks)
            times.append(time.perf_counter() - start)
        records.append({
            "label": label,
            "wall": times,
            "cpu": times,
            "status": "ok",
            "extra": {
                "files": len(chunks),
                "compressed_mb": compressed[key] / 1e6,
                "uncompressed_mb": size / 1e6,
            },
        })
    for record in records:
        print(json.dumps(record))


if __name__ == "__main__":
    main()
