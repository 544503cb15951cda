//! The standard (GIL) build of 3.14: a venv of it is probed by its own worker for what applies
//! there (imports, isolated and legacy subinterpreters), GIL findings stay out of it, the gate
//! answers "can this be used from InterpreterPoolExecutor", and stress compares threads with
//! subinterpreters and processes. The venv holds the linux-cp314 set (the same packages as
//! linux-cp314t, cp314 wheels); tests/real_wheels.rs checks its probe against CPython's own
//! evidence when scripts/test.sh runs it on this build.

mod support;

use ftaudit_model::{
    ExecutorKind, FindingCode, ImportOutcome, Readiness, Report, StressFacts, StressVerdict,
};
use std::sync::Mutex;

use support::*;

const GIL_CODES: [FindingCode; 5] = [
    FindingCode::GilRequired,
    FindingCode::GilReenabled,
    FindingCode::GilUndeterminable,
    FindingCode::GilSlotUnusualValue,
    FindingCode::ClassifierContradicted,
];

/// The probe scan and the stress run each want both cores: one at a time, so the stress
/// figures measure the modules, not this test binary.
static CORES: Mutex<()> = Mutex::new(());

fn has(report: &Report, module: &str, code: FindingCode) -> bool {
    file(report, module).findings.iter().any(|f| f.code == code)
}

#[test]
fn a_standard_build_venv_is_probed_for_subinterpreters_not_for_the_gil() {
    let venv = standard_venv();
    let _cores = CORES.lock().unwrap_or_else(|e| e.into_inner());
    let (code, report) = scan_json(&[], venv);
    let probe = report
        .stages
        .dynamic
        .as_ref()
        .unwrap_or_else(|| panic!("not probed: {:?}", report.stages.dynamic_skipped));
    assert!(
        !probe.interpreter.py_gil_disabled,
        "{:?}",
        probe.interpreter
    );
    assert_eq!(report.summary.readiness, Readiness::Subinterpreters);
    let gil_findings: Vec<String> = report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| GIL_CODES.contains(&f.code))
        .map(|f| format!("{}: {}", f.code.as_str(), f.message))
        .collect();
    assert!(gil_findings.is_empty(), "{gil_findings:#?}");

    // The gate follows the subinterpreter question, module by module, as the probe saw it.
    let (mut loads, mut refused) = (0, 0);
    for f in &report.files {
        let Some(d) = &f.dynamic else { continue };
        assert_eq!(
            d.requires_gil, None,
            "{}: no GIL verdict on a GIL build",
            d.module
        );
        if !d.import.is_ok() {
            continue;
        }
        let isolated_ok = d
            .isolated_subinterpreter
            .as_ref()
            .is_some_and(ImportOutcome::is_ok);
        let flagged = f
            .findings
            .iter()
            .any(|x| x.code == FindingCode::InterpreterPoolUnsupported);
        assert_eq!(
            flagged, !isolated_ok,
            "{}: {:?}",
            d.module, d.isolated_subinterpreter
        );
        if isolated_ok {
            loads += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        loads >= 1 && refused >= 100,
        "{loads} load, {refused} refused"
    );
    // Known facts of these releases (CPython's own evidence agrees, tests/real_wheels.rs):
    // MarkupSafe declares per-interpreter GIL support, numpy's core refuses.
    assert!(!has(
        &report,
        "markupsafe._speedups",
        FindingCode::InterpreterPoolUnsupported
    ));
    assert!(has(
        &report,
        "numpy._core._multiarray_umath",
        FindingCode::InterpreterPoolUnsupported
    ));
    assert_eq!(code, 1, "error-level findings: exit 1");

    let table = run(ftaudit().arg("scan").arg(venv));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("NOT READY for isolated subinterpreters (InterpreterPoolExecutor)"),
        "{text}"
    );
    assert!(text.contains("n/a"), "the GIL cells say not applicable");
    assert!(!text.contains("RE-ENABLED") && !text.contains("NEEDS GIL"));
}

#[test]
fn without_the_probe_the_declarations_decide_the_interpreter_pool_question() {
    let (_, report) = scan_json(&["--static-only"], standard_venv());
    assert_eq!(report.summary.readiness, Readiness::Subinterpreters);
    assert!(report.stages.dynamic.is_none());
    assert!(!report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .any(|f| GIL_CODES.contains(&f.code)));
    let numpy = file(&report, "numpy._core._multiarray_umath");
    let why = numpy
        .findings
        .iter()
        .find(|f| f.code == FindingCode::InterpreterPoolUnsupported)
        .expect("numpy's core is flagged from its declaration");
    assert!(
        why.message.contains("from the declaration"),
        "{}",
        why.message
    );
    assert!(!has(
        &report,
        "markupsafe._speedups",
        FindingCode::InterpreterPoolUnsupported
    ));
    assert!(report.summary.static_own_gil >= 1, "{:?}", report.summary);
}

/// Speed-up of one executor at 2 workers in the module's recipe workload.
fn speedup(facts: &StressFacts, kind: ExecutorKind) -> f64 {
    let workload = facts
        .workloads
        .iter()
        .find(|w| w.executors.iter().any(|e| e.kind == kind))
        .unwrap_or_else(|| panic!("{}: no {} figures", facts.module, kind.as_str()));
    let executor = workload.executors.iter().find(|e| e.kind == kind).unwrap();
    executor
        .points
        .iter()
        .find(|p| p.workers == 2)
        .and_then(|p| p.speedup.as_ref())
        .unwrap_or_else(|| panic!("{}: no 2-worker {} point", facts.module, kind.as_str()))
        .median
}

