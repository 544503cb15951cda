//! Verdicts on real PyPI wheels, read statically from the zip.
//!
//! Linux cp313t verdicts were checked against what CPython 3.13.5t itself does on import
//! (wheels installed into a venv of the provisioned interpreter, PYTHON_GIL unset, each module
//! imported with `python -v -c "import <module>"`; greenlet's test modules loaded by file path
//! because their package imports objgraph):
//!   - greenlet._greenlet, greenlet.tests._test_extension(_cpp): "# loading module '...',
//!     which requires the GIL", sys._is_gil_enabled() True after the import  -> static Used.
//!   - every other module below: no such line, sys._is_gil_enabled() stayed False. Static
//!     NotUsed modules agree; the Undeterminable ones (SetGIL in code, pybind11 3 slots built
//!     at run time) turned out to pass Py_MOD_GIL_NOT_USED, which the binary cannot show.
//!
//! The cp314t, macOS and Windows wheels cannot be imported here (no 3.14t, other platforms):
//! their expectations come from reading the binaries (slot bytes, imports) and agree with the
//! same packages' Linux builds.

mod common;

use ftaudit_model::*;

struct Expect {
    wheel: &'static str,
    member: &'static str,
    format: BinaryFormat,
    arch: Architecture,
    generator: Generator,
    generator_version: Option<&'static str>,
    init: InitStyle,
    gil: GilDeclaration,
    multi: MultiInterpDeclaration,
    /// Some(layout) when a static def must be found.
    layout: Option<DefLayout>,
    abi: (&'static str, &'static str),
}

use Architecture::{Aarch64, X86_64};
use BinaryFormat::{Elf, MachO, Pe};
use GilDeclaration::{NotUsed, Undeterminable as GilUndet, Used};
use InitStyle::{MultiPhase, SinglePhase, Undeterminable as InitUndet};
use MultiInterpDeclaration::{
    NotSupported, PerInterpreterGil, Supported, Undeterminable as MultiUndet,
};

const FT: Option<DefLayout> = Some(DefLayout::FreeThreaded);

