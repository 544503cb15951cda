//! `scan --reuse OLD.json`: an unchanged distribution's probe and stress results are taken from
//! an earlier report instead of being run again, so a publication re-audits only what changed.
//! A distribution counts as unchanged when the earlier report was made by this ftaudit version
//! for the same interpreter with the same stages, and has the distribution at the same version
//! with the same native files (paths, sizes and module names), and `--rescan` does not name it (the publish
//! script names every distribution whose wheel hash moved). Static analysis always runs again:
//! it is cheap, and the findings are decided afresh from the facts.

use std::collections::{BTreeMap, BTreeSet};

use ftaudit_model::{Distribution, NativeFile, Report, Rescanned, Reused, Target};

use crate::policy::normalise_name;

/// The earlier report and what the caller says changed.
#[derive(Debug, Clone)]
pub struct ReuseFrom {
    pub path: String,
    pub report: Report,
    /// Distributions to run again whatever the report holds (normalised or not).
    pub rescan: Vec<String>,
}

/// The split of a scan's files: those whose results were taken over, and those to run.
pub struct Split {
    pub reused: Vec<NativeFile>,
    pub fresh: Vec<NativeFile>,
    pub record: Reused,
}

/// A native file as reuse compares it: path, size, and the module name discovery gave it (a
/// newer ftaudit may name a module the earlier one did not, and then it must be imported).
type FileKey = (String, u64, Option<String>);

/// Native files of each distribution, by normalised name.
fn files_by_distribution(files: &[NativeFile]) -> BTreeMap<String, BTreeSet<FileKey>> {
    let mut out: BTreeMap<String, BTreeSet<FileKey>> = BTreeMap::new();
    for f in files {
        if let Some(d) = &f.distribution {
            out.entry(normalise_name(d)).or_default().insert((
                f.path.clone(),
                f.size,
                f.module_name.clone(),
            ));
        }
    }
    out
}

/// Why the whole earlier report cannot stand in for this scan, if it cannot.
fn refusal(old: &Report, target: &Target, probing: bool, stressing: bool) -> Option<String> {
    let version = env!("CARGO_PKG_VERSION");
    if old.tool.version != version {
        return Some(format!(
            "made by ftaudit {}, this is {version}",
            old.tool.version
        ));
    }
    let interpreter = |t: &Target| {
        t.interpreter
            .as_ref()
            .map(|i| (i.version.clone(), i.free_threaded))
    };
    if interpreter(&old.target) != interpreter(target) {
        return Some("made for another interpreter".into());
    }
    if probing && old.stages.dynamic.is_none() {
        return Some("its import probe did not run".into());
    }
    if stressing != old.stages.stress.is_some() {
        return Some(if stressing {
            "its stress stage did not run".into()
        } else {
            "it ran the stress stage, this scan does not".into()
        });
    }
    None
}

/// Splits `files` (this scan's, after static analysis) into results taken from `from` and
/// files to probe (and stress). `probing`/`stressing`: the stages this scan runs.
pub fn split(
    from: &ReuseFrom,
    target: &Target,
    distributions: &[Distribution],
    files: Vec<NativeFile>,
    probing: bool,
    stressing: bool,
) -> Split {
    let old = &from.report;
    let mut record = Reused {
        from: from.path.clone(),
        generated_at: old.provenance.generated_at.clone(),
        ..Reused::default()
    };
    if let Some(why) = refusal(old, target, probing, stressing) {
        record.refused = Some(why);
        return Split {
            reused: Vec::new(),
            fresh: files,
            record,
        };
    }
    let rescan: BTreeSet<String> = from.rescan.iter().map(|n| normalise_name(n)).collect();
    let old_versions: BTreeMap<String, &str> = old
        .distributions
        .iter()
        .map(|d| (normalise_name(&d.name), d.version.as_str()))
        .collect();
    let old_files = files_by_distribution(&old.files);
    let new_files = files_by_distribution(&files);
    let mut unchanged: BTreeSet<String> = BTreeSet::new();
    let new_versions: BTreeMap<String, &str> = distributions
        .iter()
        .map(|d| (normalise_name(&d.name), d.version.as_str()))
        .collect();
    for (name, paths) in &new_files {
        let version = new_versions.get(name).copied();
        let reason = if rescan.contains(name) {
            Some("named by --rescan (its wheel changed)".to_string())
        } else if !old_versions.contains_key(name) {
            Some("not in the earlier report".to_string())
        } else if version != old_versions.get(name).copied() {
            Some(format!(
                "version {} then, {} now",
                old_versions[name],
                version.unwrap_or("unknown")
            ))
        } else if old_files.get(name) != Some(paths) {
            Some("its native files differ (paths, sizes or module names)".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => record.rescanned.push(Rescanned {
                distribution: name.clone(),
                reason,
            }),
            None => {
                unchanged.insert(name.clone());
            }
        }
    }
    let by_path: BTreeMap<&str, &NativeFile> =
        old.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let (mut reused, fresh): (Vec<NativeFile>, Vec<NativeFile>) =
        files.into_iter().partition(|f| {
            f.distribution
                .as_deref()
                .is_some_and(|d| unchanged.contains(&normalise_name(d)))
        });
    for file in &mut reused {
        if let Some(earlier) = by_path.get(file.path.as_str()) {
            file.dynamic = earlier.dynamic.clone();
            file.stress = earlier.stress.clone();
        }
    }
    record.distributions = unchanged.len();
    record.modules = reused.iter().filter(|f| f.module_name.is_some()).count();
    Split {
        reused,
        fresh,
        record,
    }
}