/// The shape the standard build is about, measured rather than assumed: a workload that holds
/// the GIL gains nothing from threads, while subinterpreters (a GIL each) and processes run it
/// in parallel. MarkupSafe's escape and the stdlib's json hold the GIL throughout.
#[test]
fn on_a_standard_build_subinterpreters_and_processes_scale_where_threads_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stress.json");
    let _cores = CORES.lock().unwrap_or_else(|e| e.into_inner());
    let output = run(ftaudit()
        .arg("stress")
        .arg(standard_venv())
        .args([
            "--stdlib",
            "--no-generic",
            "--only",
            "markupsafe._speedups",
            "--only",
            "_json",
        ])
        .args(["--format", "json", "--output"])
        .arg(&out));
    assert!(
        output.status.code().is_some_and(|c| c <= 2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Report = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let stress = report.stages.stress.as_ref().expect("the stress stage ran");
    assert_eq!(stress.speed_executor, ExecutorKind::Subinterpreters);
    let markupsafe = file(&report, "markupsafe._speedups")
        .stress
        .as_ref()
        .unwrap();
    let json = stress
        .stdlib
        .iter()
        .find(|s| s.module == "_json")
        .expect("_json was stressed");
    assert_eq!(
        stress.stdlib.len(),
        1,
        "--only narrows the stdlib modules too"
    );
    for facts in [markupsafe, json] {
        let (threads, interpreters, processes) = (
            speedup(facts, ExecutorKind::Threads),
            speedup(facts, ExecutorKind::Subinterpreters),
            speedup(facts, ExecutorKind::Processes),
        );
        eprintln!(
            "{}: 2-worker speed-up: threads {threads:.2}x, subinterpreters {interpreters:.2}x, processes {processes:.2}x",
            facts.module
        );
        assert!(threads < 1.3, "{}: threads {threads:.2}x", facts.module);
        assert!(
            interpreters > 1.4,
            "{}: subinterpreters {interpreters:.2}x",
            facts.module
        );
        assert!(
            processes > 1.4,
            "{}: processes {processes:.2}x",
            facts.module
        );
        assert!(
            matches!(
                facts.verdict,
                StressVerdict::Scales { .. } | StressVerdict::ScalesPartly { .. }
            ),
            "{}: the verdict follows the subinterpreters: {:?}",
            facts.module,
            facts.verdict
        );
    }
    // Threads taking turns is what the GIL does, not a finding; and the race-finding tier
    // says why it did not run.
    let markupsafe_file = file(&report, "markupsafe._speedups");
    assert!(!markupsafe_file
        .findings
        .iter()
        .any(|f| f.code == FindingCode::StressSerialises));
    let synth = markupsafe
        .synthesized
        .as_ref()
        .expect("the tier says why not");
    assert!(
        synth
            .not_run
            .as_deref()
            .is_some_and(|r| r.contains("standard (GIL) build")),
        "{synth:?}"
    );
}

/// `merge` puts the standard build beside the free-threaded one: its own column, and a
/// per-package roll-up that compares the two (numpy: GIL-free on 3.14t, refused by isolated
/// subinterpreters on the standard build).
#[test]
fn the_merged_matrix_compares_the_two_builds_package_by_package() {
    let dir = tempfile::tempdir().unwrap();
    let standard = dir.path().join("standard.json");
    let free_threaded = dir.path().join("free-threaded.json");
    {
        let _cores = CORES.lock().unwrap_or_else(|e| e.into_inner());
        for (venv, out) in [(standard_venv(), &standard), (demo_venv(), &free_threaded)] {
            let output = run(ftaudit()
                .arg("scan")
                .arg(venv)
                .args(["--format", "json", "--output"])
                .arg(out));
            assert!(output.status.code().is_some_and(|c| c <= 2));
        }
    }
    let merged = run(ftaudit()
        .arg("merge")
        .arg(&standard)
        .arg(&free_threaded)
        .args(["--format", "json"]));
    let matrix: ftaudit_model::Matrix = serde_json::from_slice(&merged.stdout).unwrap();
    let standard_column = matrix
        .columns
        .iter()
        .find(|c| c.contains("(standard build) imported"))
        .unwrap_or_else(|| panic!("{:?}", matrix.columns));
    let numpy = matrix
        .packages
        .iter()
        .find(|p| p.distribution.eq_ignore_ascii_case("numpy"))
        .expect("numpy is in both venvs");
    let on_standard = numpy
        .cells
        .iter()
        .find(|c| &c.column == standard_column)
        .unwrap();
    assert_eq!(on_standard.gil_not_applicable, on_standard.modules);
    assert_eq!(
        on_standard.isolated_refused, on_standard.modules,
        "{on_standard:?}"
    );
    let on_free_threaded = numpy
        .cells
        .iter()
        .find(|c| &c.column != standard_column)
        .expect("a free-threaded column");
    assert_eq!(
        on_free_threaded.gil_free, on_free_threaded.modules,
        "{on_free_threaded:?}"
    );
    // The module cells of the standard column answer the subinterpreter question.
    let row = matrix
        .rows
        .iter()
        .find(|r| r.module == "markupsafe._speedups")
        .unwrap();
    let cell = row
        .cells
        .iter()
        .find(|c| &c.column == standard_column)
        .unwrap();
    assert_eq!(
        (cell.gil.as_str(), cell.isolated_subinterpreter),
        ("not_applicable", Some(true))
    );

    let markdown = run(ftaudit()
        .arg("merge")
        .arg(&standard)
        .arg(&free_threaded)
        .args(["--format", "markdown"]));
    let text = String::from_utf8_lossy(&markdown.stdout);
    let numpy_line = text
        .lines()
        .find(|l| l.starts_with("| numpy |"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        numpy_line.contains("0/") && numpy_line.contains("in subinterpreters"),
        "{numpy_line}"
    );
    assert!(text.contains("(standard build)"), "{text}");
}
