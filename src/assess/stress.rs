//! Findings from the stress stage: one per module whose verdict is bad news.

use ftaudit_model::{
    ExecutorKind, Finding, FindingCode, NativeFile, Severity, StressVerdict, SynthFacts,
    SynthFailureKind,
};

use super::{finding, Context};

pub fn stress_findings(file: &NativeFile, context: &Context, findings: &mut Vec<Finding>) {
    let Some(stress) = &file.stress else { return };
    // Whose speed the verdict measured: threads, or a standard build's subinterpreters.
    let workers = match context.stress_executor {
        Some(ExecutorKind::Subinterpreters) => "subinterpreters",
        Some(ExecutorKind::Processes) => "processes",
        _ => "threads",
    };
    let module = Some(stress.module.as_str());
    let replay = format!(" Replay: {}", stress.replay);
    match &stress.verdict {
        StressVerdict::Unsafe { reasons } => findings.push(finding(
            FindingCode::StressUnsafe,
            Severity::Error,
            module,
            format!("unsafe under concurrent use: {}.{replay}", reasons.join("; ")),
        )),
        StressVerdict::GilReenabled { module: culprit } => findings.push(finding(
            FindingCode::StressGilReenabled,
            Severity::Error,
            module,
            match culprit {
                Some(c) => format!("imports GIL-free, but using it re-enabled the GIL: it loads {c}, which needs the GIL.{replay}"),
                None => format!("imports GIL-free, but using it re-enabled the GIL.{replay}"),
            },
        )),
        StressVerdict::SlowsDown { speedup } => findings.push(finding(
            FindingCode::StressSlowsDown,
            Severity::Warning,
            module,
            format!("more {workers} made it slower: speed-up {speedup:.2}x at the usable core count.{replay}"),
        )),
        StressVerdict::Serialises { speedup, note, .. } => findings.push(finding(
            FindingCode::StressSerialises,
            Severity::Warning,
            module,
            format!("{workers} take turns: speed-up {speedup:.2}x at the usable core count ({note}).{replay}"),
        )),
        _ => {}
    }
    if let Some(synth) = &stress.synthesized {
        synth_findings(synth, module, findings);
    }
}

/// One finding per synthesized-tier failure. A failure whose reproducer did not fail once on
/// its own is a warning, flagged flaky: reported, never dropped, never an error.
fn synth_findings(synth: &SynthFacts, module: Option<&str>, findings: &mut Vec<Finding>) {
    for f in &synth.findings {
        let code = match f.kind {
            SynthFailureKind::Crash | SynthFailureKind::Hang => FindingCode::StressCrash,
            SynthFailureKind::InternalError => FindingCode::StressCorruption,
            SynthFailureKind::WrongResult => FindingCode::StressWrongResult,
            SynthFailureKind::NotShareable => FindingCode::StressNotShareable,
            SynthFailureKind::GilReenabled => FindingCode::StressGilReenabled,
        };
        let severity = if f.flaky {
            Severity::Warning
        } else {
            code.rule().default_severity
        };
        let what = match (&f.call, &f.exception, &f.expected, &f.got) {
            (Some(call), Some(exc), _, _) => format!(
                "{call} raised {exc}: {}",
                f.message.as_deref().unwrap_or_default()
            ),
            (Some(call), None, Some(want), Some(got)) => {
                format!("{call} gave {got} (alone: {want})")
            }
            _ => f
                .detail
                .as_deref()
                .or(f.message.as_deref())
                .and_then(|d| d.lines().next())
                .unwrap_or_default()
                .to_string(),
        };
        findings.push(finding(
            code,
            severity,
            module,
            format!(
                "{}: {} in the synthesized {} pattern ({} threads, seed {}){}: {what}. The reproducer failed in {} of {} standalone runs{}; it is in the report (stress.synthesized.findings).",
                synth.distribution,
                f.kind.describe(),
                f.pattern,
                f.threads,
                f.seed,
                f.program.as_ref().map(|p| format!(" on {p}")).unwrap_or_default(),
                f.reproduced.failures,
                f.reproduced.runs,
                if f.flaky { " (flaky: not confirmed)" } else { "" },
            ),
        ));
    }
}

/// Adds the module's verdict to the summary's counts.
pub fn count(verdict: &StressVerdict, summary: &mut ftaudit_model::Summary) {
    match verdict {
        StressVerdict::Unsafe { .. } => summary.stress_unsafe += 1,
        StressVerdict::GilReenabled { .. } => summary.stress_gil_reenabled += 1,
        StressVerdict::SlowsDown { .. } => summary.stress_slows_down += 1,
        StressVerdict::Serialises { .. } => summary.stress_serialises += 1,
        StressVerdict::Scales { .. } => summary.stress_scales += 1,
        _ => summary.stress_other += 1,
    }
}
