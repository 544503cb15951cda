//! What the synthesized stress tier found in a distribution's own public API: how much of the
//! API it could exercise, and each concurrency failure with a standalone reproducer that
//! ftaudit ran on its own, with its failure rate.

use serde::{Deserialize, Serialize};

/// One distribution's synthesized tier (on the stress facts of its first GIL-free module).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SynthFacts {
    pub distribution: String,
    /// The import packages whose public API was walked.
    pub packages: Vec<String>,
    pub budget_seconds: f64,
    pub elapsed_seconds: f64,
    pub coverage: SynthCoverage,
    /// Each pattern that ran (or why not).
    pub patterns: Vec<PatternRun>,
    pub findings: Vec<SynthFinding>,
    /// Set when the tier did not run (no sandbox, nothing to call...).
    pub not_run: Option<String>,
    /// It did not run because the sandbox could not be set up and the user did not allow
    /// running it unboxed: the report is incomplete.
    #[serde(default)]
    pub refused_unboxed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiCount {
    pub found: usize,
    pub exercised: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SynthCoverage {
    pub functions: ApiCount,
    pub classes: ApiCount,
    pub methods: ApiCount,
    /// Programs kept (a call, or an object and its method calls, or a doctest), and their calls.
    pub programs: usize,
    pub doctest_programs: usize,
    pub calls: usize,
    /// Why names were not called, with a count and a few of them.
    pub skipped: Vec<SkipReason>,
    /// A call that did not return during discovery (discovery stopped there).
    pub stalled: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkipReason {
    pub reason: String,
    pub count: usize,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PatternRun {
    /// `independent`, `shared_input`, `shared_object`, `accumulator` or `first_use`.
    pub pattern: String,
    pub programs: usize,
    pub calls: usize,
    /// `passed`, `failed`, `note` (an exception a plain Python object would raise too),
    /// `crashed`, `hung`, or `skipped` (with the reason in `detail`).
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SynthFailureKind {
    /// The process died (a signal, an abort).
    Crash,
    /// Threads stopped making progress.
    Hang,
    /// A SystemError, MemoryError, failed assertion or Rust panic: the module's state broke.
    InternalError,
    /// A result differed from the single-thread one, or a call raised only under threads.
    WrongResult,
    /// A clean exception on concurrent use of one object ("already borrowed"): not shareable.
    NotShareable,
    /// The GIL came back at a first call.
    GilReenabled,
}

impl SynthFailureKind {
    /// As a sentence fragment: "a crash", "not shareable across threads".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Crash => "a crash",
            Self::Hang => "a hang",
            Self::InternalError => "an internal error",
            Self::WrongResult => "a wrong result",
            Self::NotShareable => "not shareable across threads",
            Self::GilReenabled => "the GIL came back",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SynthFinding {
    pub pattern: String,
    pub kind: SynthFailureKind,
    /// The program that showed it (its callable, and how the call was found).
    pub program: Option<String>,
    /// The call, and what it gave against what it gives alone.
    pub call: Option<String>,
    pub expected: Option<String>,
    pub got: Option<String>,
    pub exception: Option<String>,
    pub message: Option<String>,
    /// The fatal signal, the "Fatal Python error" line, the faulting frame, a thread dump.
    pub detail: Option<String>,
    /// The standalone script: run it with the environment's python.
    pub reproducer: String,
    /// Whether the script holds only the failing program (it failed again on its own).
    pub minimised: bool,
    pub threads: usize,
    pub seed: u64,
    /// How often the script failed when ftaudit ran it on its own, in fresh processes.
    pub reproduced: ReproRate,
    /// It did not fail once in those runs: reported, never dropped, but not an error.
    pub flaky: bool,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct ReproRate {
    pub runs: usize,
    pub failures: usize,
}
