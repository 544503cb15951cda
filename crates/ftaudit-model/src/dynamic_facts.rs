//! What importing a module in the embedded free-threaded interpreter showed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How the dynamic probe was run (one per report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DynamicRun {
    pub interpreter: EmbeddedInterpreter,
    pub workers: usize,
    pub timeout_seconds: f64,
    pub memory_limit_mb: Option<u64>,
    pub subinterpreters: bool,
    /// Interpreter-altering variables removed from the workers' environment.
    pub environment_removed: Vec<String>,
    /// Worker processes started in all (restarts after crashes and hangs included).
    pub worker_processes: usize,
    pub elapsed_seconds: f64,
    /// Whether the workers were cut off from the network, and how (or why not).
    #[serde(default)]
    pub network: NetworkIsolation,
    /// The box the workers ran in: what their imports could not do.
    #[serde(default)]
    pub sandbox: crate::SandboxReport,
    /// How the worker reached the environment's interpreter, and why that way (1.6; absent
    /// in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<ProbeWorker>,
}

/// How the probe's worker ran inside the user's interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerMode {
    /// `ftaudit-embed` loaded the interpreter's shared libpython by path, then the worker.
    Embedded,
    /// The interpreter itself (libpython linked in statically) ran the worker as an extension
    /// module, started isolated.
    Hosted,
}

impl WorkerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerMode::Embedded => "embedded",
            WorkerMode::Hosted => "hosted",
        }
    }
}

/// The worker a probe used: which library, in which mode, in which interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProbeWorker {
    pub mode: WorkerMode,
    /// Why this mode: what was found about the interpreter's library.
    pub reason: String,
    /// The worker library (`ftaudit-worker-3.14t.so`), one per CPython ABI.
    pub library: PathBuf,
    /// The ABI the library serves, e.g. "3.14t".
    pub abi: String,
    /// The interpreter whose runtime the worker ran in (the environment's base `python`).
    pub python: PathBuf,
    /// The shared libpython loaded (embedded mode only).
    pub libpython: Option<PathBuf>,
}

/// A module's import may run arbitrary code; the workers get no network where the kernel allows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NetworkIsolation {
    /// True when every worker ran in a network namespace of its own (no interface but a loopback
    /// that is down), checked from outside by comparing `/proc/PID/ns/net`.
    pub isolated: bool,
    /// How, or why not.
    pub detail: String,
}

/// Facts the worker reads from the interpreter it embeds, before importing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmbeddedInterpreter {
    /// `sys.version` first word, e.g. "3.13.5".
    pub version: String,
    /// `sys.abiflags`, e.g. "t".
    pub abiflags: String,
    /// `sysconfig.get_config_var("Py_GIL_DISABLED") == 1`.
    pub py_gil_disabled: bool,
    /// `sys._is_gil_enabled()` at start-up, before any import.
    pub gil_enabled_at_startup: bool,
    /// `sysconfig.get_config_var("EXT_SUFFIX")`.
    pub ext_suffix: String,
    /// `sys.implementation.cache_tag`, e.g. "cpython-313".
    pub cache_tag: String,
    /// Where the embedded interpreter's standard library lives (`sys.base_prefix`).
    pub base_prefix: String,
}

/// What `ftaudit workers --format json` prints: the worker libraries this ftaudit has, and for
/// each interpreter asked about, the worker and mode a scan would use and what it reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkerList {
    pub workers: Vec<AvailableWorker>,
    pub interpreters: Vec<InterpreterCheck>,
}

/// One worker library next to ftaudit (or in `lib/ftaudit` beside its `bin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AvailableWorker {
    pub path: PathBuf,
    /// The ABI it serves, read from the library ("3.14t"); None when the file says none.
    pub serves: Option<String>,
    pub problem: Option<String>,
}

/// `ftaudit workers --python PY`: what a scan of an environment made from PY would run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InterpreterCheck {
    pub python: PathBuf,
    pub worker: Option<ProbeWorker>,
    /// What the started worker reported from inside the interpreter.
    pub embeds: Option<EmbeddedInterpreter>,
    /// Why no worker could run there ("could not check").
    pub problem: Option<String>,
}

/// The probe's result for one extension module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DynamicFacts {
    /// Dotted name imported.
    pub module: String,
    pub import: ImportOutcome,
    /// Whether CPython judged *this* module to need the GIL when it loaded it
    /// (`_PyImport_CheckGILForModule`), regardless of what other modules did before it.
    /// None when the module never loaded.
    pub requires_gil: Option<bool>,
    /// `sys._is_gil_enabled()` right after the import.
    pub gil_enabled_after: Option<bool>,
    /// The RuntimeWarning CPython issued, if it issued one during this import.
    pub gil_warning: Option<String>,
    pub import_seconds: Option<f64>,
    /// Other extension modules that this import loaded.
    pub pulled_in: Vec<String>,
    /// When the module was already loaded as a side effect of importing another module.
    pub loaded_by: Option<String>,
    /// Text the module wrote to stdout/stderr (Python or straight to fd 1/2), truncated.
    pub output: Option<String>,
    /// Import in an isolated subinterpreter (own GIL, check_multi_interp_extensions) where nothing
    /// of this module was loaded yet: a fresh one, or one shared with the modules of the same
    /// top-level package checked just before it.
    pub isolated_subinterpreter: Option<ImportOutcome>,
    /// Import in a legacy (shared-GIL) subinterpreter, chosen the same way.
    pub legacy_subinterpreter: Option<ImportOutcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ImportOutcome {
    Ok,
    /// The import raised.
    Error {
        exception: String,
        message: String,
    },
    /// The worker died: a signal (segfault, abort) or an unexpected exit.
    Crashed {
        signal: Option<i32>,
        description: String,
    },
    TimedOut {
        seconds: f64,
    },
    MemoryLimit {
        limit_mb: u64,
    },
    /// Not tried, and why (e.g. the main import failed, so subinterpreters were not tried).
    NotAttempted {
        reason: String,
    },
}

impl ImportOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, ImportOutcome::Ok)
    }

    /// Crash, hang or memory limit: the probe contained a failure that would take a process down.
    pub fn is_contained_failure(&self) -> bool {
        matches!(
            self,
            ImportOutcome::Crashed { .. }
                | ImportOutcome::TimedOut { .. }
                | ImportOutcome::MemoryLimit { .. }
        )
    }
}
