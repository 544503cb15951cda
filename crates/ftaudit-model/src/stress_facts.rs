//! What hammering a module from many threads showed (the stress stage), and how it was run.
//! Every figure comes with its spread and the machine it was measured on: a verdict the noise
//! cannot support says so instead of claiming one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{EmbeddedInterpreter, NetworkIsolation};

/// How the stress stage was run (one per report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StressRun {
    /// What the driver's interpreter said about itself.
    pub interpreter: EmbeddedInterpreter,
    /// The python that ran the driver (the environment's own).
    pub executable: PathBuf,
    /// Drives every random choice (the order of worker counts in each round); give it again
    /// with `--seed` to replay a run.
    pub seed: u64,
    pub cores: CoreInfo,
    /// Worker counts measured, in ascending order.
    pub worker_counts: Vec<usize>,
    /// Timed rounds per worker count and executor.
    pub repeats: usize,
    /// The 1-worker run is calibrated to at least this long; every count then does the same work.
    pub target_seconds: f64,
    /// Per stage; a stage still running then is a deadlock or a hang.
    pub timeout_seconds: f64,
    pub memory_limit_mb: Option<u64>,
    pub network: NetworkIsolation,
    /// The box the drivers ran in: what the module's code could not do.
    #[serde(default)]
    pub sandbox: crate::SandboxReport,
    pub environment_removed: Vec<String>,
    /// The executor whose speed-up decides each module's speed verdict (schema 1.5): threads
    /// on a free-threaded build; isolated subinterpreters on a standard (GIL) build, where the
    /// GIL makes threads take turns by design.
    #[serde(default = "threads")]
    pub speed_executor: ExecutorKind,
    /// Driver processes started (restarts after crashes and hangs included).
    pub child_processes: usize,
    /// Every recipe considered, shipped or the user's, and whether it could be read.
    pub recipes: Vec<RecipeSource>,
    /// Standard-library modules stressed by shipped recipes (`--stdlib`): they are not files of
    /// the target, so they are reported here.
    #[serde(default)]
    pub stdlib: Vec<StressFacts>,
    pub elapsed_seconds: f64,
}

/// The machine the figures were measured on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoreInfo {
    /// Logical CPUs this process may run on (`os.process_cpu_count()`): the most workers that
    /// can run at once, so the count that decides a speed verdict.
    pub usable: usize,
    /// Logical CPUs online.
    pub online: usize,
    /// `/proc/loadavg` before the first and after the last module.
    pub loadavg_start: [f64; 3],
    pub loadavg_end: [f64; 3],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecipeSource {
    /// File stem (`numpy`, or the user's file name).
    pub name: String,
    /// `shipped` or the user's file.
    pub origin: String,
    /// Modules the recipe exercises.
    pub modules: Vec<String>,
    /// What one unit of work does.
    pub unit: String,
    /// Why the recipe could not be used (a syntax error, no metadata), naming the file.
    pub problem: Option<String>,
}

/// The stress result for one module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StressFacts {
    pub module: String,
    pub workloads: Vec<WorkloadResult>,
    /// The worst over the workloads.
    pub verdict: StressVerdict,
    /// The command that repeats this module's run.
    pub replay: String,
    /// The synthesized tier of the module's distribution (on its first GIL-free module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesized: Option<crate::SynthFacts>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadTier {
    /// Tier 1: concurrent first import, introspection and rejected calls (any module).
    Generic,
    /// Tier 2: a recipe the user wrote.
    Recipe,
    /// Tier 3: a recipe shipped with ftaudit.
    Shipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WorkloadResult {
    /// `first-import`, `introspect`, or the recipe's name.
    pub workload: String,
    pub tier: WorkloadTier,
    /// What one unit of work does (recipes), or what was checked (generic).
    pub unit: String,
    /// Units of work done at every worker count (recipes; fixed by the 1-worker calibration).
    pub total_units: Option<u64>,
    pub executors: Vec<ExecutorResult>,
    pub failures: Vec<StressFailure>,
    /// Set when the GIL was on after (or during) the workload.
    pub gil: Option<GilObservation>,
    pub verdict: StressVerdict,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    /// Threads of one interpreter (free-threaded, or a standard build's, where they share the GIL).
    Threads,
    /// Isolated subinterpreters, each with its own GIL (`InterpreterPoolExecutor` on 3.14,
    /// `_interpreters` on 3.13).
    Subinterpreters,
    /// Processes (`ProcessPoolExecutor`, forkserver).
    Processes,
}

fn threads() -> ExecutorKind {
    ExecutorKind::Threads
}

impl ExecutorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Threads => "threads",
            ExecutorKind::Subinterpreters => "subinterpreters",
            ExecutorKind::Processes => "processes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExecutorResult {
    pub kind: ExecutorKind,
    /// Why this executor did not run the workload (None: it ran).
    pub not_run: Option<String>,
    /// Creating the pool of the most workers and starting every worker (imports included).
    pub startup_seconds: Option<f64>,
    /// Peak resident memory over the executor's runs: the driver's, plus every pool process's.
    pub peak_rss_mb: Option<f64>,
    pub points: Vec<ScalingPoint>,
    /// None when it did not run.
    pub verdict: Option<StressVerdict>,
}

