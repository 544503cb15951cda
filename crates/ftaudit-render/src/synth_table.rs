//! The synthesized tier in the text table: coverage per distribution, each pattern's outcome,
//! and each finding with its failure rate (the reproducer itself is in the JSON report).

use std::fmt::Write;

use ftaudit_model::{ApiCount, SynthFacts};

fn count(name: &str, c: &ApiCount) -> String {
    format!(
        "{} of {} {name} exercised ({} skipped)",
        c.exercised, c.found, c.skipped
    )
}

pub fn write_synthesized(synth: &SynthFacts, out: &mut String) {
    let c = &synth.coverage;
    if let Some(reason) = &synth.not_run {
        let _ = writeln!(
            out,
            "  synthesized ({}): NOT RUN: {reason}",
            synth.distribution
        );
        if c.programs == 0 {
            return;
        }
    }
    let _ = writeln!(
        out,
        "  synthesized ({}, {}): {}; {}; {}; {} calls in {} programs ({} from doctests), {:.1} s of a {:.0} s budget",
        synth.distribution,
        synth.packages.join(", "),
        count("functions", &c.functions),
        count("classes", &c.classes),
        count("methods", &c.methods),
        c.calls,
        c.programs,
        c.doctest_programs,
        synth.elapsed_seconds,
        synth.budget_seconds
    );
    for reason in &c.skipped {
        let _ = writeln!(
            out,
            "    skipped {}: {} (e.g. {})",
            reason.count,
            reason.reason,
            reason.examples.join(", ")
        );
    }
    if let Some(call) = &c.stalled {
        let _ = writeln!(out, "    discovery stopped: {call} did not return");
    }
    let patterns: Vec<String> = synth
        .patterns
        .iter()
        .map(|p| format!("{} {}", p.pattern, p.outcome))
        .collect();
    if !patterns.is_empty() {
        let _ = writeln!(out, "    patterns: {}", patterns.join(", "));
    }
    for f in &synth.findings {
        let what = match (&f.call, &f.exception, &f.expected, &f.got) {
            (Some(call), Some(exc), _, _) => format!("{call} raised {exc}"),
            (Some(call), None, Some(want), Some(got)) => format!("{call} gave {got}, alone {want}"),
            _ => f
                .detail
                .as_deref()
                .and_then(|d| d.lines().next())
                .unwrap_or_default()
                .to_string(),
        };
        let _ = writeln!(
            out,
            "    FOUND {} in {}{}: {what}; reproducer failed {} of {} standalone runs{}",
            f.kind.describe(),
            f.pattern,
            f.program
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default(),
            f.reproduced.failures,
            f.reproduced.runs,
            if f.flaky { " (flaky)" } else { "" }
        );
    }
}
