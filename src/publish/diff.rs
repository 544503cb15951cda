//! `ftaudit diff OLD NEW`: what became ready, what regressed, what is new or gone, and which
//! findings appeared or went away (by fingerprint), between two reports.

use std::collections::{BTreeMap, BTreeSet};

use ftaudit_model::{FileKind, Report, Severity};
use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct Diff {
    pub became_ready: Vec<String>,
    pub regressed: Vec<String>,
    pub new_modules: Vec<String>,
    pub removed_modules: Vec<String>,
    /// Fingerprints of error and warning findings only in NEW / only in OLD.
    pub new_findings: Vec<String>,
    pub resolved_findings: Vec<String>,
}

impl Diff {
    pub fn has_regressions(&self) -> bool {
        !self.regressed.is_empty() || !self.new_findings.is_empty()
    }
}

/// Module name -> ready (no error-level finding that counts, and not needing the GIL).
fn modules(report: &Report) -> BTreeMap<String, bool> {
    report
        .files
        .iter()
        .filter(|f| {
            f.static_facts
                .as_ref()
                .is_none_or(|s| s.kind == FileKind::ExtensionModule)
        })
        .map(|f| {
            let name = format!(
                "{} {}",
                f.distribution.as_deref().unwrap_or("(no RECORD)"),
                f.module_name.clone().unwrap_or_else(|| f.path.clone())
            );
            let ready = !f
                .findings
                .iter()
                .any(|x| x.suppressed.is_none() && x.severity == Severity::Error);
            (name, ready)
        })
        .collect()
}

fn findings(report: &Report) -> BTreeSet<String> {
    report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .chain(&report.policy.findings)
        .filter(|f| f.suppressed.is_none() && f.severity >= Severity::Warning)
        .map(|f| f.fingerprint.clone())
        .collect()
}

pub fn diff(old: &Report, new: &Report) -> Diff {
    let (before, after) = (modules(old), modules(new));
    let mut d = Diff::default();
    for (name, ready) in &after {
        match before.get(name) {
            None => d.new_modules.push(name.clone()),
            Some(false) if *ready => d.became_ready.push(name.clone()),
            Some(true) if !*ready => d.regressed.push(name.clone()),
            _ => {}
        }
    }
    d.removed_modules = before
        .keys()
        .filter(|n| !after.contains_key(*n))
        .cloned()
        .collect();
    let (f_old, f_new) = (findings(old), findings(new));
    d.new_findings = f_new.difference(&f_old).cloned().collect();
    d.resolved_findings = f_old.difference(&f_new).cloned().collect();
    d
}

/// The diff as text, one section per kind of change.
pub fn diff_text(d: &Diff) -> String {
    let mut out = String::new();
    for (title, items) in [
        ("became ready", &d.became_ready),
        ("regressed", &d.regressed),
        ("new modules", &d.new_modules),
        ("removed modules", &d.removed_modules),
        ("new findings", &d.new_findings),
        ("resolved findings", &d.resolved_findings),
    ] {
        out.push_str(&format!("{title}: {}\n", items.len()));
        for i in items {
            out.push_str(&format!("  {i}\n"));
        }
    }
    out
}
