//! The scan with the import probe, as users run it: exact dynamic verdicts on the fixtures,
//! cross-checks against the binary, containment, environment hygiene, and real wheels checked
//! against CPython's own evidence.

mod support;

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use ftaudit_model::{ImportOutcome, Report};
use support::*;

/// The options of every fixture scan here: the hang fixture costs the timeout once, and the
/// memory limit stops `ftfix_bigalloc` before it touches 3 GiB, which on a loaded machine can
/// take longer than that timeout and make two scans disagree for no reason of their own.
const FIXTURE_SCAN: &[&str] = &["--timeout", "4", "--memory-limit", "1024"];

/// One full scan of the fixture venv shared by the tests below.
fn fixture_scan() -> &'static (i32, Report) {
    static SCAN: OnceLock<(i32, Report)> = OnceLock::new();
    SCAN.get_or_init(|| scan_json(FIXTURE_SCAN, fixtures_venv()))
}

fn dynamic<'a>(report: &'a Report, module: &str) -> &'a ftaudit_model::DynamicFacts {
    file(report, module)
        .dynamic
        .as_ref()
        .unwrap_or_else(|| panic!("{module} was not probed"))
}

#[test]
fn the_probe_embeds_a_free_threaded_interpreter_matching_the_venv() {
    let (_, report) = fixture_scan();
    let run = report.stages.dynamic.as_ref().expect("the probe ran");
    assert!(run.interpreter.py_gil_disabled);
    assert!(!run.interpreter.gil_enabled_at_startup);
    assert_eq!(run.interpreter.abiflags, "t");
    let venv_version = &report.target.interpreter.as_ref().unwrap().version;
    assert!(venv_version.starts_with(
        &run.interpreter
            .version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    ));
    // A free-threaded build's suffix carries the `t` ABI flag: `.cpython-313t-...`.
    let tag = format!("{}{}", run.interpreter.cache_tag, run.interpreter.abiflags);
    assert!(
        run.interpreter.ext_suffix.contains(&tag),
        "{} lacks {tag}",
        run.interpreter.ext_suffix
    );
}

#[test]
fn every_module_that_needs_the_gil_is_named_not_only_the_first() {
    let (_, report) = fixture_scan();
    let needs_gil: BTreeSet<&str> = report
        .files
        .iter()
        .filter_map(|f| f.dynamic.as_ref())
        .filter(|d| d.requires_gil == Some(true))
        .map(|d| d.module.as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        "ftfix_claims_stable._core",
        "ftfix_mp_gil_used",
        "ftfix_mp_no_gil_slot",
        "ftfix_pkg._needs_gil",
        "ftfix_sp_plain",
    ]
    .into();
    assert_eq!(needs_gil, expected);
    for module in &expected {
        assert!(
            codes(file(report, module)).contains(&"gil-reenabled"),
            "{module}"
        );
    }
    for free in [
        "ftfix_mp_gil_not_used",
        "ftfix_sp_setgil",
        "ftfix_sp_setgil_runtime",
        "ftfix_mp_gil_odd_value",
        "ftfix_pkg._gil_free",
        "ftfix_café",
    ] {
        assert_eq!(dynamic(report, free).requires_gil, Some(false), "{free}");
    }
}

#[test]
fn a_gil_module_loaded_by_its_parent_package_is_attributed_to_itself() {
    let (_, report) = fixture_scan();
    let needs = dynamic(report, "ftfix_pkg._needs_gil");
    assert_eq!(needs.requires_gil, Some(true));
    // Its sibling shares the package __init__ that loaded it, but is itself GIL-free.
    assert_eq!(
        dynamic(report, "ftfix_pkg._gil_free").requires_gil,
        Some(false)
    );
}

#[test]
fn static_and_dynamic_verdicts_are_cross_checked() {
    let (_, report) = fixture_scan();
    // The static pass reads constants at the call site; this one's argument depends on getenv.
    let setgil = file(report, "ftfix_sp_setgil_runtime");
    assert!(
        codes(setgil).contains(&"static-dynamic-mismatch"),
        "{:?}",
        setgil.findings
    );
    assert!(
        !codes(setgil).contains(&"gil-undeterminable"),
        "the import decided it"
    );
    let decided = setgil
        .findings
        .iter()
        .find(|f| f.code.as_str() == "static-dynamic-mismatch")
        .unwrap();
    assert!(
        decided.message.contains("runs without the GIL"),
        "{}",
        decided.message
    );
    // Declared and observed agree: no mismatch, including a GIL declaration read from code.
    assert!(!codes(file(report, "ftfix_sp_setgil")).contains(&"static-dynamic-mismatch"));
    assert!(!codes(file(report, "ftfix_mp_gil_not_used")).contains(&"static-dynamic-mismatch"));
    assert!(!codes(file(report, "ftfix_mp_no_gil_slot")).contains(&"static-dynamic-mismatch"));
}

