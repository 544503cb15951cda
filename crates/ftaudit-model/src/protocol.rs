//! The parent <-> worker protocol. The parent writes one [`ProbeRequest`] as JSON to the
//! worker's request file; the worker writes one [`WorkerEvent`] per line, as JSON, to its
//! result pipe (never to stdout/stderr, which belong to the modules being imported).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{EmbeddedInterpreter, ImportOutcome};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeRequest {
    /// site-packages folders, added with `site.addsitedir` (so `.pth` files apply), in order.
    pub site_dirs: Vec<PathBuf>,
    /// Dotted names to import, in order.
    pub modules: Vec<String>,
    /// Also import each module in fresh isolated and legacy subinterpreters.
    pub subinterpreters: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStage {
    Import,
    IsolatedSubinterpreter,
    LegacySubinterpreter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WorkerEvent {
    /// Sent once, after start-up and before any module is imported.
    Ready { interpreter: EmbeddedInterpreter },
    /// Sent before each stage, so the parent can attribute a crash or hang.
    Begin { module: String, stage: ProbeStage },
    /// The main-interpreter import of one module finished (successfully or with an exception).
    Imported(ImportRecord),
    /// A subinterpreter import finished.
    Subinterpreter {
        module: String,
        stage: ProbeStage,
        outcome: ImportOutcome,
    },
    /// The request is complete.
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRecord {
    pub module: String,
    pub outcome: ImportOutcome,
    pub gil_enabled_after: bool,
    pub gil_warning: Option<String>,
    pub import_seconds: f64,
    /// Extension modules that entered `sys.modules` during this import (the module itself excluded).
    pub pulled_in: Vec<String>,
    /// Modules CPython named as requiring the GIL while loading them during this import
    /// (its own module included when it needs the GIL).
    pub gil_required_by: Vec<String>,
    /// The module was already in `sys.modules` before this import.
    pub already_loaded: bool,
    /// Text written to sys.stdout / sys.stderr during the import.
    pub python_output: Option<String>,
}
