//! Exit statuses, one place, so CI users can rely on them.

use ftaudit_model::Report;
use ftaudit_probe::StopSignal;

/// Everything was checked and nothing at error level was found.
pub const CLEAN: u8 = 0;
/// Everything was checked; at least one error-level finding (after the policy: allowlisted,
/// baselined and allowed findings do not count).
pub const FINDINGS: u8 = 1;
/// Something could not be checked (unreadable files, the probe could not run, ...): the report
/// is incomplete, whatever else it found, unless the policy says `incomplete = "allow"`.
pub const INCOMPLETE: u8 = 2;
/// The scan could not run at all (bad arguments, a bad policy or baseline, target missing).
pub const FATAL: u8 = 3;
/// Stopped by SIGINT (Ctrl-C): 128 + 2, as shells report it. The partial report was written.
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM: 128 + 15. The partial report was written.
pub const TERMINATED: u8 = 143;

pub fn for_signal(signal: StopSignal) -> u8 {
    match signal {
        StopSignal::Interrupt => INTERRUPTED,
        StopSignal::Terminate => TERMINATED,
    }
}

pub fn for_report(report: &Report) -> u8 {
    if report.summary.incomplete && !report.summary.incomplete_allowed {
        INCOMPLETE
    } else if report.summary.errors > 0 {
        FINDINGS
    } else {
        CLEAN
    }
}