#[test]
fn crashes_and_hangs_are_contained_and_later_modules_still_probed() {
    let (code, report) = fixture_scan();
    match &dynamic(report, "ftfix_init_segfault").import {
        ImportOutcome::Crashed {
            signal: Some(11), ..
        } => {}
        other => panic!("segfault fixture: {other:?}"),
    }
    match &dynamic(report, "ftfix_init_abort").import {
        ImportOutcome::Crashed {
            signal: Some(6), ..
        } => {}
        other => panic!("abort fixture: {other:?}"),
    }
    assert!(matches!(
        dynamic(report, "ftfix_init_hangs").import,
        ImportOutcome::TimedOut { .. }
    ));
    assert!(codes(file(report, "ftfix_init_segfault")).contains(&"import-crashed"));
    assert!(codes(file(report, "ftfix_init_hangs")).contains(&"import-timed-out"));
    // Every module was probed to a real outcome, whatever crashed around it.
    for f in report.files.iter().filter(|f| f.dynamic.is_some()) {
        let d = f.dynamic.as_ref().unwrap();
        assert!(
            !matches!(d.import, ImportOutcome::NotAttempted { .. }),
            "{} not attempted",
            d.module
        );
    }
    let run = report.stages.dynamic.as_ref().unwrap();
    assert!(
        run.worker_processes >= 3 + run.workers,
        "crash, abort and hang each restart a worker: {run:?}"
    );
    assert!(report.summary.incomplete);
    assert_eq!(*code, 2);
}

#[test]
fn plain_libraries_are_not_imported_and_broken_files_are_tried() {
    let (_, report) = fixture_scan();
    assert!(file(report, "libftfix_helper").dynamic.is_none());
    for broken in ["ftfix_truncated", "ftfix_corrupt", "ftfix_textfile"] {
        assert!(
            matches!(dynamic(report, broken).import, ImportOutcome::Error { .. }),
            "{broken}"
        );
    }
    match &dynamic(report, "ftfix_gil_build").import {
        ImportOutcome::Error { exception, .. } => assert_eq!(exception, "ModuleNotFoundError"),
        other => panic!("{other:?}"),
    }
    match &dynamic(report, "ftfix_gil_build_renamed").import {
        ImportOutcome::Error { exception, .. } => assert_eq!(exception, "SystemError"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn subinterpreter_imports_follow_the_declarations() {
    let (_, report) = fixture_scan();
    let outcome = |m: &str| {
        let d = dynamic(report, m);
        (
            d.isolated_subinterpreter.as_ref().map(ImportOutcome::is_ok),
            d.legacy_subinterpreter.as_ref().map(ImportOutcome::is_ok),
        )
    };
    assert_eq!(outcome("ftfix_interp_per_gil"), (Some(true), Some(true)));
    assert_eq!(outcome("ftfix_interp_supported"), (Some(false), Some(true)));
    assert_eq!(
        outcome("ftfix_interp_not_supported"),
        (Some(false), Some(false))
    );
    assert_eq!(outcome("ftfix_sp_plain"), (Some(false), Some(false)));
    let f = file(report, "ftfix_interp_supported");
    assert!(codes(f).contains(&"isolated-subinterpreter-failed"));
    assert!(!codes(f).contains(&"legacy-subinterpreter-failed"));
}

/// A CI job that exports PYTHON_GIL=0 must not turn failures into passes.
#[test]
fn python_gil_in_the_environment_changes_no_verdict() {
    let (_, plain) = fixture_scan();
    let mut cmd = ftaudit();
    cmd.env("PYTHON_GIL", "0").env("PYTHONVERBOSE", "0");
    let (_, forced) = scan_json_with(&mut cmd, FIXTURE_SCAN, fixtures_venv());
    let verdicts = |r: &Report| -> BTreeMap<String, (Option<bool>, String)> {
        r.files
            .iter()
            .filter_map(|f| f.dynamic.as_ref())
            .map(|d| {
                (
                    d.module.clone(),
                    (
                        d.requires_gil,
                        format!("{:?}", std::mem::discriminant(&d.import)),
                    ),
                )
            })
            .collect()
    };
    assert_eq!(verdicts(plain), verdicts(&forced));
    let removed = &forced.stages.dynamic.as_ref().unwrap().environment_removed;
    assert!(removed.iter().any(|v| v == "PYTHON_GIL"), "{removed:?}");
}

/// `import ftfix_pkg._x` imports `ftfix_pkg` first, whose `__init__` loads a module that refuses
/// isolated interpreters: both submodules fail with the package's error, and the worker says so
/// instead of re-importing the package for each submodule.
#[test]
fn a_parent_package_that_fails_in_a_subinterpreter_is_named() {
    let (_, report) = fixture_scan();
    let isolated = |m: &str| match dynamic(report, m).isolated_subinterpreter.clone() {
        Some(ImportOutcome::Error { exception, message }) => (exception, message),
        other => panic!("{m}: {other:?}"),
    };
    let (free_exc, free_msg) = isolated("ftfix_pkg._gil_free");
    let (needs_exc, needs_msg) = isolated("ftfix_pkg._needs_gil");
    assert_eq!(free_exc, needs_exc);
    assert!(
        [&free_msg, &needs_msg]
            .iter()
            .any(|m| m.contains("parent package 'ftfix_pkg'")),
        "{free_msg} / {needs_msg}"
    );
}
