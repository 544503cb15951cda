//! Which workers exist and what each embeds. A worker links one libpython, so there is one per
//! provisioned interpreter (`ftaudit-worker-3.14t`, `ftaudit-worker-3.13t`, ... next to
//! `ftaudit`); the scan picks the one whose interpreter matches the venv. What a worker embeds
//! is asked of the worker itself, never read from its file name: the name only says which
//! worker to ask first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ftaudit_model::EmbeddedInterpreter;

#[cfg(target_os = "linux")]
use crate::batch::{run_batch, BatchSpec};
#[cfg(target_os = "linux")]
use crate::cancel::Cancel;
use crate::ProbeError;

/// A worker binary and what it said it embeds.
#[derive(Debug)]
pub struct WorkerInfo {
    pub path: PathBuf,
    pub interpreter: Result<EmbeddedInterpreter, ProbeError>,
}

/// What the probe needs of an interpreter to probe an environment made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedInterpreter {
    /// "3.14" (major.minor); a longer version is cut to that.
    pub minor: String,
    pub free_threaded: bool,
}

impl WantedInterpreter {
    pub fn new(version: &str, free_threaded: bool) -> Self {
        WantedInterpreter {
            minor: minor_of(version),
            free_threaded,
        }
    }

    /// The embedded interpreter can import this environment's modules: same minor version and
    /// the same build (a free-threaded one must start with the GIL off; the ABIs differ, so a
    /// standard build's modules never load in a free-threaded one, nor the other way round).
    pub fn matches(&self, embedded: &EmbeddedInterpreter) -> bool {
        let same_build = if self.free_threaded {
            embedded.py_gil_disabled && !embedded.gil_enabled_at_startup
        } else {
            !embedded.py_gil_disabled
        };
        same_build && minor_of(&embedded.version) == self.minor
    }

    /// "3.14t" or "3.14": how scripts and messages name this interpreter.
    pub fn label(&self) -> String {
        format!(
            "{}{}",
            self.minor,
            if self.free_threaded { "t" } else { "" }
        )
    }

    /// The file name a worker for this interpreter gets from scripts/build.sh.
    fn worker_file_name(&self) -> String {
        format!("{WORKER_STEM}-{}", self.label())
    }
}

const WORKER_STEM: &str = "ftaudit-worker";

/// "3.14.7" -> "3.14".
pub fn minor_of(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// Every worker binary ftaudit can use, without running any: `$FTAUDIT_WORKER` alone when it
/// is set, else each `ftaudit-worker` / `ftaudit-worker-*` file next to the current executable
/// (or one folder up, for test binaries in target/debug/deps), sorted by name.
pub fn worker_files() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("FTAUDIT_WORKER").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let mut found = workers_in(&dir);
    if found.is_empty() {
        if let Some(parent) = dir.parent() {
            found = workers_in(parent);
        }
    }
    found
}

fn workers_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let worker_name = name == WORKER_STEM
                || name
                    .strip_prefix(WORKER_STEM)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(is_version_tag);
            worker_name && is_executable(&e.path())
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// "3.14t" (free-threaded) or "3.14" (standard build): what scripts/build.sh appends to a
/// worker's name.
fn is_version_tag(tag: &str) -> bool {
    let version = tag.strip_suffix('t').unwrap_or(tag);
    let mut parts = version.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
}

#[cfg(not(target_os = "linux"))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(target_os = "linux")]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts the worker with nothing to import and returns what it embeds.
#[cfg(not(target_os = "linux"))]
pub fn describe(_worker: &Path, _timeout: Duration) -> Result<EmbeddedInterpreter, ProbeError> {
    Err(ProbeError::Unsupported)
}

/// Starts the worker with nothing to import and returns what it embeds.
#[cfg(target_os = "linux")]
pub fn describe(worker: &Path, timeout: Duration) -> Result<EmbeddedInterpreter, ProbeError> {
    let never = Cancel::default();
    let spec = BatchSpec {
        worker,
        site_dirs: &[],
        subinterpreters: false,
        timeout,
        memory_limit_mb: None,
        // The worker's own start-up runs no package code, and its interpreter's folders are
        // what this call finds out: everything but the filesystem reads is boxed.
        sandbox: &crate::SandboxSpec {
            filesystem: false,
            ..crate::SandboxSpec::default()
        },
        cancel: &never,
    };
    Ok(run_batch(&spec, &[], &mut |_| {})?.interpreter)
}

/// Every worker and what it embeds (for `ftaudit workers`).
pub fn list_workers(timeout: Duration) -> Vec<WorkerInfo> {
    worker_files()
        .into_iter()
        .map(|path| WorkerInfo {
            interpreter: describe(&path, timeout),
            path,
        })
        .collect()
}

/// The worker for an environment, or every worker that was asked (none matched). The worker
/// named for the wanted interpreter is asked first, so a match usually costs one start-up.
pub fn select_worker(
    wanted: &WantedInterpreter,
    timeout: Duration,
) -> Result<(PathBuf, EmbeddedInterpreter), Vec<WorkerInfo>> {
    let mut files = worker_files();
    let preferred = wanted.worker_file_name();
    files.sort_by_key(|p| {
        p.file_name()
            .is_none_or(|n| n.to_string_lossy() != preferred)
    });
    let mut asked = Vec::new();
    for path in files {
        match describe(&path, timeout) {
            Ok(embedded) if wanted.matches(&embedded) => return Ok((path, embedded)),
            interpreter => asked.push(WorkerInfo { path, interpreter }),
        }
    }
    Err(asked)
}
