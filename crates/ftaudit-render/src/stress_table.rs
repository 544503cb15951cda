//! The stress stage in the text report: the machine the figures come from, then per module its
//! verdict and, per recipe, a scaling table (workers x executor: median time with its
//! interquartile range, speed-up, efficiency), start-up cost and peak memory.

use std::fmt::Write;

use comfy_table::Table;
use ftaudit_model::{Report, StressFacts, StressRun, StressVerdict, WorkloadResult, WorkloadTier};

/// One line: the verdict and its figures or reason.
pub fn verdict_text(verdict: &StressVerdict) -> String {
    match verdict {
        StressVerdict::Unsafe { reasons } => format!("UNSAFE: {}", reasons.join("; ")),
        StressVerdict::GilReenabled { module } => match module {
            Some(m) => format!("GIL RE-ENABLED while in use (by {m})"),
            None => "GIL RE-ENABLED while in use".into(),
        },
        StressVerdict::SlowsDown { speedup } => {
            format!("slows down: {speedup:.2}x with more threads")
        }
        StressVerdict::Serialises {
            speedup,
            efficiency,
            note,
        } => {
            format!("serialises: {speedup:.2}x, efficiency {efficiency:.2} ({note})")
        }
        StressVerdict::ScalesPartly {
            speedup,
            efficiency,
        } => format!("scales partly: {speedup:.2}x, efficiency {efficiency:.2}"),
        StressVerdict::Inconclusive { reason } => format!("inconclusive: {reason}"),
        StressVerdict::Scales {
            speedup,
            efficiency,
        } => format!("scales: {speedup:.2}x, efficiency {efficiency:.2}"),
        StressVerdict::Passed { checks } => format!(
            "generic checks passed ({}); no recipe measured its speed",
            checks.join(", ")
        ),
        StressVerdict::NotStressable { reason } => format!("not stressable: {reason}"),
    }
}

pub fn write_stress(report: &Report, table_of: &dyn Fn() -> Table, out: &mut String) {
    if let Some(reason) = &report.stages.stress_skipped {
        let _ = writeln!(out, "\nstress: NOT RUN: {reason}");
        return;
    }
    let Some(run) = &report.stages.stress else {
        return;
    };
    let _ = writeln!(out, "\nstress: {}", header(run));
    if let Some(line) = crate::table::sandbox_line(&run.sandbox) {
        let _ = writeln!(out, "stress: {line}");
    }
    let modules = report
        .files
        .iter()
        .filter_map(|f| f.stress.as_ref())
        .chain(run.stdlib.iter());
    for facts in modules {
        write_module(facts, run, table_of, out);
    }
}

pub fn header(run: &StressRun) -> String {
    format!(
        "{} usable core(s) of {} online, load {:.2} before / {:.2} after; seed {}; workers {}; {} round(s) of >= {:.2} s of work each; python {} {}{}",
        run.cores.usable,
        run.cores.online,
        run.cores.loadavg_start[0],
        run.cores.loadavg_end[0],
        run.seed,
        run.worker_counts.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
        run.repeats,
        run.target_seconds,
        run.executable.display(),
        run.interpreter.version,
        run.interpreter.abiflags
    )
}

fn write_module(
    facts: &StressFacts,
    run: &StressRun,
    table_of: &dyn Fn() -> Table,
    out: &mut String,
) {
    let _ = writeln!(out, "\n{}: {}", facts.module, verdict_text(&facts.verdict));
    for workload in &facts.workloads {
        if workload.tier == WorkloadTier::Generic {
            let _ = writeln!(
                out,
                "  {} (generic): {}",
                workload.workload,
                verdict_text(&workload.verdict)
            );
            continue;
        }
        let units = workload
            .total_units
            .map(|u| format!(", {u} units"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  recipe {} ({}{units}): {}",
            workload.workload,
            workload.unit,
            verdict_text(&workload.verdict)
        );
        if let Some(table) = scaling_table(workload, run, table_of) {
            for line in table.to_string().lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        for executor in &workload.executors {
            if let Some(reason) = &executor.not_run {
                let _ = writeln!(out, "    {}: not run: {reason}", executor.kind.as_str());
            }
        }
    }
    if let Some(synth) = &facts.synthesized {
        crate::synth_table::write_synthesized(synth, out);
    }
    if !matches!(
        facts.verdict,
        StressVerdict::Scales { .. } | StressVerdict::Passed { .. }
    ) {
        let _ = writeln!(out, "  replay: {}", facts.replay);
    }
}

fn scaling_table(
    workload: &WorkloadResult,
    run: &StressRun,
    table_of: &dyn Fn() -> Table,
) -> Option<Table> {
    let ran: Vec<_> = workload
        .executors
        .iter()
        .filter(|e| !e.points.is_empty())
        .collect();
    if ran.is_empty() {
        return None;
    }
    let mut table = table_of();
    let mut header = vec!["workers".to_string()];
    for e in &ran {
        header.push(format!("{}: time (IQR)", e.kind.as_str()));
        header.push("speed-up".into());
        header.push("eff.".into());
    }
    table.set_header(header);
    for &workers in &run.worker_counts {
        let mut row = vec![if workers > run.cores.usable {
            format!("{workers} (> cores)")
        } else {
            workers.to_string()
        }];
        for e in &ran {
            match e.points.iter().find(|p| p.workers == workers) {
                Some(p) => {
                    let iqr = crate::stress_table::iqr(&p.wall_seconds);
                    row.push(format!("{:.3} s ({:.3})", p.median_seconds, iqr));
                    row.push(
                        p.speedup
                            .map(|s| format!("{:.2}x [{:.2}-{:.2}]", s.median, s.q1, s.q3))
                            .unwrap_or_else(|| "-".into()),
                    );
                    row.push(
                        p.efficiency
                            .map(|x| format!("{x:.2}"))
                            .unwrap_or_else(|| "-".into()),
                    );
                }
                None => row.extend(["-".to_string(), "-".to_string(), "-".to_string()]),
            }
        }
        table.add_row(row);
    }
    let mut startup = vec!["start-up, peak RSS".to_string()];
    for e in &ran {
        startup.push(
            e.startup_seconds
                .map(|s| format!("{s:.3} s"))
                .unwrap_or_else(|| "-".into()),
        );
        startup.push(
            e.peak_rss_mb
                .map(|m| format!("{m:.0} MB"))
                .unwrap_or_else(|| "-".into()),
        );
        startup.push(
            e.verdict
                .as_ref()
                .map(|v| v.name().replace('_', " "))
                .unwrap_or_default(),
        );
    }
    table.add_row(startup);
    Some(table)
}

/// Interquartile range of wall times (display only: the verdict used the speed-ups' spread).
fn iqr(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.len() < 2 {
        return 0.0;
    }
    let at = |q: f64| {
        let pos = q * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    at(0.75) - at(0.25)
}