#[rustfmt::skip]
const EXPECT: &[Expect] = &[
    // ---- linux-cp313t (checked against CPython 3.13.5t, see the module comment) ----
    Expect { wheel: "greenlet-3.2.2-cp313", member: "greenlet/_greenlet.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: SinglePhase, gil: Used, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "greenlet-3.2.2-cp313", member: "greenlet/tests/_test_extension.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: SinglePhase, gil: Used, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "markupsafe-3.0.3-cp313", member: "markupsafe/_speedups.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: MultiPhase, gil: NotUsed, multi: PerInterpreterGil, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "frozenlist-1.8.0-cp313", member: "frozenlist/_frozenlist.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Cython, generator_version: Some("3.1.4"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "pyzmq-27.1.0-cp313", member: "zmq/backend/cython/_zmq.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Cython, generator_version: Some("3.1.3"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "kiwisolver-1.5.0-cp313", member: "kiwisolver/_cext.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "numpy-2.4.6-cp313", member: "numpy/_core/_multiarray_umath.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: MultiPhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "numpy-2.4.6-cp313", member: "numpy/_core/_simd.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "numpy-2.4.6-cp313", member: "numpy/random/mtrand.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Cython, generator_version: Some("3.2.4"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "psutil-7.2.2-cp313", member: "psutil/_psutil_linux.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "contourpy-1.3.2-cp313", member: "contourpy/_contourpy.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Pybind11, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: None, abi: ("ft", "3.13") },
    Expect { wheel: "matplotlib-3.11.1-cp313", member: "matplotlib/_path.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Pybind11, generator_version: None, init: MultiPhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "onnx-1.21.0-cp313", member: "onnx/onnx_cpp2py_export.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Nanobind, generator_version: None, init: MultiPhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "pydantic_core-2.41.4-cp313", member: "pydantic_core/_pydantic_core.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Pyo3, generator_version: Some("0.26.0"), init: SinglePhase, gil: GilUndet, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "rpds_py-2026.5.1-cp313", member: "rpds/rpds.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Pyo3, generator_version: Some("0.28.3"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "sentencepiece-0.2.1-cp313", member: "sentencepiece/_sentencepiece.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Swig, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.13") },
    Expect { wheel: "pillow-12.2.0-cp313", member: "PIL/_imaging.cpython-313t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.13") },
    // ---- linux-cp314t (static reading only) ----
    Expect { wheel: "librt-0.16.0-cp314", member: "librt/base64.cpython-314t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Mypyc, generator_version: None, init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "cffi-2.1.1-cp314-cp314t-manylinux", member: "_cffi_backend.cpython-314t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Cffi, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "argon2_cffi_bindings-26.2.0-cp314", member: "_argon2_cffi_bindings/_ffi.cpython-314t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Cffi, generator_version: None, init: InitUndet, gil: GilUndet, multi: MultiUndet, layout: None, abi: ("ft", "3.14") },
    Expect { wheel: "pydantic_core-2.50.4-cp314-cp314t-manylinux", member: "pydantic_core/_pydantic_core.cpython-314t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Pyo3, generator_version: Some("0.30.1"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "pyyaml-6.0.3-cp314", member: "yaml/_yaml.cpython-314t-x86_64-linux-gnu.so", format: Elf, arch: X86_64, generator: Generator::Cython, generator_version: Some("3.1.4"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
    // ---- macos-arm64 (Mach-O, chained fixups) ----
    Expect { wheel: "markupsafe-3.0.4-cp314-cp314t-macosx", member: "markupsafe/_speedups.cpython-314t-darwin.so", format: MachO, arch: Aarch64, generator: Generator::PlainC, generator_version: None, init: MultiPhase, gil: NotUsed, multi: PerInterpreterGil, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "frozenlist-1.8.0-cp314-cp314t-macosx", member: "frozenlist/_frozenlist.cpython-314t-darwin.so", format: MachO, arch: Aarch64, generator: Generator::Cython, generator_version: Some("3.1.4"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "cffi-2.1.1-cp314-cp314t-macosx", member: "_cffi_backend.cpython-314t-darwin.so", format: MachO, arch: Aarch64, generator: Generator::Cffi, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "pydantic_core-2.50.4-cp314-cp314t-macosx", member: "pydantic_core/_pydantic_core.cpython-314t-darwin.so", format: MachO, arch: Aarch64, generator: Generator::Pyo3, generator_version: Some("0.30.1"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
    // ---- windows-amd64 (PE, DIR64 base relocations) ----
    Expect { wheel: "markupsafe-3.0.4-cp314-cp314t-win_amd64", member: "markupsafe/_speedups.cp314t-win_amd64.pyd", format: Pe, arch: X86_64, generator: Generator::PlainC, generator_version: None, init: MultiPhase, gil: NotUsed, multi: PerInterpreterGil, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "frozenlist-1.8.0-cp314-cp314t-win_amd64", member: "frozenlist/_frozenlist.cp314t-win_amd64.pyd", format: Pe, arch: X86_64, generator: Generator::Cython, generator_version: Some("3.1.4"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "cffi-2.1.1-cp314-cp314t-win_amd64", member: "_cffi_backend.cp314t-win_amd64.pyd", format: Pe, arch: X86_64, generator: Generator::Cffi, generator_version: None, init: SinglePhase, gil: NotUsed, multi: NotSupported, layout: FT, abi: ("ft", "3.14") },
    Expect { wheel: "pydantic_core-2.50.4-cp314-cp314t-win_amd64", member: "pydantic_core/_pydantic_core.cp314t-win_amd64.pyd", format: Pe, arch: X86_64, generator: Generator::Pyo3, generator_version: Some("0.30.1"), init: MultiPhase, gil: NotUsed, multi: Supported, layout: FT, abi: ("ft", "3.14") },
];

#[test]
fn verdicts_on_real_wheels() {
    let dirs = common::wheel_dirs();
    let mut failures = Vec::new();
    for e in EXPECT {
        let wheel = common::wheel(&dirs, e.wheel);
        let bytes = common::member(&wheel, e.member);
        let f = match ftaudit_static::analyze(common::base_name(e.member), &bytes) {
            Ok(f) => f,
            Err(p) => {
                failures.push(format!("{}: {p:?}", e.member));
                continue;
            }
        };
        let g = f
            .generator
            .as_ref()
            .expect("extension modules get a generator");
        let m = f.modules.first().expect("one module");
        let abi = AbiTarget::FreeThreaded {
            version: e.abi.1.into(),
        };
        let got = (
            f.format,
            f.architectures.clone(),
            f.kind,
            g.generator,
            g.version.as_deref(),
            m.init_style,
            m.gil.value,
            m.multiple_interpreters.value,
            m.def.as_ref().map(|d| d.layout),
            f.abi.conclusion.clone(),
        );
        let want = (
            e.format,
            vec![e.arch.clone()],
            FileKind::ExtensionModule,
            e.generator,
            e.generator_version,
            e.init,
            e.gil,
            e.multi,
            e.layout,
            abi,
        );
        if got != want || f.modules.len() != 1 {
            failures.push(format!(
                "{}:\n   got  {got:?}\n   want {want:?}\n   gil evidence: {}",
                e.member, m.gil.evidence
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn evidence_strings() {
    let dirs = common::wheel_dirs();
    // PE: the python DLL is part of the ABI evidence.
    let w = common::wheel(&dirs, "markupsafe-3.0.4-cp314-cp314t-win_amd64");
    let f = ftaudit_static::analyze(
        "_speedups.cp314t-win_amd64.pyd",
        &common::member(&w, "markupsafe/_speedups.cp314t-win_amd64.pyd"),
    )
    .unwrap();
    assert!(
        f.abi.binary_evidence.contains("links python314t.dll"),
        "{}",
        f.abi.binary_evidence
    );
    let m = &f.modules[0];
    let def = m.def.as_ref().unwrap();
    assert_eq!(def.m_name, "markupsafe._speedups");
    assert!(
        def.address > 0x1_8000_0000,
        "PE addresses are preferred-base VAs: {:#x}",
        def.address
    );
    assert!(
        m.gil
            .evidence
            .starts_with("Py_mod_gil slot = 1 (Py_MOD_GIL_NOT_USED) at 0x18"),
        "{}",
        m.gil.evidence
    );

    // pybind11 3: slots in .bss, filled in by PyInit; read from the stores (issue 10).
    let w = common::wheel(&dirs, "matplotlib-3.11.1-cp313");
    let f = ftaudit_static::analyze(
        "_path.cpython-313t-x86_64-linux-gnu.so",
        &common::member(&w, "matplotlib/_path.cpython-313t-x86_64-linux-gnu.so"),
    )
    .unwrap();
    let m = &f.modules[0];
    assert!(m.def.as_ref().unwrap().slots_built_at_runtime);
    assert!(
        m.gil.evidence.contains("filled in by the init code"),
        "{}",
        m.gil.evidence
    );
    let actions: Vec<&str> = m.gil.code.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        actions,
        ["store Py_mod_gil id", "store Py_mod_gil value"],
        "{:?}",
        m.gil.code
    );
    assert_eq!(m.gil.code[1].value, 1, "Py_MOD_GIL_NOT_USED");
    assert_eq!(m.gil.code[0].function, "PyInit__path");
    assert!(f
        .generator
        .as_ref()
        .unwrap()
        .evidence
        .iter()
        .any(|e| e.starts_with("__pybind11_internals_v")));

    // SetGIL modules carry what the generator is known to pass, without turning it into a verdict.
    let w = common::wheel(&dirs, "pydantic_core-2.41.4-cp313");
    let f = ftaudit_static::analyze(
        "_pydantic_core.cpython-313t-x86_64-linux-gnu.so",
        &common::member(
            &w,
            "pydantic_core/_pydantic_core.cpython-313t-x86_64-linux-gnu.so",
        ),
    )
    .unwrap();
    assert!(
        f.modules[0].gil.evidence.contains("gil_used = false"),
        "{}",
        f.modules[0].gil.evidence
    );
}

#[test]
fn every_native_member_of_every_wheel_is_read() {
    // Vendored libraries are SharedLibrary, everything named like an extension is a module.
    let dirs = common::wheel_dirs();
    let mut seen = 0;
    for d in &dirs {
        let Ok(entries) = std::fs::read_dir(d) else {
            continue;
        };
        for w in entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".whl"))
        {
            for (name, bytes) in common::native_members(&w.path()) {
                let base = common::base_name(&name);
                let f = ftaudit_static::analyze(base, &bytes)
                    .unwrap_or_else(|p| panic!("{}!{name}: {p:?}", w.path().display()));
                let is_ext_name =
                    base.contains(".cpython-") || base.contains(".cp3") || base.contains(".abi3.");
                // pycryptodome's `Crypto/**/*.abi3.so` are ctypes libraries named like
                // extensions: no PyInit_, so they are libraries, rightly.
                let ctypes_library = name.starts_with("Crypto/") && name.ends_with(".abi3.so");
                assert_eq!(
                    f.kind == FileKind::ExtensionModule,
                    is_ext_name && !ctypes_library,
                    "{name}"
                );
                for m in &f.modules {
                    assert!(
                        !m.gil.evidence.is_empty() && !m.multiple_interpreters.evidence.is_empty(),
                        "{name}"
                    );
                }
                seen += 1;
            }
        }
    }
    assert!(seen > 50, "only {seen} native files found in {dirs:?}");
}

/// Bundled libraries in wheels are identified from their first bytes only: on every native
/// member of every wheel set (ELF, Mach-O, PE; modules and libraries alike), the prefix gives
/// the same format and architectures as reading the whole file.
#[test]
fn headers_alone_give_the_format_and_architectures_of_the_whole_file() {
    let mut checked = 0;
    for dir in common::wheel_dirs() {
        let mut wheels: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        wheels.sort();
        for wheel in wheels {
            for (name, bytes) in common::native_members(&wheel) {
                let base = common::base_name(&name);
                let whole = ftaudit_static::analyze(base, &bytes)
                    .unwrap_or_else(|p| panic!("{name}: {p:?}"));
                let head = &bytes[..bytes.len().min(ftaudit_static::HEADER_BYTES)];
                let quick = ftaudit_static::identify_library(base, head, "test")
                    .unwrap_or_else(|p| panic!("{name}: {p:?}"));
                assert_eq!(
                    (quick.format, &quick.architectures),
                    (whole.format, &whole.architectures),
                    "{name}"
                );
                assert_eq!(quick.kind, FileKind::SharedLibrary);
                assert_eq!(quick.abi.from_binary, AbiTarget::Unknown);
                assert_eq!(quick.abi.binary_evidence, "symbols not read: test");
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} members checked");
}

#[test]
fn headers_that_are_cut_short_or_not_binary_are_reported() {
    let elf = b"\x7fELF\x02\x01\x01\0";
    let p = ftaudit_static::identify_library("libx.so.1", elf, "test").unwrap_err();
    assert_eq!(p.kind, FileProblemKind::Truncated, "{p:?}");
    let p = ftaudit_static::identify_library("libx.so.1", b"#!/bin/sh\n", "test").unwrap_err();
    assert_eq!(p.kind, FileProblemKind::UnknownFormat, "{p:?}");
    let mz = b"MZ\0\0";
    let p = ftaudit_static::identify_library("x.dll", mz, "test").unwrap_err();
    assert_eq!(p.kind, FileProblemKind::Truncated, "{p:?}");
}

/// The same release of a package declares the same thing on every platform, so the macOS and
/// Windows verdicts (which this machine cannot import) are checked against the Linux cp314t
/// wheels of the same versions, whose verdicts `tests/real_wheels.rs` checks against imports.
/// Several of these are read from machine code: numpy's SetGIL calls, contourpy's pybind11 slot
/// array (built in a different way by MSVC), cffi's backend.
#[test]
fn the_same_release_gets_the_same_verdicts_on_every_platform() {
    let dirs = common::wheel_dirs();
    let set = |name: &str| {
        dirs.iter()
            .find(|d| d.file_name().is_some_and(|n| n == name))
            .unwrap_or_else(|| panic!("wheel set {name} missing from {dirs:?}"))
            .clone()
    };
    let linux = set("linux-cp314t");
    let mut compared = 0;
    let mut from_code = 0;
    for other in ["macos-arm64", "macos-x86_64", "windows-amd64"] {
        for release in [
            "numpy-2.4.6-",
            "contourpy-1.4.0-",
            "cffi-2.1.1-",
            "markupsafe-3.0.4-",
            "frozenlist-1.8.0-",
        ] {
            let verdicts = |dir: &std::path::Path| -> std::collections::BTreeMap<
                String,
                (GilDeclaration, MultiInterpDeclaration),
            > {
                common::native_members(&common::wheel(&[dir.to_path_buf()], release))
                    .into_iter()
                    .filter_map(|(name, bytes)| {
                        let facts =
                            ftaudit_static::analyze(common::base_name(&name), &bytes).ok()?;
                        let m = facts.modules.first()?;
                        // numpy/_core/_multiarray_umath.cpython-314t-darwin.so -> numpy/_core/_multiarray_umath
                        let stem = name
                            .split_once('.')
                            .map_or(name.as_str(), |(s, _)| s)
                            .to_string();
                        Some((stem, (m.gil.value, m.multiple_interpreters.value)))
                    })
                    .collect()
            };
            let (want, got) = (verdicts(&linux), verdicts(&set(other)));
            for (module, linux_verdict) in &want {
                let Some(other_verdict) = got.get(module) else {
                    continue;
                };
                assert_ne!(
                    linux_verdict.0,
                    GilDeclaration::Undeterminable,
                    "{release}{module} on linux"
                );
                assert_eq!(
                    other_verdict, linux_verdict,
                    "{release}{module}: {other} against linux-cp314t"
                );
                compared += 1;
                if release.starts_with("numpy")
                    || release.starts_with("contourpy")
                    || release.starts_with("cffi")
                {
                    from_code += 1;
                }
            }
        }
    }
    assert!(
        compared >= 60 && from_code >= 30,
        "compared {compared} modules, {from_code} of numpy/contourpy/cffi"
    );
}
