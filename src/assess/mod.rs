//! Assessment: turns the facts each stage gathered into findings and the summary. Pure
//! functions of the report's data; no I/O.

mod abi;
mod dynamic;
mod modules;
mod packages;

use ftaudit_model::{
    Distribution, FileKind, Finding, GilDeclaration, NativeFile, Severity, Stages, StaticModule,
    Summary, TargetInterpreter,
};

/// What the findings rules need beyond the file itself.
pub struct Context<'a> {
    pub interpreter: Option<&'a TargetInterpreter>,
    /// True for venv / site-packages targets, where every file should be claimed by a RECORD.
    pub expects_records: bool,
    pub distributions: &'a [Distribution],
}

/// Replaces every file's findings with those its facts support.
pub fn assess(files: &mut [NativeFile], context: &Context) {
    for file in files.iter_mut() {
        let mut findings = Vec::new();
        modules::static_findings(file, context, &mut findings);
        abi::abi_findings(file, context, &mut findings);
        packages::package_findings(file, context, &mut findings);
        dynamic::dynamic_findings(file, &mut findings);
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
        file.findings = findings;
    }
}

/// The static module an imported dotted name resolves to: CPython calls `PyInit_<last part>`.
pub fn module_for_import(file: &NativeFile) -> Option<&StaticModule> {
    let facts = file.static_facts.as_ref()?;
    let wanted = file.module_name.as_deref()?.rsplit('.').next()?;
    facts.modules.iter().find(|m| m.name == wanted)
}

pub fn summarize(files: &[NativeFile], stages: &Stages, probe_expected: bool) -> Summary {
    let mut summary = Summary {
        native_files: files.len(),
        ..Summary::default()
    };
    for file in files {
        match &file.static_facts {
            Some(facts) => match facts.kind {
                FileKind::ExtensionModule => {
                    summary.extension_modules += 1;
                    for module in &facts.modules {
                        match module.gil.value {
                            GilDeclaration::NotUsed => summary.static_gil_not_used += 1,
                            GilDeclaration::Used => summary.static_gil_used += 1,
                            GilDeclaration::Undeterminable => {
                                summary.static_gil_undeterminable += 1
                            }
                        }
                    }
                }
                FileKind::SharedLibrary => summary.bundled_libraries += 1,
            },
            None if file.problem.is_some() => summary.unchecked_files += 1,
            None => {}
        }
        if let Some(dynamic) = &file.dynamic {
            if dynamic.requires_gil == Some(true) {
                summary.dynamic_gil_required += 1;
            }
            if dynamic.import.is_contained_failure() {
                summary.dynamic_contained += 1;
            } else if !dynamic.import.is_ok() {
                summary.dynamic_import_failed += 1;
            }
        }
        for finding in &file.findings {
            match finding.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Note => {}
            }
        }
    }
    let dynamic_incomplete = (probe_expected && stages.dynamic_skipped.is_some())
        || files.iter().any(|f| {
            f.dynamic.as_ref().is_some_and(|d| {
                d.import.is_contained_failure() || d.requires_gil.is_none() && d.import.is_ok()
            })
        });
    summary.incomplete = summary.unchecked_files > 0 || dynamic_incomplete;
    summary
}

fn finding(
    code: ftaudit_model::FindingCode,
    severity: Severity,
    module: Option<&str>,
    message: String,
) -> Finding {
    Finding {
        code,
        severity,
        module: module.map(str::to_string),
        message,
        fix: None,
    }
}
