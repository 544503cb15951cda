//! Findings from the import probe, and the cross-check of what the binary declares against
//! what CPython did.

use ftaudit_model::{
    Finding, FindingCode, GilDeclaration, ImportOutcome, MultiInterpDeclaration, NativeFile,
    Severity,
};

use super::{finding, module_for_import, Context};

pub(super) fn dynamic_findings(file: &NativeFile, context: &Context, out: &mut Vec<Finding>) {
    let Some(dynamic) = &file.dynamic else { return };
    let name = Some(dynamic.module.as_str());
    match &dynamic.import {
        ImportOutcome::Ok => {}
        ImportOutcome::Error { exception, message } => out.push(finding(
            FindingCode::ImportFailed,
            Severity::Error,
            name,
            format!("import raised {exception}: {message}"),
        )),
        ImportOutcome::Crashed { description, .. } => out.push(finding(
            FindingCode::ImportCrashed,
            Severity::Error,
            name,
            format!("import crashed the process: {description}"),
        )),
        ImportOutcome::TimedOut { seconds } => out.push(finding(
            FindingCode::ImportTimedOut,
            Severity::Error,
            name,
            format!("import did not finish within {seconds} s"),
        )),
        ImportOutcome::MemoryLimit { limit_mb } => out.push(finding(
            FindingCode::ImportMemoryLimit,
            Severity::Error,
            name,
            format!("import exceeded the memory limit of {limit_mb} MiB"),
        )),
        ImportOutcome::NotAttempted { .. } => {}
    }
    if dynamic.requires_gil == Some(true) {
        let how = match &dynamic.loaded_by {
            Some(importer) => format!(" (loaded while importing {importer})"),
            None => String::new(),
        };
        out.push(finding(
            FindingCode::GilReenabled,
            Severity::Error,
            name,
            format!("CPython re-enabled the GIL to load this module{how}"),
        ));
    }
    for (outcome, code, kind) in [
        (
            &dynamic.isolated_subinterpreter,
            FindingCode::IsolatedSubinterpreterFailed,
            "an isolated (own-GIL)",
        ),
        (
            &dynamic.legacy_subinterpreter,
            FindingCode::LegacySubinterpreterFailed,
            "a legacy (shared-GIL)",
        ),
    ] {
        // On a standard build the isolated import's failure is an interpreter-pool error.
        if code == FindingCode::IsolatedSubinterpreterFailed && context.standard_build() {
            continue;
        }
        if let Some(message) = outcome.as_ref().and_then(subinterpreter_failure) {
            out.push(finding(
                code,
                Severity::Note,
                name,
                format!("import in {kind} subinterpreter: {message}"),
            ));
        }
    }
    cross_check(file, out);
}

pub(super) fn subinterpreter_failure(outcome: &ImportOutcome) -> Option<String> {
    match outcome {
        ImportOutcome::Ok | ImportOutcome::NotAttempted { .. } => None,
        ImportOutcome::Error { exception, message } => Some(format!("{exception}: {message}")),
        ImportOutcome::Crashed { description, .. } => Some(format!("crashed: {description}")),
        ImportOutcome::TimedOut { seconds } => Some(format!("timed out after {seconds} s")),
        ImportOutcome::MemoryLimit { limit_mb } => Some(format!("exceeded {limit_mb} MiB")),
    }
}

fn cross_check(file: &NativeFile, out: &mut Vec<Finding>) {
    let (Some(dynamic), Some(module)) = (&file.dynamic, module_for_import(file)) else {
        return;
    };
    let name = Some(dynamic.module.as_str());
    let mut mismatch = |severity, message: String| {
        out.push(finding(
            FindingCode::StaticDynamicMismatch,
            severity,
            name,
            message,
        ));
    };
    match (module.gil.value, dynamic.requires_gil) {
        (GilDeclaration::NotUsed, Some(true)) => mismatch(
            Severity::Error,
            format!("the binary declares the GIL unused ({}), but the import re-enabled it", module.gil.evidence),
        ),
        (GilDeclaration::Used, Some(false)) => mismatch(
            Severity::Warning,
            format!("the binary declares no free-threading support ({}), but the import kept the GIL off", module.gil.evidence),
        ),
        (GilDeclaration::Undeterminable, Some(decided)) => {
            out.retain(|f| !(f.code == FindingCode::GilUndeterminable && f.module.as_deref() == name));
            out.push(finding(
                FindingCode::StaticDynamicMismatch,
                Severity::Note,
                name,
                format!(
                    "undecidable statically ({}); the import decided it: {}",
                    module.gil.evidence,
                    if decided { "needs the GIL" } else { "runs without the GIL" }
                ),
            ));
        }
        _ => {}
    }
    let isolated_ok = dynamic
        .isolated_subinterpreter
        .as_ref()
        .map(ImportOutcome::is_ok);
    let isolated_failed = dynamic
        .isolated_subinterpreter
        .as_ref()
        .and_then(subinterpreter_failure)
        .is_some();
    match module.multiple_interpreters.value {
        MultiInterpDeclaration::PerInterpreterGil if isolated_failed => out.push(finding(
            FindingCode::StaticDynamicMismatch,
            Severity::Warning,
            name,
            "declares per-interpreter GIL support, but the import in an isolated subinterpreter failed".into(),
        )),
        MultiInterpDeclaration::NotSupported | MultiInterpDeclaration::Supported if isolated_ok == Some(true) => out.push(finding(
            FindingCode::StaticDynamicMismatch,
            Severity::Warning,
            name,
            "does not declare per-interpreter GIL support, yet imported in an isolated subinterpreter".into(),
        )),
        _ => {}
    }
}
