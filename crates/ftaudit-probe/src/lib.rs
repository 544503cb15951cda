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
pub use output::StageSplitter;
pub use workers::{
    describe, list_workers, minor_of, select_worker, worker_files, WantedInterpreter, WorkerInfo,
};

#[cfg(target_os = "linux")]
pub use run::{embedded_interpreter, run};
#[cfg(not(target_os = "linux"))]
pub use unsupported::{embedded_interpreter, run};

#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub worker: PathBuf,
    /// Worker processes run in parallel.
    pub jobs: usize,
    /// Per stage of each module; on expiry the worker's process group is killed.
    pub timeout: Duration,
    /// Data-segment limit (RLIMIT_DATA) for each worker.
    pub memory_limit_mb: Option<u64>,
    pub subinterpreters: bool,
    /// Polled while waiting on workers: once set, the workers are stopped and `run` returns
    /// what finished, the rest marked as not probed.
    pub cancel: Cancel,
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
