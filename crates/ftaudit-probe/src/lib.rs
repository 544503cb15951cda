//! The dynamic probe, parent side: imports each module in `ftaudit-worker` processes that
//! embed a free-threaded CPython, contains crashes and hangs, and turns what the workers
//! report into one [`DynamicFacts`] per module.
//!
//! Workers are reused across modules (one process per batch); a worker that dies or hangs is
//! replaced and the batch goes on after the module that took it down.

// Workers are contained with process groups, rlimits and Linux namespaces: the probe runs on
// Linux only. Elsewhere (a static scan on macOS or Windows) `run` says so.
#[cfg(target_os = "linux")]
mod batch;
mod cancel;
#[cfg(target_os = "linux")]
pub mod contain;
mod error;
#[cfg(target_os = "linux")]
mod facts;
mod host;
mod output;
#[cfg(target_os = "linux")]
mod process;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod shard;
#[cfg(target_os = "linux")]
mod signal;
#[cfg(not(target_os = "linux"))]
mod unsupported;
mod workers;
// Wrappers over private parsers, for the cargo-fuzz targets in fuzz/ (not API).
#[doc(hidden)]
pub mod fuzzing;

use std::path::PathBuf;
use std::time::Duration;

#[cfg(target_os = "linux")]
pub use batch::{describe_exit, tail, OUT_OF_MEMORY_SIGNS};
pub use cancel::{Cancel, StopSignal};
pub use error::ProbeError;
pub use host::HostInterpreter;
pub use output::StageSplitter;
pub use workers::{
    describe, find_worker, loader, minor_of, plan, worker_abi, worker_files, worker_for,
    WantedInterpreter, Worker, WorkerModeChoice,
};

#[cfg(target_os = "linux")]
pub use run::{embedded_interpreter, run};
#[cfg(not(target_os = "linux"))]
pub use unsupported::{embedded_interpreter, run};

#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub worker: Worker,
    /// Worker processes run in parallel.
    pub jobs: usize,
    /// Per stage of each module; on expiry the worker's process group is killed.
    pub timeout: Duration,
    /// Data-segment limit (RLIMIT_DATA) for each worker.
    pub memory_limit_mb: Option<u64>,
    pub subinterpreters: bool,
    /// The box the workers run in (its read roots: the worker's own interpreter; the
    /// environment's folders are added from the plan).
    pub sandbox: SandboxSpec,
    /// Polled while waiting on workers: once set, the workers are stopped and `run` returns
    /// what finished, the rest marked as not probed.
    pub cancel: Cancel,
}

/// How to box a contained child (see `contain::sandbox` for the layers).
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// False: `--sandbox off`, only the network namespace and the memory limit.
    pub enabled: bool,
    /// Confine the filesystem. Off only for a start-up that runs no package code (asking a
    /// worker what it embeds, before its interpreter's folders are known).
    pub filesystem: bool,
    /// Folders and files the child may read and execute beyond the system's own: the
    /// interpreter, the environment.
    pub read_roots: Vec<PathBuf>,
    /// May start processes (the stress stage's process pool).
    pub processes: bool,
    /// CPU seconds for the child and each process it starts (RLIMIT_CPU).
    pub cpu_seconds: Option<u64>,
}

impl Default for SandboxSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            filesystem: true,
            read_roots: Vec::new(),
            processes: false,
            cpu_seconds: None,
        }
    }
}

impl SandboxSpec {
    /// The box for a worker that embeds the interpreter at `base_prefix` (its library and
    /// standard library must stay readable); the environment's folders are added by the probe.
    pub fn for_interpreter(base_prefix: &std::path::Path) -> Self {
        let mut read_roots = vec![base_prefix.to_path_buf()];
        if let Ok(real) = base_prefix.canonicalize() {
            if real != base_prefix {
                read_roots.push(real);
            }
        }
        Self {
            read_roots,
            ..Self::default()
        }
    }
}

/// What an environment's code is read from: each site-packages folder, the venv around it
/// (found by its `pyvenv.cfg`), the prefix of the interpreter it was made from (`home`), and
/// the folders its `.pth` files add to `sys.path` (editable installs). Relative or missing
/// entries are left out; the box grants read and execute on each.
pub fn environment_read_roots(site_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    let add = |path: PathBuf, roots: &mut Vec<PathBuf>| {
        if path.exists() && !roots.contains(&path) {
            roots.push(path);
        }
    };
    for site in site_dirs {
        let site = std::path::absolute(site).unwrap_or_else(|_| site.clone());
        add(site.clone(), &mut roots);
        if let Some(venv) = site.ancestors().find(|a| a.join("pyvenv.cfg").is_file()) {
            add(venv.to_path_buf(), &mut roots);
            let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap_or_default();
            for line in cfg.lines() {
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                if key.trim() == "home" {
                    // `home` is the interpreter's bin folder; its parent is the prefix.
                    let bin = PathBuf::from(value.trim());
                    if let Some(prefix) = bin.parent() {
                        add(prefix.to_path_buf(), &mut roots);
                    }
                    if let Ok(real) = bin.canonicalize() {
                        if let Some(prefix) = real.parent() {
                            add(prefix.to_path_buf(), &mut roots);
                        }
                    }
                }
            }
        }
        let Ok(entries) = std::fs::read_dir(&site) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "pth") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines().map(str::trim) {
                if line.is_empty()
                    || line.starts_with('#')
                    || line.starts_with("import ")
                    || line.starts_with("import\t")
                {
                    continue;
                }
                let dir = site.join(line);
                if dir.is_dir() {
                    add(dir, &mut roots);
                }
            }
        }
    }
    roots
}

#[derive(Debug, Clone, Default)]
pub struct ProbePlan {
    /// site-packages folders, in `sys.path` order.
    pub site_dirs: Vec<PathBuf>,
    /// Dotted module names; duplicates are probed once.
    pub modules: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum ProbeProgress<'a> {
    Started {
        total: usize,
    },
    ModuleDone {
        module: &'a str,
        done: usize,
        total: usize,
    },
}
