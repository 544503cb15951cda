//! The merged matrix's roll-up, one line per distribution and one cell per column: the view
//! that compares builds and platforms package by package (free-threaded against the standard
//! build, Linux against macOS). Only displays what `merge` counted.

use std::fmt::Write;

use ftaudit_model::{
    ColumnVerdict, Matrix, MatrixChanges, MatrixPackageCell, PackageChange, PackageVerdict,
    Readiness,
};

/// A cell's words: the GIL counts on a free-threaded column, the subinterpreter counts on a
/// standard build's (where every module's GIL verdict is "not applicable").
pub fn describe(cell: &MatrixPackageCell) -> String {
    let mut parts = Vec::new();
    let standard = cell.gil_not_applicable == cell.modules;
    if !standard {
        parts.push(format!("{}/{} GIL-free", cell.gil_free, cell.modules));
        if cell.needs_gil > 0 {
            parts.push(format!("{} need the GIL", cell.needs_gil));
        }
        if cell.gil_unknown > 0 {
            parts.push(format!("{} unknown", cell.gil_unknown));
        }
    }
    let tried = cell.isolated_ok + cell.isolated_refused;
    if tried > 0 || standard {
        parts.push(format!(
            "{}/{} in subinterpreters",
            cell.isolated_ok, cell.modules
        ));
    }
    if cell.import_failures > 0 {
        parts.push(format!("{} import failures", cell.import_failures));
    }
    if cell.modules_with_errors > 0 {
        parts.push(format!("{} with errors", cell.modules_with_errors));
    }
    if cell.crashes > 0 {
        parts.push(format!("{} crashed", cell.crashes));
    }
    if cell.classifier_contradicted {
        if let Some(level) = cell.classifier {
            parts.push(format!("contradicts its classifier '{}'", level.label()));
        }
    }
    if cell.stressed > 0 {
        parts.push(if cell.stress_failures > 0 {
            format!("stress: {}/{} failed", cell.stress_failures, cell.stressed)
        } else {
            format!("stress: {} passed", cell.stressed)
        });
    }
    parts.join(", ")
}

/// A verdict in words and a shape, so it reads without colour: (symbol, words).
pub fn verdict_words(verdict: PackageVerdict) -> (&'static str, &'static str) {
    match verdict {
        PackageVerdict::Ready => ("✓", "ready"),
        PackageVerdict::NotReady => ("✗", "not ready"),
        PackageVerdict::CouldNotCheck => ("?", "could not check"),
    }
}

/// What stands behind a column's answer, in packages: the sentence a reader quotes.
pub fn column_findings(v: &ColumnVerdict) -> String {
    let mut parts = Vec::new();
    if v.readiness == Readiness::FreeThreading {
        parts.push(format!("{} need the GIL", v.packages_needing_gil));
    }
    parts.push(format!("{} fail to import", v.packages_failing_import));
    parts.push(format!(
        "{} refuse isolated subinterpreters",
        v.packages_refusing_isolated
    ));
    parts.push(format!("{} crash the interpreter", v.packages_crashing));
    parts.push(format!("{} failed under stress", v.packages_failing_stress));
    let mut text = format!("Packages with a module that: {}.", parts.join(", "));
    if v.readiness == Readiness::FreeThreading && v.packages_with_classifier > 0 {
        text.push_str(&format!(
            " {} of the {} packages that declare a Free Threading classifier are contradicted by the evidence.",
            v.packages_contradicting_classifier, v.packages_with_classifier
        ));
    }
    if v.readiness == Readiness::FreeThreading {
        // Every package in a free-threaded column has a wheel for that ABI: a tracker that reads
        // wheel tags shows it green.
        text.push_str(&format!(
            " A wheel-tag tracker shows all {} green; {} are not ready and {} could not be checked.",
            v.packages, v.not_ready, v.could_not_check
        ));
    }
    text
}

/// The interpreters behind the matrix, each once, in the order of the reports.
pub fn interpreters(matrix: &Matrix) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::new();
    for s in &matrix.sources {
        if !seen.contains(&s.interpreter.as_str()) {
            seen.push(&s.interpreter);
        }
    }
    seen
}

/// "3 became ready, 1 regressed, 2 new, 0 gone" per column, then the names, as Markdown bullets.
pub fn changes_markdown(changes: &MatrixChanges) -> String {
    let mut out = format!(
        "Since the previous publication ({}):\n\n",
        changes.previous_generated_at
    );
    if changes.columns.is_empty() {
        out.push_str("- no package changed verdict, version, or column.\n");
    }
    let names = |list: &[PackageChange]| -> String {
        list.iter()
            .map(|c| match (&c.before, &c.after) {
                (Some(b), Some(a)) if b.version != a.version => {
                    format!("{} {} → {}", c.distribution, b.version, a.version)
                }
                (_, Some(a)) | (Some(a), None) => format!("{} {}", c.distribution, a.version),
                (None, None) => c.distribution.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    for c in &changes.columns {
        let _ = write!(
            out,
            "- **{}**: {} became ready, {} regressed, {} new, {} gone, {} updated.",
            c.column.replace('|', "\\|"),
            c.became_ready.len(),
            c.regressed.len(),
            c.new.len(),
            c.gone.len(),
            c.updated.len()
        );
        for (title, list) in [
            ("Became ready", &c.became_ready),
            ("Regressed", &c.regressed),
            ("New", &c.new),
            ("Gone", &c.gone),
        ] {
            if !list.is_empty() {
                let _ = write!(out, " {title}: {}.", names(list));
            }
        }
        out.push('\n');
    }
    out
}

/// The roll-up as a Markdown table (`ftaudit merge --format markdown`), after the summary.
pub fn matrix_markdown(matrix: &Matrix, title: &str) -> String {
    let mut out = format!("## {title}\n\n");
    let _ = writeln!(
        out,
        "{} packages audited, generated {} by ftaudit {}, on {}.\n",
        matrix.packages.len(),
        matrix.provenance.generated_at,
        matrix.tool.version,
        interpreters(matrix).join("; ")
    );
    for v in &matrix.verdicts {
        let (shape, words) = verdict_words(v.verdict);
        let _ = writeln!(
            out,
            "- **{}: {shape} {} for {}.** {} not ready, {} could not check, {} ready of {} packages ({} modules). {}",
            v.column.replace('|', "\\|"),
            words.to_uppercase(),
            v.readiness.describe(),
            v.not_ready,
            v.could_not_check,
            v.ready,
            v.packages,
            v.modules,
            column_findings(v)
        );
    }
    out.push('\n');
    if let Some(changes) = &matrix.changes {
        out.push_str(&changes_markdown(changes));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} distributions, {} modules, from {} report(s). Each cell: GIL-free modules of all (a \
         standard build's column: modules isolated subinterpreters load), then what failed.\n",
        matrix.packages.len(),
        matrix.rows.len(),
        matrix.sources.len()
    );
    let cell = |text: &str| text.replace('|', "\\|");
    let _ = writeln!(
        out,
        "| distribution | {} |",
        matrix
            .columns
            .iter()
            .map(|c| cell(c))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|---|{}", "---|".repeat(matrix.columns.len()));
    for package in &matrix.packages {
        let cells: Vec<String> = matrix
            .columns
            .iter()
            .map(|column| {
                package
                    .cells
                    .iter()
                    .find(|c| &c.column == column)
                    .map(|c| cell(&format!("{} {}", c.version, describe(c))))
                    .unwrap_or_default()
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            cell(&package.distribution),
            cells.join(" | ")
        );
    }
    out
}
