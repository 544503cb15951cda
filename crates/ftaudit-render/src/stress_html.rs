//! The stress section of a report's HTML page: the machine, then per module its verdict and, per
//! recipe, the scaling table with its chart inline.

use std::fmt::Write as _;

use ftaudit_model::{Report, WorkloadTier};

use crate::chart::scaling_svg;
use crate::markup::escape;
use crate::stress_table::{header, verdict_text};

/// Empty when the stress stage did not run (or was not asked for).
pub fn section(report: &Report) -> String {
    let mut out = String::new();
    if let Some(reason) = &report.stages.stress_skipped {
        let _ = writeln!(
            out,
            "<section class=\"stress\"><h2>Stress</h2><p>not run: {}</p></section>",
            escape(reason)
        );
        return out;
    }
    let Some(run) = &report.stages.stress else {
        return out;
    };
    let _ = writeln!(
        out,
        "<section class=\"stress\" id=\"stress\"><h2>Stress</h2><p class=\"meta\">{}</p>",
        escape(&header(run))
    );
    let modules = report
        .files
        .iter()
        .filter_map(|f| f.stress.as_ref())
        .chain(run.stdlib.iter());
    for facts in modules {
        let _ = writeln!(
            out,
            "<h3 data-module=\"{m}\">{m}: <span class=\"verdict-{v}\">{t}</span></h3>",
            m = escape(&facts.module),
            v = facts.verdict.name(),
            t = escape(&verdict_text(&facts.verdict))
        );
        for workload in &facts.workloads {
            if workload.tier == WorkloadTier::Generic {
                let _ = writeln!(
                    out,
                    "<div>{} (generic): {}</div>",
                    escape(&workload.workload),
                    escape(&verdict_text(&workload.verdict))
                );
                continue;
            }
            let _ = writeln!(
                out,
                "<div>recipe {} ({}): {}</div>",
                escape(&workload.workload),
                escape(&workload.unit),
                escape(&verdict_text(&workload.verdict))
            );
            let ran: Vec<_> = workload
                .executors
                .iter()
                .filter(|e| !e.points.is_empty())
                .collect();
            if !ran.is_empty() {
                out.push_str("<table><thead><tr><th>workers</th>");
                for e in &ran {
                    let _ = write!(
                        out,
                        "<th>{}: median time</th><th>speed-up [Q1-Q3]</th><th>efficiency</th>",
                        e.kind.as_str()
                    );
                }
                out.push_str("</tr></thead><tbody>");
                for &n in &run.worker_counts {
                    let _ = write!(out, "<tr><td>{n}</td>");
                    for e in &ran {
                        match e.points.iter().find(|p| p.workers == n) {
                            Some(p) => {
                                let s = p
                                    .speedup
                                    .map(|s| format!("{:.2}x [{:.2}-{:.2}]", s.median, s.q1, s.q3))
                                    .unwrap_or_default();
                                let eff =
                                    p.efficiency.map(|x| format!("{x:.2}")).unwrap_or_default();
                                let _ = write!(
                                    out,
                                    "<td>{:.3} s</td><td>{s}</td><td>{eff}</td>",
                                    p.median_seconds
                                );
                            }
                            None => out.push_str("<td></td><td></td><td></td>"),
                        }
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table>\n");
            }
            if let Some(svg) = scaling_svg(facts, workload, run.cores.usable) {
                // plotters writes its own XML declaration; inline SVG must not have one.
                let body = svg.find("<svg").map_or(svg.as_str(), |i| &svg[i..]);
                out.push_str(body);
                out.push('\n');
            }
        }
        if let Some(synth) = &facts.synthesized {
            synthesized(synth, &mut out);
        }
    }
    out.push_str("</section>\n");
    out
}

/// The synthesized tier: its coverage line, each pattern's outcome, and each finding with its
/// rate and its reproducer (to copy and run).
fn synthesized(synth: &ftaudit_model::SynthFacts, out: &mut String) {
    let mut text = String::new();
    crate::synth_table::write_synthesized(synth, &mut text);
    let _ = writeln!(
        out,
        "<pre class=\"synth\">{}</pre>",
        escape(text.trim_end())
    );
    for f in &synth.findings {
        let _ = writeln!(
            out,
            "<details><summary>reproducer: {} in {} ({} of {} standalone runs)</summary><pre>{}</pre></details>",
            escape(f.kind.describe()),
            escape(&f.pattern),
            f.reproduced.failures,
            f.reproduced.runs,
            escape(&f.reproducer)
        );
    }
}
