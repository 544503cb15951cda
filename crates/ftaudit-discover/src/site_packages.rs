//! Installed packages: walk site-packages folders, attribute files through dist-info RECORDs.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use ftaudit_model::{Distribution, InputProblem, InputProblemKind, Target};
use rayon::prelude::*;

use crate::metadata::{
    name_version_from_dist_info, parse_metadata, parse_record, parse_wheel_tags,
};
use crate::names::{is_native_file_name, module_name_for};
use crate::{DiscoverError, DiscoveredFile, Discovery, Location, Sources};

pub(crate) fn discover(target: Target) -> Result<Discovery, DiscoverError> {
    let mut distributions = Vec::new();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for site in &target.site_packages {
        // The metadata and the file tree are independent reads of the same folder.
        let ((dists, owners, dist_problems), (mut found, walk_problems)) =
            rayon::join(|| read_dist_infos(site), || walk_native_files(site));
        for file in &mut found {
            file.distribution = owners.get(&file.path).cloned();
        }
        distributions.extend(dists);
        files.extend(found);
        problems.extend(dist_problems);
        problems.extend(walk_problems);
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
        (files, problems) = walk_native_files(&root);
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

/// The distributions of one site-packages folder, and which of them owns each native file
/// (relative path -> distribution name). RECORDs list every file; only native ones are kept.
fn read_dist_infos(
    site: &Path,
) -> (
    Vec<Distribution>,
    HashMap<String, String>,
    Vec<InputProblem>,
) {
    let entries = match fs::read_dir(site) {
        Ok(entries) => entries,
        Err(e) => {
            let problem = InputProblem::new(
                site,
                InputProblemKind::UnreadableFolder,
                format!("cannot list: {e}"),
            );
            return (Vec::new(), HashMap::new(), vec![problem]);
        }
    };
    let mut dist_infos: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dist-info") && p.is_dir())
        .collect();
    dist_infos.sort();
    let read: Vec<DistInfo> = dist_infos.into_par_iter().map(read_dist_info).collect();
    let mut distributions = Vec::with_capacity(read.len());
    let mut owners = HashMap::new();
    let mut problems = Vec::new();
    for dist in read {
        for path in dist.native_paths {
            owners.insert(path, dist.distribution.name.clone());
        }
        distributions.push(dist.distribution);
        problems.extend(dist.problems);
    }
    (distributions, owners, problems)
}

struct DistInfo {
    distribution: Distribution,
    native_paths: Vec<String>,
    problems: Vec<InputProblem>,
}

fn read_dist_info(dir: PathBuf) -> DistInfo {
    let mut problems = Vec::new();
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (fallback_name, fallback_version) = name_version_from_dist_info(&dir_name);
    let meta = match fs::read_to_string(dir.join("METADATA")) {
        Ok(text) => parse_metadata(&text),
        Err(e) => {
            problems.push(InputProblem::new(
                dir.join("METADATA"),
                InputProblemKind::BadMetadata,
                format!("cannot read: {e}"),
            ));
            Default::default()
        }
    };
    let name = meta.name.unwrap_or(fallback_name);
    let wheel_tags = match fs::read_to_string(dir.join("WHEEL")) {
        Ok(text) => parse_wheel_tags(&text),
        Err(e) => {
            problems.push(InputProblem::new(
                dir.join("WHEEL"),
                InputProblemKind::BadMetadata,
                format!("cannot read ({e}): the wheel tags of {name} are unknown"),
            ));
            Vec::new()
        }
    };
    let mut native_paths = Vec::new();
    match fs::read(dir.join("RECORD")) {
        Ok(bytes) => {
            let (paths, bad_rows) = parse_record(&bytes, |path| {
                is_native_file_name(path.rsplit(['/', '\\']).next().unwrap_or(path))
            });
            if bad_rows > 0 {
                problems.push(InputProblem::new(
                    dir.join("RECORD"),
                    InputProblemKind::BadMetadata,
                    format!("{bad_rows} malformed row(s) ignored"),
                ));
            }
            native_paths = paths.iter().map(|p| normalize(p)).collect();
        }
        Err(e) => problems.push(InputProblem::new(
            dir.join("RECORD"),
            InputProblemKind::BadMetadata,
            format!("cannot read ({e}): files of {name} will show as unowned"),
        )),
    }
    DistInfo {
        distribution: Distribution {
            name,
            version: meta.version.unwrap_or(fallback_version),
            wheel_tags,
            free_threading_classifier: meta.free_threading,
            source: dir,
        },
        native_paths,
        problems,
    }
}

/// Every native file under `root`, not yet attributed.
fn walk_native_files(root: &Path) -> (Vec<DiscoveredFile>, Vec<InputProblem>) {
    let found = walk(root, root.to_path_buf(), 0);
    (found.files, found.problems)
}

#[derive(Default)]
struct Found {
    files: Vec<DiscoveredFile>,
    problems: Vec<InputProblem>,
}

impl Found {
    fn merge(mut self, other: Found) -> Found {
        self.files.extend(other.files);
        self.problems.extend(other.problems);
        self
    }
}

/// Folders this close to the root are listed as parallel tasks: a venv holds tens of
/// thousands of files in a couple of thousand folders, and listing them is most of
/// discovery's time. Deeper ones are walked in a loop, so a pathologically deep tree cannot
/// exhaust a thread's stack.
const PARALLEL_DEPTH: usize = 4;

fn walk(root: &Path, dir: PathBuf, depth: usize) -> Found {
    let mut found = Found::default();
    let subdirs = list_dir(root, dir, &mut found);
    if depth < PARALLEL_DEPTH {
        let nested = subdirs
            .into_par_iter()
            .map(|subdir| walk(root, subdir, depth + 1))
            .reduce(Found::default, Found::merge);
        return found.merge(nested);
    }
    let mut pending = subdirs;
    while let Some(dir) = pending.pop() {
        pending.extend(list_dir(root, dir, &mut found));
    }
    found
}

/// Records the native files of one folder and returns its subfolders. Entry types come from
/// the listing itself (no stat per file); symbolic links are not followed, and `__pycache__`
/// holds no native code.
fn list_dir(root: &Path, dir: PathBuf, found: &mut Found) -> Vec<PathBuf> {
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            found.problems.push(InputProblem::new(
                dir,
                InputProblemKind::UnreadableFolder,
                format!("cannot list: {e}"),
            ));
            return Vec::new();
        }
    };
    let mut subdirs = Vec::new();
    for entry in entries {
        let (entry, file_type) = match entry.and_then(|e| e.file_type().map(|t| (e, t))) {
            Ok(pair) => pair,
            Err(e) => {
                found.problems.push(InputProblem::new(
                    &dir,
                    InputProblemKind::UnreadableFolder,
                    format!("cannot read an entry: {e}"),
                ));
                continue;
            }
        };
        let name = entry.file_name();
        let native_name = is_native_file_name(&name.to_string_lossy());
        if file_type.is_dir() {
            if name != "__pycache__" {
                subdirs.push(entry.path());
            }
        } else if file_type.is_file() {
            if native_name {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                record_native(root, entry.path(), size, found);
            }
        } else if file_type.is_symlink() {
            follow_link(root, entry.path(), native_name, found);
        } else if native_name {
            found.problems.push(InputProblem::new(
                entry.path(),
                InputProblemKind::NotARegularFile,
                format!(
                    "named like a native file but {}: not read",
                    describe_type(&file_type)
                ),
            ));
        }
    }
    subdirs
}

