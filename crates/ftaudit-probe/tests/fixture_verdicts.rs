//! One probe of the whole fixture venv (shared by the tests in this file), checked module by
//! module against what CPython 3.13t/3.14t does with each fixture's declarations.

mod common;

use std::sync::{Mutex, OnceLock};

use ftaudit_model::{DynamicFacts, DynamicRun, ImportOutcome};
use ftaudit_probe::{ProbeConfig, ProbeProgress};

use common::find;

/// Every importable fixture, packages before their submodules. The crash and hang fixtures
/// sit in the middle so that modules after them must still be probed.
const MODULES: &[&str] = &[
    "ftfix_mp_gil_not_used",
    "ftfix_mp_no_gil_slot",
    "ftfix_init_segfault",
    "ftfix_mp_gil_used",
    "ftfix_mp_gil_odd_value",
    "ftfix_init_abort",
    "ftfix_sp_setgil",
    "ftfix_sp_setgil_runtime",
    "ftfix_sp_plain",
    "ftfix_init_hangs",
    "ftfix_interp_not_supported",
    "ftfix_interp_supported",
    "ftfix_interp_per_gil",
    "ftfix_init_raises",
    "ftfix_exec_raises",
    "ftfix_noisy",
    "ftfix_bigalloc",
    "ftfix_two_entries",
    "ftfix_café",
    "ftfix_gil_build",
    "ftfix_gil_build_renamed",
    "ftfix_pkg",
    "ftfix_pkg._needs_gil",
    "ftfix_pkg._gil_free",
    "ftfix_unowned",
    "ftfix_claims_stable._core",
    "libftfix_helper",
    "ftfix_truncated",
    "ftfix_corrupt",
    "ftfix_textfile",
];

const TIMEOUT_SECS: u64 = 6;
const MEMORY_LIMIT_MB: u64 = 1024;

struct Probed {
    run: DynamicRun,
    facts: Vec<DynamicFacts>,
    progress: Vec<(String, usize, usize)>,
    started_total: Option<usize>,
}

fn probed() -> &'static Probed {
    static PROBED: OnceLock<Probed> = OnceLock::new();
    PROBED.get_or_init(|| {
        let config = ProbeConfig {
            memory_limit_mb: Some(MEMORY_LIMIT_MB),
            ..common::config(2, TIMEOUT_SECS, true)
        };
        let progress = Mutex::new(Vec::new());
        let started = Mutex::new(None);
        let (run, facts) = ftaudit_probe::run(&config, &common::plan(MODULES), &|p| match p {
            ProbeProgress::Started { total } => *started.lock().unwrap() = Some(total),
            ProbeProgress::ModuleDone {
                module,
                done,
                total,
            } => progress
                .lock()
                .unwrap()
                .push((module.to_string(), done, total)),
        })
        .expect("the probe runs");
        eprintln!(
            "probed {} fixture modules in {:.2}s with {} worker processes",
            facts.len(),
            run.elapsed_seconds,
            run.worker_processes
        );
        Probed {
            run,
            facts,
            progress: progress.into_inner().unwrap(),
            started_total: started.into_inner().unwrap(),
        }
    })
}

fn error(exception: &str) -> impl Fn(&ImportOutcome) -> bool + '_ {
    move |o| matches!(o, ImportOutcome::Error { exception: e, .. } if e == exception)
}

fn is_ok(o: &ImportOutcome) -> bool {
    o.is_ok()
}

/// ImportError "does not support loading in subinterpreters" (Python/import.c).
fn refused(o: &ImportOutcome) -> bool {
    matches!(o, ImportOutcome::Error { exception, message }
        if exception == "ImportError" && message.contains("does not support loading in subinterpreters"))
}

fn not_attempted(o: &ImportOutcome) -> bool {
    matches!(o, ImportOutcome::NotAttempted { .. })
}

fn check(
    module: &str,
    import: impl Fn(&ImportOutcome) -> bool,
    requires_gil: Option<bool>,
    isolated: impl Fn(&ImportOutcome) -> bool,
    legacy: impl Fn(&ImportOutcome) -> bool,
) {
    let f = find(&probed().facts, module);
    assert!(import(&f.import), "{module}: import {:?}", f.import);
    assert_eq!(
        f.requires_gil, requires_gil,
        "{module}: requires_gil; facts {f:#?}"
    );
    let iso = f
        .isolated_subinterpreter
        .as_ref()
        .unwrap_or_else(|| panic!("{module}: no isolated outcome"));
    assert!(isolated(iso), "{module}: isolated {iso:?}");
    let leg = f
        .legacy_subinterpreter
        .as_ref()
        .unwrap_or_else(|| panic!("{module}: no legacy outcome"));
    assert!(legacy(leg), "{module}: legacy {leg:?}");
}