/// The figures at one worker count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScalingPoint {
    pub workers: usize,
    /// Wall time of each timed round, in order.
    pub wall_seconds: Vec<f64>,
    pub median_seconds: f64,
    /// Paired speed-up over the same round's 1-worker run: median, quartiles and range.
    pub speedup: Option<Spread>,
    /// Median speed-up over min(workers, usable cores).
    pub efficiency: Option<f64>,
    /// CPU seconds over wall seconds, summed over the workers (median): how many ran at once.
    pub cpu_parallelism: f64,
    /// Run-queue wait over (CPU + wait) of the workers (median): a busy machine, not the module.
    pub wait_fraction: f64,
    /// Workers that started more than 1 ms after the common start instant, over all rounds.
    pub late_starts: usize,
    /// Rounds that ran while the GIL was on.
    pub rounds_under_gil: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Spread {
    pub median: f64,
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GilObservation {
    /// The module CPython named when it re-enabled the GIL, where known.
    pub module: Option<String>,
    /// CPython's RuntimeWarning, verbatim.
    pub warning: Option<String>,
    /// Where it was first seen: executor and worker count.
    pub executor: Option<ExecutorKind>,
    pub workers: Option<usize>,
}

/// What stressing showed. Ordered from the worst news to the least informative (see
/// [`StressVerdict::rank`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum StressVerdict {
    /// Wrong results, a crash, a deadlock or hang, an exception absent at 1 worker.
    Unsafe { reasons: Vec<String> },
    /// The GIL came back while the workload ran (a lazy import of a module that needs it).
    GilReenabled { module: Option<String> },
    /// More workers made it slower (speed-up below 0.8 at the usable core count).
    SlowsDown { speedup: f64 },
    /// Correct but no faster with more workers: likely one lock around every call.
    Serialises {
        speedup: f64,
        efficiency: f64,
        note: String,
    },
    /// Faster, but short of the cores' worth.
    ScalesPartly { speedup: f64, efficiency: f64 },
    /// The noise (spread, a busy machine, too few cores) cannot support a speed verdict.
    Inconclusive { reason: String },
    /// Runs in parallel: parallel efficiency at least 0.8 at the usable core count.
    Scales { speedup: f64, efficiency: f64 },
    /// The generic checks passed; no recipe measured its speed.
    Passed { checks: Vec<String> },
    /// Could not be stressed, and why.
    NotStressable { reason: String },
}

impl StressVerdict {
    /// Lower is worse news; a module's verdict is its workloads' lowest.
    pub fn rank(&self) -> u8 {
        match self {
            StressVerdict::Unsafe { .. } => 0,
            StressVerdict::GilReenabled { .. } => 1,
            StressVerdict::SlowsDown { .. } => 2,
            StressVerdict::Serialises { .. } => 3,
            StressVerdict::ScalesPartly { .. } => 4,
            StressVerdict::Inconclusive { .. } => 5,
            StressVerdict::Scales { .. } => 6,
            StressVerdict::Passed { .. } => 7,
            StressVerdict::NotStressable { .. } => 8,
        }
    }

    /// The snake_case name used in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            StressVerdict::Unsafe { .. } => "unsafe",
            StressVerdict::GilReenabled { .. } => "gil_reenabled",
            StressVerdict::SlowsDown { .. } => "slows_down",
            StressVerdict::Serialises { .. } => "serialises",
            StressVerdict::ScalesPartly { .. } => "scales_partly",
            StressVerdict::Inconclusive { .. } => "inconclusive",
            StressVerdict::Scales { .. } => "scales",
            StressVerdict::Passed { .. } => "passed",
            StressVerdict::NotStressable { .. } => "not_stressable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StressFailure {
    /// A unit's result differed from the same unit's result on 1 worker.
    WrongResult {
        executor: ExecutorKind,
        workers: usize,
        round: usize,
        /// The first unit that differed, and how many did.
        unit: u64,
        wrong_units: u64,
        expected: String,
        got: String,
    },
    /// The recipe's own check() rejected results.
    CheckFailed {
        executor: ExecutorKind,
        workers: usize,
        round: usize,
        unit: u64,
        wrong_units: u64,
    },
    /// The workload raised under this executor (it did not on 1 worker).
    Exception {
        executor: ExecutorKind,
        exception: String,
        message: String,
        traceback: String,
    },
    /// A generic check found a problem (a call not rejected, different answers under threads).
    Generic {
        check: String,
        problem: String,
    },
    /// The process died: a signal, with the module in the faulting frame where the dump names it.
    Crashed {
        stage: String,
        signal: Option<i32>,
        description: String,
        faulting_module: Option<String>,
    },
    /// Nothing used CPU for the last second of an expired stage: blocked (a deadlock).
    Deadlock {
        stage: String,
        seconds: f64,
        traceback: Option<String>,
    },
    /// An expired stage that still used CPU: a hang or a livelock.
    Hang {
        stage: String,
        seconds: f64,
        cpu_per_second: Option<f64>,
        traceback: Option<String>,
    },
    MemoryLimit {
        stage: String,
        limit_mb: u64,
    },
}
