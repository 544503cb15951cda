//! PYTHON_GIL=0 in the caller's environment must not turn GIL-requiring modules green (the
//! peers' classic false pass). Its own test binary: it changes this process's environment.

mod common;

use ftaudit_model::{DynamicFacts, ImportOutcome};

const MODULES: &[&str] = &[
    "ftfix_mp_no_gil_slot",
    "ftfix_mp_gil_not_used",
    "ftfix_sp_plain",
    "ftfix_sp_setgil",
    "ftfix_pkg",
    "ftfix_pkg._needs_gil",
    "ftfix_interp_per_gil",
];

/// What must not change: outcomes and verdicts (not timings or output).
#[derive(Debug, PartialEq)]
struct Verdict {
    module: String,
    import: ImportOutcome,
    requires_gil: Option<bool>,
    gil_enabled_after: Option<bool>,
    isolated: Option<ImportOutcome>,
    legacy: Option<ImportOutcome>,
}

fn verdicts(facts: &[DynamicFacts]) -> Vec<Verdict> {
    facts
        .iter()
        .map(|f| Verdict {
            module: f.module.clone(),
            import: f.import.clone(),
            requires_gil: f.requires_gil,
            gil_enabled_after: f.gil_enabled_after,
            isolated: f.isolated_subinterpreter.clone(),
            legacy: f.legacy_subinterpreter.clone(),
        })
        .collect()
}

#[test]
fn python_gil_in_the_parent_environment_changes_no_verdict() {
    let config = common::config(1, 60, true);
    let plan = common::plan(MODULES);

    std::env::remove_var("PYTHON_GIL");
    let (clean_run, clean) =
        ftaudit_probe::run(&config, &plan, &|_| {}).expect("probe without PYTHON_GIL");
    assert!(!clean_run
        .environment_removed
        .contains(&"PYTHON_GIL".to_string()));

    std::env::set_var("PYTHON_GIL", "0");
    std::env::set_var("PYTHONPATH", "/nonexistent-ftaudit-test");
    let result = ftaudit_probe::run(&config, &plan, &|_| {});
    std::env::remove_var("PYTHON_GIL");
    std::env::remove_var("PYTHONPATH");
    let (forced_run, forced) = result.expect("probe with PYTHON_GIL=0");

    assert_eq!(verdicts(&forced), verdicts(&clean));
    for name in ["PYTHON_GIL", "PYTHONPATH"] {
        assert!(
            forced_run.environment_removed.contains(&name.to_string()),
            "{:?}",
            forced_run.environment_removed
        );
    }
    // And the verdicts are the real ones, not all-green.
    let gil: Vec<&str> = forced
        .iter()
        .filter(|f| f.requires_gil == Some(true))
        .map(|f| f.module.as_str())
        .collect();
    assert_eq!(
        gil,
        [
            "ftfix_mp_no_gil_slot",
            "ftfix_sp_plain",
            "ftfix_pkg._needs_gil"
        ]
    );
    let first = common::find(&forced, "ftfix_mp_no_gil_slot");
    assert!(
        first
            .gil_warning
            .as_deref()
            .unwrap_or("")
            .contains("'ftfix_mp_no_gil_slot'"),
        "{first:?}"
    );
}