#[test]
fn gil_verdicts_follow_each_modules_declaration() {
    // Multi-phase without Py_MOD_PER_INTERPRETER_GIL_SUPPORTED: refused by own-GIL interpreters,
    // accepted by legacy ones (free-threaded builds still check, and a multi-phase module passes).
    check("ftfix_mp_gil_not_used", is_ok, Some(false), refused, is_ok);
    check("ftfix_mp_no_gil_slot", is_ok, Some(true), refused, is_ok);
    check("ftfix_mp_gil_used", is_ok, Some(true), refused, is_ok);
    // 3.13/3.14 read any non-zero Py_mod_gil as "not used".
    check("ftfix_mp_gil_odd_value", is_ok, Some(false), refused, is_ok);
    check("ftfix_two_entries", is_ok, Some(false), refused, is_ok);
    check("ftfix_café", is_ok, Some(false), refused, is_ok);
    check("ftfix_unowned", is_ok, Some(false), refused, is_ok);
    // Single-phase: the GIL verdict comes from PyUnstable_Module_SetGIL; no subinterpreter
    // takes a single-phase module on a free-threaded build, legacy included.
    check("ftfix_sp_setgil", is_ok, Some(false), refused, refused);
    check(
        "ftfix_sp_setgil_runtime",
        is_ok,
        Some(false),
        refused,
        refused,
    );
    check("ftfix_sp_plain", is_ok, Some(true), refused, refused);
}

#[test]
fn subinterpreter_outcomes_follow_the_multi_interp_slot() {
    check(
        "ftfix_interp_not_supported",
        is_ok,
        Some(false),
        refused,
        refused,
    );
    check("ftfix_interp_supported", is_ok, Some(false), refused, is_ok);
    check("ftfix_interp_per_gil", is_ok, Some(false), is_ok, is_ok);
}

#[test]
fn failing_imports_keep_their_exception_and_skip_subinterpreters() {
    check(
        "ftfix_init_raises",
        error("RuntimeError"),
        None,
        not_attempted,
        not_attempted,
    );
    check(
        "ftfix_exec_raises",
        error("RuntimeError"),
        None,
        not_attempted,
        not_attempted,
    );
    let f = find(&probed().facts, "ftfix_init_raises");
    assert!(
        matches!(&f.import, ImportOutcome::Error { message, .. } if message == "fixture init failed"),
        "{:?}",
        f.import
    );
    // A default-build module: its tag is not searched, and renamed it cannot initialise.
    check(
        "ftfix_gil_build",
        error("ModuleNotFoundError"),
        None,
        not_attempted,
        not_attempted,
    );
    check(
        "ftfix_gil_build_renamed",
        error("SystemError"),
        None,
        not_attempted,
        not_attempted,
    );
    for broken in [
        "libftfix_helper",
        "ftfix_truncated",
        "ftfix_corrupt",
        "ftfix_textfile",
    ] {
        check(
            broken,
            error("ImportError"),
            None,
            not_attempted,
            not_attempted,
        );
    }
}

