//! Assessment: turns the facts each stage gathered into findings and the summary. Pure
//! functions of the report's data; no I/O.

mod abi;
mod dynamic;
mod interpreters;
mod modules;
mod packages;
mod sandbox;
mod stress;
mod summary;

pub use summary::summarize;

use ftaudit_model::{
    Distribution, ExecutorKind, Finding, NativeFile, SandboxReport, Severity, StaticFacts,
    StaticModule, TargetInterpreter,
};

/// What the findings rules need beyond the file itself.
pub struct Context<'a> {
    pub interpreter: Option<&'a TargetInterpreter>,
    /// True for venv / site-packages targets, where every file should be claimed by a RECORD.
    pub expects_records: bool,
    pub distributions: &'a [Distribution],
    /// The box the probe's imports ran in, and the stress stage's calls.
    pub probe_sandbox: Option<&'a SandboxReport>,
    pub stress_sandbox: Option<&'a SandboxReport>,
    /// The executor whose speed decided the stress verdicts, when the stage ran.
    pub stress_executor: Option<ExecutorKind>,
}

impl Context<'_> {
    /// The scanned environment runs a standard (GIL) build: free-threading findings do not
    /// apply there, and isolated subinterpreters are what is asked.
    pub fn standard_build(&self) -> bool {
        self.interpreter.is_some_and(|i| !i.free_threaded)
    }
}

/// Replaces every file's findings with those its facts support.
pub fn assess(files: &mut [NativeFile], context: &Context) {
    for file in files.iter_mut() {
        let mut findings = Vec::new();
        modules::static_findings(file, context, &mut findings);
        abi::abi_findings(file, context, &mut findings);
        packages::package_findings(file, context, &mut findings);
        dynamic::dynamic_findings(file, context, &mut findings);
        interpreters::interpreter_pool_findings(file, context, &mut findings);
        stress::stress_findings(file, context, &mut findings);
        sandbox::sandbox_findings(file, context, &mut findings);
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));
        file.findings = findings;
    }
}

/// The entry points of a file that are modules of their own (not another's alias, see
/// `StaticModule::alias_of`): only these get findings and counts.
pub fn own_modules(facts: &StaticFacts) -> impl Iterator<Item = &StaticModule> {
    facts.modules.iter().filter(|m| m.alias_of.is_none())
}

/// Whether a module runs without the GIL: what its import showed when the probe ran, else
/// what its binary declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GilStatus {
    Free,
    NeedsGil,
    Unknown,
}

pub fn gil_status(file: &NativeFile) -> GilStatus {
    let observed = file.dynamic.as_ref().and_then(|d| d.requires_gil);
    let declared = module_for_import(file).map(|m| m.gil.value);
    match (observed, declared) {
        (Some(false), _) | (None, Some(ftaudit_model::GilDeclaration::NotUsed)) => GilStatus::Free,
        (Some(true), _) | (None, Some(ftaudit_model::GilDeclaration::Used)) => GilStatus::NeedsGil,
        _ => GilStatus::Unknown,
    }
}

/// The static module an imported dotted name resolves to: CPython calls `PyInit_<last part>`.
pub fn module_for_import(file: &NativeFile) -> Option<&StaticModule> {
    let facts = file.static_facts.as_ref()?;
    let wanted = file.module_name.as_deref()?.rsplit('.').next()?;
    facts.modules.iter().find(|m| m.name == wanted)
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
        // Set by the policy stage, which knows the file's distribution.
        fingerprint: String::new(),
        suppressed: None,
    }
}
