//! Markdown for a CI job summary (`$GITHUB_STEP_SUMMARY`) or a pull-request comment: the
//! verdict, the per-distribution table, then the findings that count. Everything shown is read
//! from the report; nothing is decided here.

use std::fmt::Write as _;

use ftaudit_model::{Report, Severity};

use crate::names::generator_name;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let s = &report.summary;
    let mut out = String::new();
    let question = s.readiness.describe();
    let verdict = if s.incomplete && !s.incomplete_allowed {
        "**Incomplete**: something could not be checked".to_string()
    } else if s.errors > 0 {
        format!("**Not ready** for {question}")
    } else {
        format!("**Ready** for {question}: nothing at error level")
    };
    let _ = writeln!(
        out,
        "## ftaudit: {}\n",
        cell(&report.target.path.display().to_string())
    );
    let _ = writeln!(
        out,
        "{verdict}. {} error(s), {} warning(s); {} extension module(s) in {} native file(s).\n",
        s.errors, s.warnings, s.extension_modules, s.native_files
    );
    if let Some(run) = &report.stages.dynamic {
        let how = run
            .worker
            .as_ref()
            .map(|w| format!(", worker {} ({})", w.mode.as_str(), cell(&w.reason)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Imported on CPython {}{} (`{}`){how}.\n",
            run.interpreter.version, run.interpreter.abiflags, run.interpreter.ext_suffix
        );
    } else if let Some(why) = &report.stages.dynamic_skipped {
        let _ = writeln!(out, "Static reading only: {}.\n", cell(why));
    }
    if let Some(reused) = &report.stages.reused {
        let _ = writeln!(out, "{}\n", cell(&crate::names::reused_line(reused)));
    }
    out.push_str("| distribution | modules | GIL-free | needs GIL | unknown | import failures | errors | warnings |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for d in &s.by_distribution {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&d.name),
            d.extension_modules,
            d.gil_free,
            d.needs_gil,
            d.gil_unknown,
            d.import_failures,
            d.errors,
            d.warnings
        );
    }
    let mut rows = Vec::new();
    for file in &report.files {
        let generator = file
            .static_facts
            .as_ref()
            .and_then(|f| f.generator.as_ref())
            .map(generator_name)
            .unwrap_or_default();
        for f in file
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none() && f.severity != Severity::Note)
        {
            rows.push(format!(
                "| {:?} | `{}` | {} | {} | {} |",
                f.severity,
                f.code.as_str(),
                cell(f.module.as_deref().unwrap_or(&file.path)),
                cell(&generator),
                cell(&f.message)
            ));
        }
    }
    for f in report
        .policy
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
    {
        rows.push(format!(
            "| {:?} | `{}` | {} | | {} |",
            f.severity,
            f.code.as_str(),
            cell(report.policy.source.as_deref().unwrap_or("policy")),
            cell(&f.message)
        ));
    }
    if !rows.is_empty() {
        out.push_str("\n### Findings\n\n| level | code | module | generator | message |\n|---|---|---|---|---|\n");
        for r in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    let suppressed: usize = report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .chain(&report.policy.findings)
        .filter(|f| f.suppressed.is_some())
        .count();
    if suppressed > 0 {
        let _ = writeln!(out, "\n{suppressed} finding(s) suppressed by the allowlist, the baseline or the policy (listed in the JSON report).");
    }
    out
}
