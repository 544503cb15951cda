//! A scan with the import probe leaves the scanned environment exactly as it found it, and says
//! how its workers were kept off the network.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::*;

/// Every entry under `root`: type, size, mode, modification time, link target and, for files,
/// a CRC-32 of the contents.
fn fingerprint(root: &Path) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let relative = path.strip_prefix(root).unwrap().display().to_string();
            let detail = if meta.is_dir() {
                pending.push(path.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file crc {:08x}", crc32fast::hash(&bytes))
            };
            entries.insert(
                relative,
                format!(
                    "{detail} size {} mode {:o} mtime {}.{}",
                    meta.len(),
                    meta.mode(),
                    meta.mtime(),
                    meta.mtime_nsec()
                ),
            );
        }
    }
    entries
}

#[test]
fn a_probed_venv_is_left_byte_for_byte_unchanged() {
    let venv = demo_venv();
    let before = fingerprint(venv);
    let (code, report) = scan_json(&[], venv);
    let after = fingerprint(venv);
    let run = report.stages.dynamic.as_ref().expect("the probe ran");
    assert!(
        report.files.iter().filter(|f| f.dynamic.is_some()).count() > 20,
        "real modules were imported"
    );
    assert!(code <= 2, "exit {code}");

    let changed: Vec<_> = before
        .iter()
        .filter(|(path, detail)| after.get(*path) != Some(detail))
        .map(|(path, _)| path)
        .collect();
    let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(
        changed.is_empty() && added.is_empty(),
        "the scan changed {changed:?} and added {added:?} in {}",
        venv.display()
    );
    assert!(!run.network.detail.is_empty());
    let kernel_allows = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if kernel_allows {
        assert!(run.network.isolated, "{:?}", run.network);
    }
}
