//! Turns what the workers reported into one DynamicFacts per module.

use std::collections::HashSet;

use ftaudit_model::protocol::{ImportRecord, ProbeStage};
use ftaudit_model::{DynamicFacts, ImportOutcome};

/// Characters of output kept per module in the report.
const OUTPUT_LIMIT: usize = 4000;

/// Everything observed about one module, across however many workers it took.
#[derive(Debug, Default)]
pub struct ModuleState {
    pub record: Option<ImportRecord>,
    /// The worker died or hung in this stage of this module.
    pub failure: Option<(ProbeStage, ImportOutcome)>,
    pub isolated: Option<ImportOutcome>,
    pub legacy: Option<ImportOutcome>,
    pub loaded_by: Option<String>,
    /// Straight fd 1/2 output per stage.
    pub raw_output: Vec<(ProbeStage, String)>,
    /// The run was stopped (SIGINT, SIGTERM) before this module was finished.
    pub interrupted: bool,
}

const INTERRUPTED: &str = "not probed: the scan was interrupted first";

/// What all records together say, for the verdicts that cross modules.
pub struct Evidence {
    gil_required: HashSet<String>,
    loaded: HashSet<String>,
    /// The GIL verdict exists only on a free-threaded build; a standard build always has it.
    free_threaded: bool,
}

impl Evidence {
    pub fn new<'a>(records: impl Iterator<Item = &'a ImportRecord>, free_threaded: bool) -> Self {
        let mut gil_required = HashSet::new();
        let mut loaded = HashSet::new();
        for r in records {
            gil_required.extend(r.gil_required_by.iter().cloned());
            loaded.extend(r.pulled_in.iter().cloned());
            // Already loaded with no record saying by what: it came in before the first
            // import (start-up, a .pth file), when nothing was listening for the verdict.
            if r.outcome.is_ok() && !r.already_loaded {
                loaded.insert(r.module.clone());
            }
        }
        Self {
            gil_required,
            loaded,
            free_threaded,
        }
    }

    /// CPython's own verdict (`_PyImport_CheckGILForModule`), wherever the module was loaded:
    /// a submodule loaded by its package gets the verdict from the package's import.
    fn requires_gil(&self, module: &str) -> Option<bool> {
        if !self.free_threaded {
            None
        } else if self.gil_required.contains(module) {
            Some(true)
        } else if self.loaded.contains(module) {
            Some(false)
        } else {
            None
        }
    }
}

/// The importer of each already-loaded module, from one worker's records in order.
pub fn loaded_by(records: &[ImportRecord], index: usize) -> Option<String> {
    let module = &records[index].module;
    records[..index]
        .iter()
        .find(|r| r.pulled_in.contains(module) || r.gil_required_by.contains(module))
        .map(|r| r.module.clone())
}

pub fn build(
    module: &str,
    state: ModuleState,
    evidence: &Evidence,
    subinterpreters: bool,
    memory_limit_mb: Option<u64>,
) -> DynamicFacts {
    let import = match (&state.failure, &state.record) {
        (Some((ProbeStage::Import, outcome)), _) => outcome.clone(),
        (_, Some(record)) => memory_limited(record.outcome.clone(), memory_limit_mb),
        _ if state.interrupted => ImportOutcome::NotAttempted {
            reason: INTERRUPTED.into(),
        },
        _ => ImportOutcome::NotAttempted {
            reason: "the worker reported nothing for this module".into(),
        },
    };
    let (isolated, legacy) = if subinterpreters {
        (
            sub_outcome(
                &state,
                ProbeStage::IsolatedSubinterpreter,
                &state.isolated,
                memory_limit_mb,
            ),
            sub_outcome(
                &state,
                ProbeStage::LegacySubinterpreter,
                &state.legacy,
                memory_limit_mb,
            ),
        )
    } else {
        (None, None)
    };
    let record = state.record.as_ref();
    DynamicFacts {
        module: module.to_string(),
        requires_gil: evidence.requires_gil(module),
        gil_enabled_after: record.map(|r| r.gil_enabled_after),
        gil_warning: record.and_then(|r| r.gil_warning.clone()),
        import_seconds: record.map(|r| r.import_seconds),
        pulled_in: record.map(|r| r.pulled_in.clone()).unwrap_or_default(),
        loaded_by: state.loaded_by.clone(),
        output: output(&state),
        import,
        isolated_subinterpreter: isolated,
        legacy_subinterpreter: legacy,
    }
}

fn memory_limited(outcome: ImportOutcome, memory_limit_mb: Option<u64>) -> ImportOutcome {
    match (&outcome, memory_limit_mb) {
        (ImportOutcome::Error { exception, .. }, Some(limit_mb)) if exception == "MemoryError" => {
            ImportOutcome::MemoryLimit { limit_mb }
        }
        _ => outcome,
    }
}

