//! JUnit XML, for CI systems that show test reports: one test suite per distribution, one test
//! case per extension module (or unreadable file). A case fails on an error-level finding, is
//! skipped when it could not be checked, and carries warnings and notes as its output. The
//! layout follows the XSD in `../shared/reference/schemas/junit.xsd` (validated in the tests).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ftaudit_model::{NativeFile, Report, Severity};

use crate::markup::escape;

struct Case<'a> {
    name: String,
    file: &'a NativeFile,
}

/// The case for one file: its module name, else its path.
fn case(file: &NativeFile) -> Case<'_> {
    Case {
        name: file
            .module_name
            .clone()
            .unwrap_or_else(|| file.path.clone()),
        file,
    }
}

/// The report as a JUnit XML document.
pub fn junit(report: &Report) -> String {
    let mut suites: BTreeMap<String, Vec<Case<'_>>> = BTreeMap::new();
    for file in &report.files {
        let is_library = file
            .static_facts
            .as_ref()
            .is_some_and(|f| f.kind == ftaudit_model::FileKind::SharedLibrary);
        if is_library && file.findings.is_empty() {
            continue;
        }
        let suite = file
            .distribution
            .clone()
            .unwrap_or_else(|| "(no RECORD)".into());
        suites.entry(suite).or_default().push(case(file));
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // The schema counts skipped cases per suite only.
    let (mut tests, mut failures) = (0, 0);
    let mut body = String::new();
    for (suite, cases) in &suites {
        let mut s_fail = 0;
        let mut s_skip = 0;
        let mut s_body = String::new();
        for c in cases {
            let active: Vec<_> = c
                .file
                .findings
                .iter()
                .filter(|f| f.suppressed.is_none())
                .collect();
            // A failure is an error about the module; "could not be checked" (at any level) skips it.
            let errors: Vec<_> = active
                .iter()
                .filter(|f| f.severity == Severity::Error && !f.code.rule().not_checked)
                .collect();
            let not_checked: Vec<_> = active
                .iter()
                .filter(|f| f.code.rule().not_checked)
                .collect();
            let unchecked = errors.is_empty() && !not_checked.is_empty();
            let _ = writeln!(
                s_body,
                "    <testcase name=\"{}\" classname=\"{}\">",
                escape(&c.name),
                escape(suite)
            );
            if unchecked {
                s_skip += 1;
                let why: Vec<String> = not_checked
                    .iter()
                    .map(|f| format!("{}: {}", f.code.as_str(), f.message))
                    .collect();
                let _ = writeln!(
                    s_body,
                    "      <skipped message=\"{}\"/>",
                    escape(&format!("could not be checked: {}", why.join("; ")))
                );
            } else if !errors.is_empty() {
                s_fail += 1;
                let first = errors[0];
                let text: Vec<String> = errors
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {}{}",
                            f.code.as_str(),
                            f.message,
                            f.fix
                                .as_ref()
                                .map(|x| format!("\nfix: {x}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                let _ = writeln!(
                    s_body,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    escape(&first.message),
                    first.code.as_str(),
                    escape(&text.join("\n"))
                );
            }
            // The schema gives a test case no file attribute: the path leads its output.
            let mut lines = vec![format!("file: {}", c.file.path)];
            lines.extend(
                active
                    .iter()
                    .filter(|f| f.severity != Severity::Error)
                    .map(|f| format!("{:?} {}: {}", f.severity, f.code.as_str(), f.message)),
            );
            let _ = writeln!(
                s_body,
                "      <system-out>{}</system-out>",
                escape(&lines.join("\n"))
            );
            s_body.push_str("    </testcase>\n");
        }
        tests += cases.len();
        failures += s_fail;
        let _ = write!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{s_fail}\" errors=\"0\" skipped=\"{s_skip}\">\n{s_body}  </testsuite>\n",
            escape(suite),
            cases.len()
        );
    }
    let _ = write!(
        out,
        "<testsuites name=\"ftaudit {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{body}</testsuites>\n",
        escape(&report.target.path.display().to_string())
    );
    out
}
