//! A lock file as a scan target: [`ftaudit_lock::fetch`] picks each pin's wheel per target and
//! reads only its native members into slim wheels; each target's folder then goes through the
//! same static scan as any folder of wheels, and the results join one report (its files carry
//! their platform, so `merge` gives one column per target).

use std::path::Path;

use ftaudit_discover::DiscoverError;
use ftaudit_model::Report;

use crate::scan::{Progress, ScanOptions};

#[derive(Debug, Clone, Default)]
pub struct LockOptions {
    /// `3.14t`, `3.13t`, `3.15t`, `3.14`...; required for a lock target.
    pub python: Option<String>,
    /// Wheel platform tags; empty: [`ftaudit_lock::default_platforms`].
    pub platforms: Vec<String>,
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub offline: bool,
}

/// Whether `path` names a lock file rather than a folder, wheel or binary.
pub fn is_lock_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    path.is_file()
        && (name == "uv.lock"
            || (name.starts_with("pylock") && name.ends_with(".toml"))
            || name.ends_with(".txt"))
}

fn fatal(path: &Path, message: String) -> DiscoverError {
    DiscoverError::Unsupported {
        path: path.to_path_buf(),
        message,
    }
}

/// Elsewhere than on Linux: the lock reader is not built there (see Cargo.toml).
#[cfg(not(target_os = "linux"))]
pub fn scan_lock(
    options: &ScanOptions,
    _: &LockOptions,
    _: &dyn Progress,
) -> Result<Report, DiscoverError> {
    Err(fatal(
        &options.path,
        "lock files are audited by the Linux build of ftaudit only, for now".into(),
    ))
}

#[cfg(target_os = "linux")]
pub fn scan_lock(
    options: &ScanOptions,
    lock_options: &LockOptions,
    progress: &dyn Progress,
) -> Result<Report, DiscoverError> {
    use crate::scan::scan;
    use ftaudit_lock::{FetchOptions, NoWheelReason, Platform, PythonTarget, Target};
    use ftaudit_model::{
        InputProblem, InputProblemKind, LockAudit, LockMissing, LockTarget, LockWheel,
        TargetInterpreter, TargetKind,
    };
    let path = &options.path;
    let lock = ftaudit_lock::parse_lock(path).map_err(|e| fatal(path, e.to_string()))?;
    let python: PythonTarget = lock_options
        .python
        .as_deref()
        .ok_or_else(|| fatal(path, "a lock file needs the target interpreter: --python 3.14t (or 3.13t, 3.15t, 3.14...)".into()))?
        .parse()
        .map_err(|e: String| fatal(path, format!("--python: {e}")))?;
    let platforms: Vec<Platform> = if lock_options.platforms.is_empty() {
        ftaudit_lock::default_platforms()
    } else {
        lock_options
            .platforms
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|e: String| fatal(path, format!("--platform {p}: {e}")))
            })
            .collect::<Result<_, _>>()?
    };
    let targets: Vec<Target> = platforms
        .into_iter()
        .map(|p| Target::new(python, p))
        .collect();
    let fetch_options = FetchOptions {
        index_url: lock_options.index_url.clone(),
        extra_index_urls: lock_options.extra_index_urls.clone(),
        offline: lock_options.offline,
        ..FetchOptions::default()
    };
    progress.stage(
        "reading wheels from the index",
        lock.pins.len() * targets.len(),
    );
    let fetched = ftaudit_lock::fetch(&lock, &targets, &fetch_options);
    progress.finish_stage();

    let mut combined: Option<Report> = None;
    let mut lock_targets = Vec::new();
    let mut problems = Vec::new();
    for target in &fetched.targets {
        let name = target.target.name();
        let mut report = scan(
            &ScanOptions {
                path: target.wheels_dir.clone(),
                static_only: true,
                stress: None,
                shard: options.shard,
                ..options.clone()
            },
            progress,
        )?;
        // Bundled libraries were read only as far as their headers: the report gives their
        // real size, and says how they were read.
        for file in report.files.iter_mut() {
            let member = file.location.rsplit_once('!').map(|(_, m)| m.to_string());
            for picked in &target.picked {
                let in_wheel = file
                    .location
                    .starts_with(&picked.slim_path.display().to_string());
                if let (true, Some(m)) = (in_wheel, &member) {
                    if let Some(size) = picked.headers_only_sizes.get(m) {
                        file.size = *size;
                    }
                }
            }
        }
        let missing: Vec<LockMissing> = target
            .missing
            .iter()
            .map(|m| LockMissing {
                name: m.name.clone(),
                version: m.version.clone(),
                line: m.line,
                reason: shorten(&m.reason.to_string()),
                could_not_check: !matches!(m.reason, NoWheelReason::PureOnlyHere { .. }),
            })
            .collect();
        for m in missing.iter().filter(|m| m.could_not_check) {
            problems.push(InputProblem::new(
                path.clone(),
                InputProblemKind::NoWheel,
                format!(
                    "{}=={} (line {}) on {name}: {}",
                    m.name, m.version, m.line, m.reason
                ),
            ));
        }
        lock_targets.push(LockTarget {
            name,
            wheels: target
                .picked
                .iter()
                .map(|p| LockWheel {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    wheel: p.wheel.clone(),
                    url: p.url.clone(),
                    whole_download: p.whole_download,
                    from_cache: p.from_cache,
                    native_members: p.native_members.len(),
                    record_checked: p.record_checked,
                })
                .collect(),
            pure: target
                .pure
                .iter()
                .map(|p| format!("{}=={} {}", p.name, p.version, p.wheel))
                .collect(),
            missing,
            not_applicable: target.not_applicable.clone(),
        });
        match &mut combined {
            None => combined = Some(report),
            Some(all) => {
                all.files.append(&mut report.files);
                all.distributions.append(&mut report.distributions);
                all.input_problems.append(&mut report.input_problems);
            }
        }
    }
    let mut report = combined.ok_or_else(|| fatal(path, "no target platform to audit".into()))?;
    report.files.sort_by(|a, b| a.location.cmp(&b.location));
    report.input_problems.extend(problems);
    report.target.path = path.clone();
    report.target.kind = TargetKind::Lock;
    report.target.interpreter = Some(TargetInterpreter {
        version: python.to_string().trim_end_matches('t').to_string(),
        free_threaded: python.to_string().ends_with('t'),
        executable: None,
        evidence: format!("--python {python}"),
    });
    report.stages.lock = Some(LockAudit {
        lock: std::path::PathBuf::from(path),
        format: format!("{:?}", lock.format).to_lowercase(),
        indexes: fetched.indexes.clone(),
        targets: lock_targets,
        requests: fetched.requests,
        bytes_read: fetched.bytes_read,
        picked_wheel_bytes: fetched.picked_wheel_bytes,
    });
    report.summary = crate::assess::summarize(&report, false);
    report.summary.incomplete_allowed = options.policy.allow_incomplete;
    Ok(report)
}

/// A reason listing every wheel of a project (uvloop has 60) is cut to its first ones.
#[cfg(target_os = "linux")]
fn shorten(reason: &str) -> String {
    const MAX: usize = 400;
    if reason.len() <= MAX {
        return reason.to_string();
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let cut = reason[..end].rfind(", ").unwrap_or(end);
    let more = reason[cut..].matches(", ").count();
    format!("{} and {more} more", &reason[..cut])
}
