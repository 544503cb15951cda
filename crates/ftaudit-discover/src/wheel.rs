//! Wheels, read in place: the central directory lists the members, `*.dist-info/` gives the
//! metadata, and every member is owned by the wheel's distribution.

use std::io::Read;
use std::path::{Path, PathBuf};

use ftaudit_model::{Distribution, InputProblem, InputProblemKind, Target};

use crate::metadata::{parse_metadata, parse_wheel_tags};
use crate::names::{is_native_file_name, module_name_for};
use crate::read::{declared_entry_count, open_wheel, OpenWheel, WheelArchive};
use crate::{DiscoverError, DiscoveredFile, Discovery, Location, Sources};
use rayon::prelude::*;

pub(crate) fn discover(target: Target, wheels: &[PathBuf]) -> Result<Discovery, DiscoverError> {
    // Opening a wheel reads its central directory (tens of thousands of entries for the
    // largest); wheels are independent, so they are opened in parallel.
    let opened: Vec<Result<ReadWheel, InputProblem>> =
        wheels.par_iter().map(|p| read_wheel(p)).collect();
    let mut sources = Sources::default();
    let mut distributions = Vec::new();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for read in opened {
        let ReadWheel {
            wheel,
            distribution,
            members,
            problems: wheel_problems,
        } = match read {
            Ok(read) => read,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        problems.extend(wheel_problems);
        let index = sources.add_wheel(wheel);
        for (i, member_name, size) in members {
            let relative = install_path(&member_name);
            files.push(DiscoveredFile {
                module_name: module_name_for(&relative),
                path: relative,
                location: Location::WheelMember {
                    wheel: index,
                    index: i,
                    name: member_name,
                },
                distribution: Some(distribution.name.clone()),
                size,
            });
        }
        distributions.push(distribution);
    }
    files.sort_by(|a, b| {
        a.path
            .cmp(&b.path)
            .then_with(|| a.distribution.cmp(&b.distribution))
    });
    Ok(Discovery {
        target,
        distributions,
        files,
        problems,
        sources,
    })
}

struct ReadWheel {
    wheel: OpenWheel,
    distribution: Distribution,
    /// (zip index, member name, uncompressed size) of each native member.
    members: Vec<(usize, String, u64)>,
    /// What is wrong with the wheel without stopping it from being read.
    problems: Vec<InputProblem>,
}

fn read_wheel(path: &Path) -> Result<ReadWheel, InputProblem> {
    let wheel = open_wheel(path)
        .map_err(|message| InputProblem::new(path, InputProblemKind::BadWheel, message))?;
    let mut problems = Vec::new();
    let mut bad_metadata = |message: String| {
        problems.push(InputProblem::new(
            path,
            InputProblemKind::BadMetadata,
            message,
        ))
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (name_from_file, version_from_file, tags_from_file) = parse_wheel_file_name(&file_name);
    let mut archive = wheel.archive.clone();
    let dist_info = dist_info_prefix(&archive);
    let mut read_dist_info_file = |archive: &mut WheelArchive, file: &str| {
        let Some(dir) = &dist_info else {
            return None;
        };
        let name = format!("{dir}{file}");
        match read_text(archive, &name) {
            Ok(text) => Some(text),
            Err(e) => {
                bad_metadata(format!("{name}: {e}"));
                None
            }
        }
    };
    let meta = read_dist_info_file(&mut archive, "METADATA")
        .map(|t| parse_metadata(&t))
        .unwrap_or_default();
    let wheel_tags = read_dist_info_file(&mut archive, "WHEEL")
        .map(|t| parse_wheel_tags(&t))
        .filter(|t| !t.is_empty())
        .unwrap_or(tags_from_file);
    if dist_info.is_none() {
        bad_metadata(
            "no *.dist-info/ folder: not a wheel as installers make them; name and version come from the file name"
                .into(),
        );
    }
    let (members, member_problems) = native_members(path, &mut archive);
    problems.extend(member_problems);
    if let Some(declared) = declared_entry_count(wheel.map.as_ref()) {
        let distinct = archive.len() as u64;
        if declared > distinct {
            problems.push(InputProblem::new(
                path,
                InputProblemKind::HostileMember,
                format!(
                    "the central directory lists {declared} entries but only {distinct} distinct names: {} duplicate member name(s), of which only one copy each is read",
                    declared - distinct
                ),
            ));
        }
    }
    Ok(ReadWheel {
        distribution: Distribution {
            name: meta.name.unwrap_or(name_from_file),
            version: meta.version.unwrap_or(version_from_file),
            wheel_tags,
            free_threading_classifier: meta.free_threading,
            source: path.to_path_buf(),
        },
        wheel,
        members,
        problems,
    })
}

/// The native members, by zip index. A member whose name escapes the wheel root (absolute,
/// `..`, a drive letter) is refused, as installers refuse it, and the wheel carries the problem.
fn native_members(
    path: &Path,
    archive: &mut WheelArchive,
) -> (Vec<(usize, String, u64)>, Vec<InputProblem>) {
    let hostile =
        |message: String| InputProblem::new(path, InputProblemKind::HostileMember, message);
    let mut members = Vec::new();
    let mut problems = Vec::new();
    for i in 0..archive.len() {
        let member = match archive.by_index_raw(i) {
            Ok(member) => member,
            Err(e) => {
                problems.push(hostile(format!("zip entry {i} cannot be read: {e}")));
                continue;
            }
        };
        let name = member.name().to_string();
        if member.enclosed_name().is_none() {
            problems.push(hostile(format!(
                "member {name:?} would be written outside the install folder (absolute path or `..`): refused"
            )));
            continue;
        }
        if member.is_file() && is_native_file_name(name.rsplit('/').next().unwrap_or("")) {
            members.push((i, name, member.size()));
        }
    }
    (members, problems)
}

/// `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`; compressed tag sets
/// (`cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64`) expand to every combination.
fn parse_wheel_file_name(file_name: &str) -> (String, String, Vec<String>) {
    let stem = file_name.trim_end_matches(".whl");
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() < 5 {
        return (stem.to_string(), String::new(), Vec::new());
    }
    let n = parts.len();
    let mut tags = Vec::new();
    for py in parts[n - 3].split('.') {
        for abi in parts[n - 2].split('.') {
            for plat in parts[n - 1].split('.') {
                tags.push(format!("{py}-{abi}-{plat}"));
            }
        }
    }
    (parts[0].to_string(), parts[1].to_string(), tags)
}

fn dist_info_prefix(archive: &WheelArchive) -> Option<String> {
    archive
        .file_names()
        .filter_map(|n| {
            n.split_once(".dist-info/")
                .map(|(d, _)| format!("{d}.dist-info/"))
        })
        .find(|d| !d.contains('/') || d.matches('/').count() == 1)
}

/// Metadata files are small text; one that claims more than this is refused unread.
const MAX_METADATA_SIZE: u64 = 64 << 20;

fn read_text(archive: &mut WheelArchive, name: &str) -> Result<String, String> {
    let member = archive.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => "missing".to_string(),
        e => format!("cannot be read: {e}"),
    })?;
    if member.size() > MAX_METADATA_SIZE {
        return Err(format!(
            "declares {} bytes: not metadata, not read",
            member.size()
        ));
    }
    let mut text = String::new();
    member
        .take(MAX_METADATA_SIZE)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot be read: {e}"))?;
    Ok(text)
}

/// Where a member lands when installed: `x-1.0.data/platlib/a/b.so` -> `a/b.so`.
fn install_path(member: &str) -> String {
    if let Some((first, rest)) = member.split_once('/') {
        if first.ends_with(".data") {
            if let Some(rest) = rest
                .strip_prefix("platlib/")
                .or_else(|| rest.strip_prefix("purelib/"))
            {
                return rest.to_string();
            }
        }
    }
    member.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_file_names_expand_compressed_tags() {
        let (name, version, tags) = parse_wheel_file_name(
            "numpy-2.3.1-cp313-cp313t-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        );
        assert_eq!((name.as_str(), version.as_str()), ("numpy", "2.3.1"));
        assert_eq!(
            tags,
            [
                "cp313-cp313t-manylinux_2_27_x86_64",
                "cp313-cp313t-manylinux_2_28_x86_64"
            ]
        );
    }

    #[test]
    fn data_members_install_to_the_root() {
        assert_eq!(install_path("x-1.0.data/platlib/x/_c.so"), "x/_c.so");
        assert_eq!(install_path("x/_c.so"), "x/_c.so");
    }
}
