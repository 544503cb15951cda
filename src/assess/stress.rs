//! Findings from the stress stage: one per module whose verdict is bad news.

use ftaudit_model::{Finding, FindingCode, NativeFile, Severity, StressVerdict};

use super::finding;

pub fn stress_findings(file: &NativeFile, findings: &mut Vec<Finding>) {
    let Some(stress) = &file.stress else { return };
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
            format!("more threads made it slower: speed-up {speedup:.2}x at the usable core count.{replay}"),
        )),
        StressVerdict::Serialises { speedup, note, .. } => findings.push(finding(
            FindingCode::StressSerialises,
            Severity::Warning,
            module,
            format!("threads take turns: speed-up {speedup:.2}x at the usable core count ({note}).{replay}"),
        )),
        _ => {}
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