fn sub_outcome(
    state: &ModuleState,
    stage: ProbeStage,
    reported: &Option<ImportOutcome>,
    memory_limit_mb: Option<u64>,
) -> Option<ImportOutcome> {
    if let Some(outcome) = reported {
        return Some(memory_limited(outcome.clone(), memory_limit_mb));
    }
    let reason = match &state.failure {
        Some((failed, outcome)) if *failed == stage => return Some(outcome.clone()),
        Some((ProbeStage::Import, _)) => "the main-interpreter import did not finish",
        Some((ProbeStage::IsolatedSubinterpreter, _)) => {
            "the worker died in the isolated subinterpreter stage before reaching this one"
        }
        _ => match &state.record {
            Some(r) if !r.outcome.is_ok() => "the main-interpreter import failed",
            _ if state.interrupted => INTERRUPTED,
            _ => "the worker reported nothing for this stage",
        },
    };
    Some(ImportOutcome::NotAttempted {
        reason: reason.to_string(),
    })
}

fn output(state: &ModuleState) -> Option<String> {
    let mut text = String::new();
    if let Some(python) = state
        .record
        .as_ref()
        .and_then(|r| r.python_output.as_deref())
    {
        text.push_str(python);
    }
    for (stage, raw) in &state.raw_output {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        match stage {
            ProbeStage::Import => {}
            ProbeStage::IsolatedSubinterpreter => text.push_str("[isolated subinterpreter]\n"),
            ProbeStage::LegacySubinterpreter => text.push_str("[legacy subinterpreter]\n"),
        }
        text.push_str(raw);
    }
    if text.is_empty() {
        return None;
    }
    if text.chars().count() > OUTPUT_LIMIT {
        let cut: String = text.chars().take(OUTPUT_LIMIT).collect();
        text = format!("{cut}\n[... output truncated]");
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(module: &str, pulled_in: &[&str], gil: &[&str], already: bool) -> ImportRecord {
        ImportRecord {
            module: module.into(),
            outcome: ImportOutcome::Ok,
            gil_enabled_after: !gil.is_empty(),
            gil_warning: None,
            import_seconds: 0.001,
            pulled_in: pulled_in.iter().map(|s| s.to_string()).collect(),
            gil_required_by: gil.iter().map(|s| s.to_string()).collect(),
            already_loaded: already,
            python_output: None,
        }
    }

    #[test]
    fn a_side_loaded_submodule_gets_the_verdict_and_its_importer() {
        let records = vec![
            record("pkg", &["pkg._fast", "pkg._slow"], &["pkg._slow"], false),
            record("pkg._slow", &[], &[], true),
            record("pkg._fast", &[], &[], true),
        ];
        let evidence = Evidence::new(records.iter(), true);
        assert_eq!(evidence.requires_gil("pkg"), Some(false));
        assert_eq!(evidence.requires_gil("pkg._slow"), Some(true));
        assert_eq!(evidence.requires_gil("pkg._fast"), Some(false));
        assert_eq!(evidence.requires_gil("never_loaded"), None);
        let preloaded = [record("grp", &[], &[], true)];
        assert_eq!(
            Evidence::new(preloaded.iter(), true).requires_gil("grp"),
            None
        );
        assert_eq!(loaded_by(&records, 1).as_deref(), Some("pkg"));
        assert_eq!(loaded_by(&records, 0), None);
        // A standard build has the GIL whatever a module declares: no verdict, not "GIL-free".
        let standard = Evidence::new(records.iter(), false);
        assert_eq!(standard.requires_gil("pkg"), None);
        assert_eq!(standard.requires_gil("pkg._slow"), None);
    }

    #[test]
    fn a_crash_in_the_isolated_stage_keeps_the_import_and_explains_legacy() {
        let state = ModuleState {
            record: Some(record("m", &[], &[], false)),
            failure: Some((
                ProbeStage::IsolatedSubinterpreter,
                ImportOutcome::Crashed {
                    signal: Some(11),
                    description: "x".into(),
                },
            )),
            ..Default::default()
        };
        let evidence = Evidence::new(state.record.iter(), true);
        let facts = build("m", state, &evidence, true, None);
        assert_eq!(facts.import, ImportOutcome::Ok);
        assert!(matches!(
            facts.isolated_subinterpreter,
            Some(ImportOutcome::Crashed {
                signal: Some(11),
                ..
            })
        ));
        assert!(matches!(
            facts.legacy_subinterpreter,
            Some(ImportOutcome::NotAttempted { .. })
        ));
    }

    #[test]
    fn memory_error_under_a_limit_is_the_limit() {
        let mut r = record("big", &[], &[], false);
        r.outcome = ImportOutcome::Error {
            exception: "MemoryError".into(),
            message: String::new(),
        };
        let state = ModuleState {
            record: Some(r),
            ..Default::default()
        };
        let evidence = Evidence::new(state.record.iter(), true);
        let facts = build("big", state, &evidence, false, Some(512));
        assert_eq!(facts.import, ImportOutcome::MemoryLimit { limit_mb: 512 });
        assert_eq!(facts.isolated_subinterpreter, None);
    }
}
