//! SARIF 2.1.0 (for GitHub code scanning and other SARIF readers): one run, the rule registry
//! as the driver's rules, one result per finding. Suppressed findings (allowlist, baseline,
//! policy) are kept as results with a suppression, so the audit trail survives an upload.

use ftaudit_model::{Finding, Report, Severity, RULES};
use serde_json::{json, Value};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn result(finding: &Finding, uri: &str, rule_index: usize) -> Value {
    let subject = finding.module.as_deref().unwrap_or(uri);
    let mut message = format!("{subject}: {}", finding.message);
    if let Some(fix) = &finding.fix {
        message.push_str(&format!(" Fix: {fix}"));
    }
    let mut r = json!({
        "ruleId": finding.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri}},
            "logicalLocations": finding.module.as_ref().map(|m| vec![json!({"name": m, "kind": "module"})]).unwrap_or_default(),
        }],
        "partialFingerprints": {"ftaudit/v1": finding.fingerprint},
    });
    if let Some(s) = &finding.suppressed {
        // Every suppression lives outside the scanned files: the policy file or a baseline.
        r["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{}: {}", s.by.as_str(), s.reason),
        }]);
    }
    r
}

/// The report as a SARIF log.
pub fn sarif(report: &Report) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.code.as_str(),
                "name": r.code.as_str(),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.help},
                "defaultConfiguration": {"level": level(r.default_severity)},
            })
        })
        .collect();
    let index = |f: &Finding| RULES.iter().position(|r| r.code == f.code).unwrap_or(0);
    let mut results = Vec::new();
    for file in &report.files {
        for f in &file.findings {
            results.push(result(f, &file.path, index(f)));
        }
    }
    for f in &report.policy.findings {
        let uri = report.policy.source.as_deref().unwrap_or("ftaudit.toml");
        results.push(result(f, uri, index(f)));
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "rules": rules,
            }},
            "results": results,
            "properties": {
                "target": report.target.path,
                "incomplete": report.summary.incomplete,
            },
        }],
    })
}
