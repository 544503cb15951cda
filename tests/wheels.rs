//! Scanning real wheels from PyPI in place: exit statuses and per-platform reading.

mod support;

use std::path::PathBuf;

use ftaudit_model::{Architecture, BinaryFormat, FileKind, GilDeclaration, TargetKind};
use support::*;

fn wheel(set: &str, prefix: &str) -> PathBuf {
    let dir = wheel_sets_dir().join(set);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/fetch-wheels.sh --all)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no {prefix}* wheel in {}", dir.display()))
}

#[test]
fn a_wheel_whose_modules_declare_gil_freedom_exits_clean() {
    let (code, report) = scan_json(&[], &wheel("linux-cp313t", "markupsafe-"));
    assert_eq!(report.target.kind, TargetKind::Wheel);
    assert!(report.stages.dynamic.is_none(), "wheels are not imported");
    let speedups = file(&report, "markupsafe._speedups");
    assert!(
        speedups.location.contains(".whl!markupsafe/"),
        "{}",
        speedups.location
    );
    assert_eq!(
        speedups.static_facts.as_ref().unwrap().modules[0].gil.value,
        GilDeclaration::NotUsed
    );
    assert_eq!(report.summary.errors, 0, "{:?}", speedups.findings);
    assert_eq!(code, 0);
}

/// greenlet 3.2.2's single-phase modules do not call PyUnstable_Module_SetGIL: CPython 3.13t
/// prints "# loading module 'greenlet._greenlet', which requires the GIL" for them.
#[test]
fn a_wheel_with_a_module_that_needs_the_gil_exits_with_findings() {
    let (code, report) = scan_json(&[], &wheel("linux-cp313t", "greenlet-"));
    let greenlet = file(&report, "greenlet._greenlet");
    assert!(
        codes(greenlet).contains(&"gil-required"),
        "{:?}",
        greenlet.findings
    );
    assert_eq!(report.distributions[0].name, "greenlet");
    assert_eq!(code, 1);
}

#[test]
fn folders_of_macos_and_windows_wheels_are_read_statically() {
    for (set, format, suffix) in [
        ("macos-arm64", BinaryFormat::MachO, ".so"),
        ("macos-x86_64", BinaryFormat::MachO, ".so"),
        ("windows-amd64", BinaryFormat::Pe, ".pyd"),
    ] {
        let (code, report) = scan_json(&[], &wheel_sets_dir().join(set));
        assert_eq!(report.target.kind, TargetKind::WheelDirectory);
        assert_eq!(report.distributions.len(), 6, "{set}");
        let speedups = file(&report, "markupsafe._speedups");
        assert!(speedups.path.ends_with(suffix), "{}", speedups.path);
        let facts = speedups.static_facts.as_ref().expect("parsed");
        assert_eq!(facts.format, format, "{set}");
        assert_eq!(facts.modules[0].gil.value, GilDeclaration::NotUsed, "{set}");
        assert_eq!(report.summary.unchecked_files, 0, "{set}");
        assert_ne!(code, 2, "{set}: nothing should be left unchecked");
    }
}

/// numpy bundles OpenBLAS under `numpy.libs/`, a folder no import can reach: it is identified
/// from its headers (the wheel member is not inflated whole) and says so; every extension
/// module of the same wheel is still read whole.
#[test]
fn bundled_libraries_in_wheels_are_identified_from_their_headers() {
    let (_, report) = scan_json(&[], &wheel("linux-cp313t", "numpy-"));
    let blas: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.path.starts_with("numpy.libs/"))
        .collect();
    assert!(!blas.is_empty(), "numpy bundles its BLAS");
    for lib in blas {
        assert!(lib.module_name.is_none(), "{}", lib.path);
        let facts = lib.static_facts.as_ref().expect("identified");
        assert_eq!(facts.kind, FileKind::SharedLibrary, "{}", lib.path);
        assert_eq!(facts.format, BinaryFormat::Elf, "{}", lib.path);
        assert_eq!(facts.architectures, [Architecture::X86_64], "{}", lib.path);
        assert!(
            facts.abi.binary_evidence.starts_with("symbols not read"),
            "{}",
            facts.abi.binary_evidence
        );
    }
    let umath = file(&report, "numpy._core._multiarray_umath");
    let facts = umath.static_facts.as_ref().expect("read");
    assert_eq!(facts.kind, FileKind::ExtensionModule);
    assert_eq!(facts.modules[0].gil.value, GilDeclaration::NotUsed);
    assert_eq!(report.summary.unchecked_files, 0);
}