fn record_native(root: &Path, path: PathBuf, size: u64, found: &mut Found) {
    let Ok(relative) = path.strip_prefix(root) else {
        return;
    };
    let relative = relative.to_string_lossy().replace('\\', "/");
    found.files.push(DiscoveredFile {
        distribution: None,
        module_name: module_name_for(&relative),
        path: relative,
        location: Location::Disk(path),
        size,
    });
}

/// A link named like a native file is read when it leads to a regular file (an import would
/// load it); any other link that could hide native files (to a folder, dangling) is reported,
/// not followed: following could leave the target or loop.
fn follow_link(root: &Path, path: PathBuf, native_name: bool, found: &mut Found) {
    let skipped = |why: String| {
        InputProblem::new(
            &path,
            InputProblemKind::LinkSkipped,
            format!("symbolic link {why}: not followed"),
        )
    };
    let destination = fs::read_link(&path)
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "?".into());
    match fs::metadata(&path) {
        Ok(meta) if meta.is_file() && native_name => record_native(root, path, meta.len(), found),
        Ok(meta) if meta.is_file() => {}
        Ok(meta) if meta.is_dir() => {
            let problem = skipped(format!("to the folder {destination}"));
            found.problems.push(problem);
        }
        Ok(meta) if native_name => {
            let problem = skipped(format!(
                "to {destination}, {}",
                describe_type(&meta.file_type())
            ));
            found.problems.push(problem);
        }
        Ok(_) => {}
        Err(e) if native_name => {
            let problem = skipped(format!("to {destination}, which cannot be read ({e})"));
            found.problems.push(problem);
        }
        // A dangling link with another name hides no native file.
        Err(_) => {}
    }
}

fn describe_type(file_type: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        return "a folder";
    }
    "not a regular file"
}

fn normalize(record_path: &str) -> String {
    record_path.trim_start_matches("./").replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_walk_finds_native_files_at_any_depth_and_skips_caches_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut deep = root.join("pkg");
        for level in 0..300 {
            deep.push(format!("d{level}"));
        }
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("_deep.so"), b"x").unwrap();
        fs::write(root.join("pkg/_top.cpython-313t-x86_64-linux-gnu.so"), b"x").unwrap();
        fs::write(root.join("pkg/readme.txt"), b"x").unwrap();
        fs::create_dir_all(root.join("pkg/__pycache__")).unwrap();
        fs::write(root.join("pkg/__pycache__/_cached.so"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("pkg"), root.join("link")).unwrap();

        let (mut files, problems) = walk_native_files(root);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        // The link to a folder is not followed, and says so.
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].kind, InputProblemKind::LinkSkipped);
        assert_eq!(problems[0].path, root.join("link"));
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert!(paths[0].starts_with("pkg/_top.") && paths[0].ends_with(".so"));
        assert!(paths[1].starts_with("pkg/d0/d1/") && paths[1].ends_with("/d299/_deep.so"));
        assert_eq!(files[0].module_name.as_deref(), Some("pkg._top"));
    }
}
