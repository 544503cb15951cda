//! GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` line per finding
//! that counts, so a job shows them as annotations. The scanned files are not files of the
//! repository, so annotations carry a title (code and module) rather than a file position.

use std::fmt::Write as _;

use ftaudit_model::{Finding, Report, Severity};

/// Workflow-command escaping: data gets %, CR and LF encoded; properties also ':' and ','.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

fn line(out: &mut String, f: &Finding, subject: &str) {
    let command = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut message = f.message.clone();
    if let Some(fix) = &f.fix {
        message.push_str(&format!("\nfix: {fix}"));
    }
    let _ = writeln!(
        out,
        "::{command} title={}::{}",
        property(&format!("ftaudit {} {subject}", f.code.as_str())),
        data(&message)
    );
}

/// The report as workflow commands, errors and warnings only (notes are in the other formats).
pub fn github(report: &Report) -> String {
    let mut out = String::new();
    for file in &report.files {
        for f in file
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none() && f.severity != Severity::Note)
        {
            line(&mut out, f, f.module.as_deref().unwrap_or(&file.path));
        }
    }
    for f in report
        .policy
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
    {
        line(
            &mut out,
            f,
            report.policy.source.as_deref().unwrap_or("policy"),
        );
    }
    out
}
