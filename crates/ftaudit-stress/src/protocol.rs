//! What the parent and the Python driver (python/driver.py) exchange: a request file, and JSON
//! events on the result descriptor. The driver reports raw measurements only; figures and
//! verdicts are made on this side.

use serde::{Deserialize, Serialize};

use ftaudit_model::{EmbeddedInterpreter, ExecutorKind, SynthCoverage};

#[derive(Debug, Clone, Serialize)]
pub struct DriverRequest {
    /// Folder (relative to the scratch folder) holding `ftaudit.pth`, which lists the
    /// site-packages folders, the driver's folder and the recipes' folder.
    pub paths_dir: String,
    /// Set: only read these recipe files' metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list_recipes: Option<Vec<String>>,
    pub module: String,
    pub workloads: Vec<Workload>,
    pub seed: u64,
    pub stage_timeout: f64,
    pub target_seconds: f64,
    pub worker_counts: Vec<usize>,
    pub repeats: usize,
    pub executors: Vec<ExecutorKind>,
    pub subinterpreters_ok: bool,
    pub subinterpreters_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Workload {
    FirstImport {
        threads: usize,
    },
    Introspect {
        threads: usize,
        rounds: usize,
    },
    /// `recipe` is the importable module name of the recipe file.
    Recipe {
        name: String,
        recipe: String,
    },
    /// The synthesized tier for one distribution: discover its API, run the patterns.
    Synthesized {
        name: String,
        distribution: String,
        packages: Vec<String>,
        modules: Vec<String>,
        threads: usize,
        seed: u64,
        budget_seconds: f64,
        /// Calls that crashed an earlier driver during discovery: not tried again.
        exclude: Vec<String>,
    },
}

impl Workload {
    pub fn name(&self) -> &str {
        match self {
            Workload::FirstImport { .. } => "first-import",
            Workload::Introspect { .. } => "introspect",
            Workload::Recipe { name, .. } | Workload::Synthesized { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Cores {
    pub usable: usize,
    pub online: usize,
    pub loadavg: [f64; 3],
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DriverEvent {
    Ready {
        interpreter: EmbeddedInterpreter,
        cores: Cores,
    },
    Recipe {
        modules: Vec<String>,
        unit: String,
        #[serde(default)]
        stdlib: bool,
        error: Option<String>,
    },
    Begin {
        workload: String,
        stage: String,
    },
    Generic {
        workload: String,
        threads: usize,
        checked: usize,
        calls: bool,
        problems: Vec<String>,
        gil: bool,
        module: Option<String>,
        warning: Option<String>,
    },
    Calibrated {
        workload: String,
        units: u64,
    },
    Startup {
        workload: String,
        executor: ExecutorKind,
        workers: usize,
        seconds: f64,
    },
    Round {
        workload: String,
        executor: ExecutorKind,
        workers: usize,
        round: usize,
        wall: f64,
        cpu: f64,
        wait: f64,
        late: usize,
        gil: bool,
    },
    Memory {
        workload: String,
        executor: ExecutorKind,
        peak_rss_mb: f64,
    },
    Failure(FailureEvent),
    Gil {
        workload: String,
        executor: ExecutorKind,
        workers: usize,
        module: Option<String>,
        warning: Option<String>,
    },
    NotRun {
        workload: String,
        executor: Option<ExecutorKind>,
        reason: String,
        #[serde(default)]
        exception: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
    Stuck {
        workload: String,
        executor: ExecutorKind,
        seconds: f64,
        cpu_per_second: f64,
    },
    SynthCoverage {
        workload: String,
        coverage: SynthCoverage,
    },
    SynthFirstUse {
        workload: String,
        source: String,
    },
    SynthPatterns {
        workload: String,
        patterns: Vec<String>,
    },
    SynthTrying {
        workload: String,
        label: String,
    },
    SynthPlan {
        workload: String,
        pattern: String,
        source: String,
    },
    SynthResult {
        workload: String,
        pattern: String,
        result: Option<PatternResult>,
        source: Option<String>,
        #[serde(default)]
        minimised: bool,
        #[serde(default)]
        programs: usize,
        #[serde(default)]
        calls: usize,
        #[serde(default)]
        gil: bool,
        #[serde(default)]
        module: Option<String>,
        skipped: Option<String>,
    },
    Done,
}

/// What a pattern script's `run()` returned (also its `FTAUDIT-RESULT` line).
#[derive(Debug, Clone, Deserialize)]
pub struct PatternResult {
    pub failed: bool,
    pub kind: Option<String>,
    #[serde(default)]
    pub program: Option<String>,
    #[serde(default)]
    pub call: Option<String>,
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub got: Option<String>,
    #[serde(default)]
    pub exception: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FailureEvent {
    pub kind: String,
    pub workload: String,
    pub executor: ExecutorKind,
    pub workers: Option<usize>,
    pub round: Option<usize>,
    #[serde(default)]
    pub unit: Option<u64>,
    #[serde(default)]
    pub wrong_units: Option<u64>,
    #[serde(default)]
    pub expected: Option<String>,
    #[serde(default)]
    pub got: Option<String>,
    #[serde(default)]
    pub exception: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub traceback: Option<String>,
}

impl DriverEvent {
    /// The workload the event belongs to, if any.
    pub fn workload(&self) -> Option<&str> {
        match self {
            DriverEvent::Begin { workload, .. }
            | DriverEvent::Generic { workload, .. }
            | DriverEvent::Calibrated { workload, .. }
            | DriverEvent::Startup { workload, .. }
            | DriverEvent::Round { workload, .. }
            | DriverEvent::Memory { workload, .. }
            | DriverEvent::Gil { workload, .. }
            | DriverEvent::NotRun { workload, .. }
            | DriverEvent::Stuck { workload, .. }
            | DriverEvent::SynthCoverage { workload, .. }
            | DriverEvent::SynthFirstUse { workload, .. }
            | DriverEvent::SynthPatterns { workload, .. }
            | DriverEvent::SynthTrying { workload, .. }
            | DriverEvent::SynthPlan { workload, .. }
            | DriverEvent::SynthResult { workload, .. } => Some(workload),
            DriverEvent::Failure(f) => Some(&f.workload),
            DriverEvent::Ready { .. } | DriverEvent::Recipe { .. } | DriverEvent::Done => None,
        }
    }
}
