//! The report's summary: totals, per-distribution counts, and whether anything could not be
//! checked.

use std::collections::BTreeMap;

use ftaudit_model::{
    DistributionSummary, FileKind, GilDeclaration, ImportOutcome, MultiInterpDeclaration,
    NativeFile, Readiness, Report, Severity, Summary,
};

use super::GilStatus;

/// The name unowned files are summarised under.
pub const UNOWNED: &str = "(no RECORD)";

/// `probe_expected`: the user asked for a probe of an installed environment, so a probe that
/// did not run leaves the report incomplete. So does every input problem (a file may hide
/// behind it), a module not probed, and an interrupted scan.
/// Findings that the policy, the allowlist or a baseline suppressed are not counted.
pub fn summarize(report: &Report, probe_expected: bool) -> Summary {
    let (files, input_problems, stages) = (&report.files, &report.input_problems, &report.stages);
    let standard_build = report
        .target
        .interpreter
        .as_ref()
        .is_some_and(|i| !i.free_threaded);
    let mut summary = Summary {
        readiness: if standard_build {
            Readiness::Subinterpreters
        } else {
            Readiness::FreeThreading
        },
        native_files: files.len(),
        input_problems: input_problems.len(),
        ..Summary::default()
    };
    let mut by_distribution: BTreeMap<String, DistributionSummary> = BTreeMap::new();
    for file in files {
        let name = file
            .distribution
            .clone()
            .unwrap_or_else(|| UNOWNED.to_string());
        let dist = by_distribution
            .entry(name.to_lowercase())
            .or_insert_with(|| DistributionSummary {
                name,
                ..DistributionSummary::default()
            });
        match &file.static_facts {
            Some(facts) if facts.kind == FileKind::SharedLibrary => summary.bundled_libraries += 1,
            Some(facts) => {
                summary.extension_modules += 1;
                for module in super::own_modules(facts) {
                    match module.gil.value {
                        GilDeclaration::NotUsed => summary.static_gil_not_used += 1,
                        GilDeclaration::Used => summary.static_gil_used += 1,
                        GilDeclaration::Undeterminable => summary.static_gil_undeterminable += 1,
                    }
                    match module.multiple_interpreters.value {
                        MultiInterpDeclaration::PerInterpreterGil => summary.static_own_gil += 1,
                        MultiInterpDeclaration::Supported => summary.static_shared_gil_only += 1,
                        MultiInterpDeclaration::NotSupported => {
                            summary.static_no_subinterpreters += 1
                        }
                        MultiInterpDeclaration::Undeterminable => {}
                    }
                }
            }
            None if file.problem.is_some() => summary.unchecked_files += 1,
            None => {}
        }
        let is_module = file
            .static_facts
            .as_ref()
            .is_none_or(|f| f.kind == FileKind::ExtensionModule);
        if is_module {
            count_module(file, dist, standard_build);
        }
        if let Some(dynamic) = &file.dynamic {
            if dynamic.requires_gil == Some(true) {
                summary.dynamic_gil_required += 1;
            }
            if dynamic.import.is_contained_failure() {
                summary.dynamic_contained += 1;
            } else if matches!(dynamic.import, ImportOutcome::NotAttempted { .. }) {
                summary.dynamic_not_probed += 1;
            } else if !dynamic.import.is_ok() {
                summary.dynamic_import_failed += 1;
            }
        }
        if let Some(stress) = &file.stress {
            super::stress::count(&stress.verdict, &mut summary);
        }
        for finding in &file.findings {
            if finding.suppressed.is_some() {
                summary.suppressed += 1;
                continue;
            }
            match finding.severity {
                Severity::Error => {
                    summary.errors += 1;
                    dist.errors += 1;
                }
                Severity::Warning => {
                    summary.warnings += 1;
                    dist.warnings += 1;
                }
                Severity::Note => {}
            }
        }
    }
    for finding in &report.policy.findings {
        match (&finding.suppressed, finding.severity) {
            (Some(_), _) => summary.suppressed += 1,
            (None, Severity::Error) => summary.errors += 1,
            (None, Severity::Warning) => summary.warnings += 1,
            (None, Severity::Note) => {}
        }
    }
    let contained_failure = files.iter().any(|f| {
        f.dynamic
            .as_ref()
            .is_some_and(|d| d.import.is_contained_failure())
    });
    summary.incomplete = summary.unchecked_files > 0
        || summary.input_problems > 0
        || summary.dynamic_not_probed > 0
        || stages.interrupted.is_some()
        || (probe_expected && stages.dynamic_skipped.is_some())
        || stages.stress_skipped.is_some()
        || contained_failure
        || files.iter().any(|f| {
            f.stress
                .as_ref()
                .and_then(|s| s.synthesized.as_ref())
                .is_some_and(|s| s.refused_unboxed)
        });
    summary.by_distribution = by_distribution
        .into_values()
        .filter(|d| d.extension_modules > 0)
        .collect();
    summary
}

fn count_module(file: &NativeFile, dist: &mut DistributionSummary, standard_build: bool) {
    dist.extension_modules += 1;
    // A standard build has the GIL: its modules get no GIL verdict either way.
    match super::gil_status(file) {
        _ if standard_build => {}
        GilStatus::Free => dist.gil_free += 1,
        GilStatus::NeedsGil => dist.needs_gil += 1,
        GilStatus::Unknown => dist.gil_unknown += 1,
    }
    if let Some(dynamic) = &file.dynamic {
        if !dynamic.import.is_ok() {
            dist.import_failures += 1;
        }
        if dynamic
            .isolated_subinterpreter
            .as_ref()
            .is_some_and(|o| o.is_ok())
        {
            dist.isolated_subinterpreter_ok += 1;
        }
    }
}
