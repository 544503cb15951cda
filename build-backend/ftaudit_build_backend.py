"""The PEP 517 backend of the ftaudit wheel: maturin, plus the probe's worker libraries.

maturin packages the `ftaudit` binary (its `bin` bindings). What the probe runs is not part of
that crate: `ftaudit-embed` (crates/ftaudit-embed) and the `ftaudit-worker` library built once per
CPython ABI (crates/ftaudit-worker/abis) from a pyo3 configuration file, with no libpython linked
and no interpreter needed. This backend builds them first, with the same target and toolchain
maturin will use, and stages them as wheel data: `<prefix>/lib/ftaudit/`, beside the `bin` folder
`ftaudit` goes to, where ftaudit looks, and off the user's PATH. Every other hook is maturin's own.

Cross builds and manylinux tags are asked the way maturin is asked: MATURIN_PEP517_ARGS or the
`build-args` config setting, e.g. `--zig --compatibility manylinux2014 --target
aarch64-unknown-linux-gnu` (scripts/build-wheels.sh). With `--zig`, the workers are linked by
cargo-zigbuild against the same old glibc.
"""

import os
import shutil
import subprocess
from pathlib import Path

import maturin
from maturin import (  # noqa: F401  (re-exported PEP 517 hooks)
    build_sdist,
    get_requires_for_build_sdist,
)

ROOT = Path(__file__).resolve().parent.parent
# [tool.maturin] data: maturin copies data/ into the wheel's .data/data/.
STAGE = ROOT / "target" / "wheel-data"
# glibc 2.17: manylinux2014, the floor of every CI runner in use.
ZIG_GLIBC = "2.17"


def _args(config_settings):
    return maturin.get_maturin_pep517_args(config_settings)


def _target(args):
    for i, arg in enumerate(args):
        if arg == "--target" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None


def get_requires_for_build_wheel(config_settings=None):
    requires = list(maturin.get_requires_for_build_wheel(config_settings))
    if "--zig" in _args(config_settings):
        requires += ["ziglang", "cargo-zigbuild"]
    return requires


def abis():
    lines = (ROOT / "crates" / "ftaudit-worker" / "abis").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _cargo(args, package, target_dir, extra_env=None):
    """`cargo build --release -p PACKAGE` for maturin's target (cargo-zigbuild with `--zig`),
    symbols stripped; returns the folder the artefacts land in."""
    target = _target(args)
    zig = "--zig" in args
    env = dict(os.environ)
    env.update(
        CARGO_TARGET_DIR=str(target_dir),
        CARGO_PROFILE_RELEASE_STRIP="symbols",
        CARGO_PROFILE_RELEASE_DEBUG="0",
        **(extra_env or {}),
    )
    command = ["cargo", "zigbuild" if zig else "build", "--release", "-p", package]
    triple = target
    if zig:
        triple = target or _host_triple()
        command += ["--target", f"{triple}.{ZIG_GLIBC}"]
    elif target:
        command += ["--target", target]
    print(f"ftaudit-build: {' '.join(command)}", flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return target_dir / (triple or "") / "release"


def build_workers(args):
    """Builds ftaudit-embed and one worker per ABI into the staging folder."""
    out = STAGE / "data" / "lib" / "ftaudit"
    shutil.rmtree(STAGE, ignore_errors=True)
    out.mkdir(parents=True)
    built = _cargo(args, "ftaudit-embed", ROOT / "target" / "embed")
    shutil.copy2(built / "ftaudit-embed", out / "ftaudit-embed")
    for abi in abis():
        target_dir = ROOT / "target" / f"worker-{abi}"
        config = target_dir / "pyo3-config.txt"
        subprocess.run(
            [str(ROOT / "scripts" / "lib" / "worker-pyo3-config.sh"), abi, str(config)],
            check=True,
        )
        built = _cargo(args, "ftaudit-worker", target_dir, {"PYO3_CONFIG_FILE": str(config)})
        shutil.copy2(built / "libftaudit_worker.so", out / f"ftaudit-worker-{abi}.so")


def _host_triple():
    output = subprocess.run(
        ["rustc", "-vV"], check=True, capture_output=True, text=True
    ).stdout
    for line in output.splitlines():
        if line.startswith("host: "):
            return line.split(": ", 1)[1].strip()
    raise RuntimeError("rustc -vV names no host triple")


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    # maturin checks that the data folder exists before it writes any metadata.
    (STAGE / "data").mkdir(parents=True, exist_ok=True)
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    build_workers(_args(config_settings))
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    build_workers(_args(config_settings))
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)
