//! Applying a policy to an assessed report: levels, the allowlist (an expired entry is itself
//! a finding), the baseline. Runs before the summary, so counts and the exit status follow.

use ftaudit_model::{
    Finding, FindingCode, NativeFile, Report, Severity, SuppressedBy, Suppression,
};

use super::{Baseline, Level, Policy};

/// `code/distribution/module`: nothing of this machine (no paths outside the package, no
/// addresses), so a rebuild of the same wheel, or another machine, gives the same one. A file
/// without a module name uses its package-relative path without the platform suffix.
pub fn fingerprint(
    code: &str,
    distribution: Option<&str>,
    module: Option<&str>,
    path: &str,
) -> String {
    let dist = distribution
        .map(super::normalise_name)
        .unwrap_or_else(|| "-".into());
    let subject = match module {
        Some(m) => m.to_string(),
        None => {
            let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
            let stem = base.split('.').next().unwrap_or(base);
            if dir.is_empty() {
                stem.to_string()
            } else {
                format!("{dir}/{stem}")
            }
        }
    };
    format!("{code}/{dist}/{subject}")
}

/// Today as (year, month, day), UTC.
pub fn today() -> (u16, u8, u8) {
    let now = time::OffsetDateTime::now_utc();
    (now.year() as u16, u8::from(now.month()), now.day())
}

fn suppress(f: &mut Finding, by: SuppressedBy, reason: String) {
    if f.suppressed.is_none() {
        f.suppressed = Some(Suppression { by, reason });
    }
}

fn apply_to_file(
    file: &mut NativeFile,
    policy: &Policy,
    baseline: Option<&Baseline>,
    today: (u16, u8, u8),
    expired: &mut Vec<usize>,
) {
    let dist = file.distribution.clone();
    for f in &mut file.findings {
        let module = f.module.clone().or_else(|| file.module_name.clone());
        f.fingerprint = fingerprint(
            f.code.as_str(),
            dist.as_deref(),
            module.as_deref(),
            &file.path,
        );
        match policy.level(f.code, dist.as_deref(), module.as_deref()) {
            Some(Level::Deny) => f.severity = Severity::Error,
            Some(Level::Warn) => f.severity = Severity::Warning,
            Some(Level::Allow) => {
                let source = policy.source.as_deref().unwrap_or("policy");
                suppress(
                    f,
                    SuppressedBy::Policy,
                    format!("{} = \"allow\" in {source}", f.code.as_str()),
                );
            }
            None => {}
        }
        if let Some(entry) = policy.allow_entry(f.code, dist.as_deref(), module.as_deref()) {
            match entry.expires {
                Some(date) if date < today => {
                    if !expired.contains(&entry.index) {
                        expired.push(entry.index);
                    }
                }
                _ => suppress(f, SuppressedBy::Allowlist, entry.reason.clone()),
            }
        }
        if let Some(b) = baseline {
            if b.contains(&f.fingerprint) {
                suppress(
                    f,
                    SuppressedBy::Baseline,
                    format!("in the baseline {}", b.source),
                );
            }
        }
    }
}

/// Sets every finding's fingerprint, applies levels, allowlist and baseline, and records the
/// policy's own findings (expired allowlist entries) in `report.policy`.
pub fn apply(
    report: &mut Report,
    policy: &Policy,
    baseline: Option<&Baseline>,
    today: (u16, u8, u8),
) {
    let mut expired = Vec::new();
    for file in &mut report.files {
        apply_to_file(file, policy, baseline, today, &mut expired);
    }
    report.policy.source = policy.source.clone();
    report.policy.baseline = baseline.map(|b| b.source.clone());
    expired.sort_unstable();
    for index in expired {
        let entry = &policy.allow[index];
        let (y, m, d) = entry.expires.unwrap_or_default();
        let subject = [entry.distribution.as_ref(), entry.module.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(" / ");
        let mut finding = Finding {
            code: FindingCode::AllowlistExpired,
            severity: FindingCode::AllowlistExpired.rule().default_severity,
            module: None,
            message: format!(
                "allow[{index}] ({} for {subject}, \"{}\") expired on {y:04}-{m:02}-{d:02}: its findings count again",
                entry.code.as_str(),
                entry.reason
            ),
            fix: Some("remove the entry, or extend `expires` with a reason that still holds".into()),
            fingerprint: format!("allowlist-expired/{}/{subject}", entry.code.as_str()),
            suppressed: None,
        };
        match policy.level(FindingCode::AllowlistExpired, None, None) {
            Some(Level::Warn) => finding.severity = Severity::Warning,
            Some(Level::Allow) => suppress(
                &mut finding,
                SuppressedBy::Policy,
                "allowlist-expired = \"allow\"".into(),
            ),
            _ => {}
        }
        report.policy.findings.push(finding);
    }
}