#[test]
fn crashes_and_hangs_are_contained_and_later_modules_still_probed() {
    let p = probed();
    let segv = find(&p.facts, "ftfix_init_segfault");
    assert!(
        matches!(
            segv.import,
            ImportOutcome::Crashed {
                signal: Some(libc::SIGSEGV),
                ..
            }
        ),
        "{:?}",
        segv.import
    );
    let abort = find(&p.facts, "ftfix_init_abort");
    assert!(
        matches!(
            abort.import,
            ImportOutcome::Crashed {
                signal: Some(libc::SIGABRT),
                ..
            }
        ),
        "{:?}",
        abort.import
    );
    let hang = find(&p.facts, "ftfix_init_hangs");
    assert_eq!(
        hang.import,
        ImportOutcome::TimedOut {
            seconds: TIMEOUT_SECS as f64
        }
    );
    for f in [segv, abort, hang] {
        assert_eq!(f.requires_gil, None, "{}", f.module);
        assert!(
            matches!(
                &f.isolated_subinterpreter,
                Some(ImportOutcome::NotAttempted { .. })
            ),
            "{f:?}"
        );
        assert!(
            matches!(
                &f.legacy_subinterpreter,
                Some(ImportOutcome::NotAttempted { .. })
            ),
            "{f:?}"
        );
    }
    // Each of the three took a worker down; a replacement went on with the rest.
    assert_eq!(p.run.worker_processes, p.run.workers + 3, "{:?}", p.run);
    // The module right after each of them was probed normally.
    for after in [
        "ftfix_mp_gil_used",
        "ftfix_sp_setgil",
        "ftfix_interp_not_supported",
    ] {
        assert!(find(&p.facts, after).import.is_ok(), "{after}");
    }
    // faulthandler's report reaches the crashing module's output.
    assert!(
        segv.output
            .as_deref()
            .unwrap_or("")
            .contains("Segmentation fault"),
        "{:?}",
        segv.output
    );
}

#[test]
fn memory_hog_hits_the_limit_and_the_worker_goes_on() {
    let f = find(&probed().facts, "ftfix_bigalloc");
    assert_eq!(
        f.import,
        ImportOutcome::MemoryLimit {
            limit_mb: MEMORY_LIMIT_MB
        }
    );
    assert_eq!(probed().run.memory_limit_mb, Some(MEMORY_LIMIT_MB));
}

#[test]
fn gil_requiring_submodule_imported_by_its_package_is_named() {
    let p = probed();
    let pkg = find(&p.facts, "ftfix_pkg");
    assert_eq!(pkg.import, ImportOutcome::Ok);
    // The package is pure Python; what it imports is not its own verdict.
    assert_eq!(pkg.requires_gil, Some(false));
    assert_eq!(
        pkg.pulled_in,
        vec![
            "ftfix_pkg._gil_free".to_string(),
            "ftfix_pkg._needs_gil".to_string()
        ]
    );
    assert_eq!(pkg.gil_enabled_after, Some(true));

    let needs = find(&p.facts, "ftfix_pkg._needs_gil");
    assert_eq!(needs.requires_gil, Some(true));
    assert_eq!(needs.loaded_by.as_deref(), Some("ftfix_pkg"));
    let free = find(&p.facts, "ftfix_pkg._gil_free");
    assert_eq!(free.requires_gil, Some(false));
    assert_eq!(free.loaded_by.as_deref(), Some("ftfix_pkg"));

    let core = find(&p.facts, "ftfix_claims_stable._core");
    assert_eq!(core.requires_gil, Some(true));
    assert_eq!(core.import, ImportOutcome::Ok);
}

#[test]
fn raw_fd_output_is_attributed_to_the_module_that_wrote_it() {
    let p = probed();
    let noisy = find(&p.facts, "ftfix_noisy");
    let out = noisy.output.as_deref().unwrap_or("");
    assert!(out.contains("ftfix_noisy: garbage on fd 1"), "{out:?}");
    assert!(out.contains("ftfix_noisy: garbage on fd 2"), "{out:?}");
    for f in &p.facts {
        if f.module != "ftfix_noisy" {
            assert!(
                !f.output.as_deref().unwrap_or("").contains("ftfix_noisy:"),
                "{} got noisy's output",
                f.module
            );
        }
    }
    // Verbose import chatter (PyConfig.verbose is on in the worker) is nobody's output.
    let quiet = find(&p.facts, "ftfix_mp_gil_not_used");
    assert_eq!(quiet.output, None);
}

#[test]
fn the_run_describes_itself_and_reports_progress() {
    let p = probed();
    assert_eq!(p.facts.len(), MODULES.len());
    assert!(p.run.interpreter.py_gil_disabled);
    assert!(p.run.subinterpreters);
    assert_eq!(p.run.workers, 2);
    assert_eq!(p.started_total, Some(MODULES.len()));
    let mut done: Vec<&str> = p.progress.iter().map(|(m, _, _)| m.as_str()).collect();
    done.sort_unstable();
    let mut expected = MODULES.to_vec();
    expected.sort_unstable();
    assert_eq!(done, expected, "every module reported done exactly once");
    let counts: Vec<usize> = p.progress.iter().map(|(_, d, _)| *d).collect();
    assert_eq!(counts, (1..=MODULES.len()).collect::<Vec<_>>());
}
