//! Installed packages: walk site-packages folders, attribute files through dist-info RECORDs.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use ftaudit_model::{Distribution, Target};
use walkdir::WalkDir;

use crate::metadata::{
    name_version_from_dist_info, parse_metadata, parse_record, parse_wheel_tags,
};
use crate::names::{is_native_file_name, module_name_for};
use crate::{DiscoverError, DiscoveredFile, Discovery, DiscoveryProblem, Location, Sources};

pub(crate) fn discover(target: Target) -> Result<Discovery, DiscoverError> {
    let mut distributions = Vec::new();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for site in &target.site_packages {
        let owners = read_dist_infos(site, &mut distributions, &mut problems);
        walk_native_files(site, &owners, &mut files, &mut problems);
    }
    distributions.sort_by_key(|d: &Distribution| d.name.to_lowercase());
    files.sort_by(|a: &DiscoveredFile, b| a.path.cmp(&b.path));
    Ok(Discovery {
        target,
        distributions,
        files,
        problems,
        sources: Sources::default(),
    })
}

/// A folder (or one file) of native files with no packaging metadata.
pub(crate) fn discover_loose(target: Target) -> Result<Discovery, DiscoverError> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let root = target.path.clone();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = fs::metadata(&root).map(|m| m.len()).unwrap_or(0);
        files.push(DiscoveredFile {
            module_name: module_name_for(&name),
            path: name,
            location: Location::Disk(root),
            distribution: None,
            size,
        });
    } else {
        walk_native_files(&root, &HashMap::new(), &mut files, &mut problems);
        files.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(Discovery {
        target,
        distributions: Vec::new(),
        files,
        problems,
        sources: Sources::default(),
    })
}

/// Returns relative path -> owning distribution name.
fn read_dist_infos(
    site: &Path,
    distributions: &mut Vec<Distribution>,
    problems: &mut Vec<DiscoveryProblem>,
) -> HashMap<String, String> {
    let mut owners = HashMap::new();
    let entries = match fs::read_dir(site) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(DiscoveryProblem {
                path: site.to_path_buf(),
                message: format!("cannot list: {e}"),
            });
            return owners;
        }
    };
    let mut dist_infos: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.extension().is_some_and(|e| e == "dist-info"))
        .collect();
    dist_infos.sort();
    for dir in dist_infos {
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (fallback_name, fallback_version) = name_version_from_dist_info(&dir_name);
        let meta = match fs::read_to_string(dir.join("METADATA")) {
            Ok(text) => parse_metadata(&text),
            Err(e) => {
                problems.push(DiscoveryProblem {
                    path: dir.join("METADATA"),
                    message: format!("cannot read: {e}"),
                });
                Default::default()
            }
        };
        let name = meta.name.unwrap_or(fallback_name);
        let wheel_tags = fs::read_to_string(dir.join("WHEEL"))
            .map(|t| parse_wheel_tags(&t))
            .unwrap_or_default();
        match fs::read(dir.join("RECORD")) {
            Ok(bytes) => {
                let (paths, bad_rows) = parse_record(&bytes);
                if bad_rows > 0 {
                    problems.push(DiscoveryProblem {
                        path: dir.join("RECORD"),
                        message: format!("{bad_rows} malformed row(s) ignored"),
                    });
                }
                for path in paths {
                    owners.insert(normalize(&path), name.clone());
                }
            }
            Err(e) => problems.push(DiscoveryProblem {
                path: dir.join("RECORD"),
                message: format!("cannot read ({e}): files of {name} will show as unowned"),
            }),
        }
        distributions.push(Distribution {
            name,
            version: meta.version.unwrap_or(fallback_version),
            wheel_tags,
            free_threading_classifier: meta.free_threading,
            source: dir,
        });
    }
    owners
}

fn walk_native_files(
    root: &Path,
    owners: &HashMap<String, String>,
    files: &mut Vec<DiscoveredFile>,
    problems: &mut Vec<DiscoveryProblem>,
) {
    let walker = WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.file_name() != "__pycache__");
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                problems.push(DiscoveryProblem {
                    path,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        if !entry.file_type().is_file()
            || !is_native_file_name(&entry.file_name().to_string_lossy())
        {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(root) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        files.push(DiscoveredFile {
            distribution: owners.get(&relative).cloned(),
            module_name: module_name_for(&relative),
            path: relative,
            location: Location::Disk(entry.path().to_path_buf()),
            size,
        });
    }
}

fn normalize(record_path: &str) -> String {
    record_path.trim_start_matches("./").replace('\\', "/")
}
