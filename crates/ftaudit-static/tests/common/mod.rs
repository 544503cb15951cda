//! Locating the real wheels (scripts/fetch-wheels.sh sets) and reading members straight from
//! the zip, the way the tool reads wheels.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SETS: &[&str] = &[
    "linux-cp313t",
    "linux-cp314t",
    "macos-arm64",
    "macos-x86_64",
    "windows-amd64",
];

/// Directories holding wheels: FTAUDIT_WHEELS_DIR (a set folder, or the folder of sets), else
/// what scripts/fetch-wheels.sh prints for every set. Panics when neither works.
pub fn wheel_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("FTAUDIT_WHEELS_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "FTAUDIT_WHEELS_DIR={} is not a directory",
            dir.display()
        );
        let mut dirs = vec![dir.clone()];
        for set in SETS {
            if dir.join(set).is_dir() {
                dirs.push(dir.join(set));
            }
        }
        return dirs;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-wheels.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(SETS)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "FTAUDIT_WHEELS_DIR is unset and {} could not run: {e}",
                script.display()
            )
        });
    assert!(
        out.status.success(),
        "FTAUDIT_WHEELS_DIR is unset and {} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let dirs: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| PathBuf::from(l.trim()))
        .collect();
    assert!(
        !dirs.is_empty(),
        "{} printed no wheel directory",
        script.display()
    );
    dirs
}

/// The wheel whose file name starts with `prefix` (e.g. "markupsafe-3.0.4-cp314-cp314t-win_amd64").
pub fn wheel(dirs: &[PathBuf], prefix: &str) -> PathBuf {
    for d in dirs {
        if let Ok(entries) = std::fs::read_dir(d) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with(prefix) && name.ends_with(".whl") {
                    return e.path();
                }
            }
        }
    }
    panic!(
        "no wheel starting with {prefix} in {dirs:?}: run scripts/fetch-wheels.sh {}",
        SETS.join(" ")
    )
}

/// Every native member of a wheel: (member path, bytes).
pub fn native_members(wheel: &Path) -> Vec<(String, Vec<u8>)> {
    let file =
        std::fs::File::open(wheel).unwrap_or_else(|e| panic!("open {}: {e}", wheel.display()));
    let mut zip =
        zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("read {}: {e}", wheel.display()));
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).expect("zip member");
        let name = member.name().to_string();
        let base = name.rsplit('/').next().unwrap_or(&name);
        let native = base.ends_with(".so")
            || base.ends_with(".pyd")
            || base.ends_with(".dylib")
            || base.contains(".so.");
        if !native {
            continue;
        }
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).expect("inflate member");
        out.push((name, bytes));
    }
    out
}

pub fn member(wheel: &Path, path: &str) -> Vec<u8> {
    native_members(wheel)
        .into_iter()
        .find(|(n, _)| n == path)
        .unwrap_or_else(|| panic!("{} has no member {path}", wheel.display()))
        .1
}

pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