/// matplotlib's METADATA carries bundled licences in its License field, as continuation lines
/// with `Name:` fields of their own: the distribution is still matplotlib.
#[test]
fn the_distribution_name_comes_from_the_metadata_header_not_from_a_licence_text() {
    let (_, report) = scan_json(&["--static-only"], &wheel("linux-cp313t", "matplotlib-"));
    assert_eq!(report.distributions.len(), 1);
    assert_eq!(report.distributions[0].name, "matplotlib");
    assert!(report
        .files
        .iter()
        .all(|f| f.distribution.as_deref() == Some("matplotlib")));
}

/// mypyc compiles package `__init__` modules: `mypy/__init__.cpython-314t-*.so` is the package
/// `mypy` itself (`import mypy` loads it through `PyInit_mypy`). Each shim also exports
/// `PyInit___init__`, an alias of its own entry point, which gets no findings of its own.
#[test]
fn a_mypyc_package_init_is_named_as_its_package_and_its_alias_is_not_judged() {
    let (_, report) = scan_json(&[], &wheel("linux-cp314t", "mypy-"));
    assert!(
        report.files.iter().all(|f| !f
            .module_name
            .as_deref()
            .unwrap_or("")
            .ends_with(".__init__")),
        "a package __init__ is named as its package"
    );
    for name in ["mypy", "mypyc.irbuild", "mypy.api"] {
        let f = file(&report, name);
        let facts = f.static_facts.as_ref().unwrap();
        let last = name.rsplit('.').next().unwrap();
        let own: Vec<_> = facts
            .modules
            .iter()
            .filter(|m| m.alias_of.is_none())
            .collect();
        assert_eq!(own.len(), 1, "{name}: {:?}", facts.modules);
        assert_eq!(own[0].entry_point, format!("PyInit_{last}"));
        let alias = facts
            .modules
            .iter()
            .find(|m| m.name == "__init__")
            .expect("mypyc's alias");
        assert_eq!(alias.alias_of.as_deref(), Some(last));
        assert!(
            f.findings.iter().all(|x| x.module.as_deref()
                != Some(&format!("{}__init__", name.trim_end_matches(last)))),
            "{name}: {:?}",
            f.findings
        );
        assert!(
            !codes(f).contains(&"gil-undeterminable"),
            "{name}: {:?}",
            f.findings
        );
    }
}

/// A free-threaded stable-ABI (abi3t, CPython 3.15) wheel: its `.abi3t.so` member is found,
/// named, and read like any extension module. Built here from markupsafe's real cp314t module,
/// renamed as an abi3t build would name it.
#[test]
fn an_abi3t_wheel_is_read() {
    use std::io::{Read, Write};
    let source = wheel("linux-cp314t", "markupsafe-");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&source).unwrap()).unwrap();
    let mut module = Vec::new();
    zip.by_name("markupsafe/_speedups.cpython-314t-x86_64-linux-gnu.so")
        .unwrap()
        .read_to_end(&mut module)
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp
        .path()
        .join("markupsafe-3.0.4-cp315-abi3t-manylinux_2_28_x86_64.whl");
    let mut out = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let dist = "markupsafe-3.0.4.dist-info";
    let members: [(String, Vec<u8>); 4] = [
        ("markupsafe/_speedups.abi3t.so".into(), module),
        (format!("{dist}/METADATA"), b"Metadata-Version: 2.4\nName: MarkupSafe\nVersion: 3.0.4\n".to_vec()),
        (format!("{dist}/WHEEL"), b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp315-abi3t-manylinux_2_28_x86_64\n".to_vec()),
        (format!("{dist}/RECORD"), format!("markupsafe/_speedups.abi3t.so,,\n{dist}/METADATA,,\n{dist}/WHEEL,,\n{dist}/RECORD,,\n").into_bytes()),
    ];
    for (name, bytes) in &members {
        out.start_file(name.as_str(), options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap();

    let (code, report) = scan_json(&[], &path);
    assert_eq!(
        code,
        0,
        "{:?}",
        report
            .files
            .iter()
            .flat_map(|f| &f.findings)
            .collect::<Vec<_>>()
    );
    let f = file(&report, "markupsafe._speedups");
    assert_eq!(f.path, "markupsafe/_speedups.abi3t.so");
    let facts = f.static_facts.as_ref().unwrap();
    assert_eq!(facts.abi.from_suffix, ftaudit_model::AbiTarget::Abi3t);
    assert_eq!(facts.modules[0].gil.value, GilDeclaration::NotUsed);
    assert_eq!(
        report.distributions[0].wheel_tags,
        ["cp315-abi3t-manylinux_2_28_x86_64"]
    );
}
