//! Findings: everything ftaudit has to tell about a file, with stable codes that a CI gate,
//! an allowlist or a baseline can name.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// Dotted module name the finding is about, when it is about one module of the file.
    pub module: Option<String>,
    pub message: String,
    /// What the package's maintainers can do about it.
    pub fix: Option<String>,
    /// Stable across machines and rebuilds of the same wheel: `code/distribution/module`
    /// (the file's path without its platform suffix when there is no module). Baselines and
    /// SARIF match findings by it.
    #[serde(default)]
    pub fingerprint: String,
    /// Set when the allowlist, a baseline or the policy keeps this finding from counting;
    /// the finding stays in the report for the record. Absent from the JSON when None.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Suppression {
    pub by: SuppressedBy,
    /// The allowlist entry's reason, the baseline file, or the policy key.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuppressedBy {
    Allowlist,
    Baseline,
    Policy,
}

impl SuppressedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressedBy::Allowlist => "allowlist",
            SuppressedBy::Baseline => "baseline",
            SuppressedBy::Policy => "policy",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// Stable finding codes. Never renumber or rename one: allowlists and baselines refer to them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    // -- could not check --
    /// The file could not be read or parsed.
    UnreadableBinary,
    /// A module whose declaration cannot be decided from the binary.
    GilUndeterminable,
    // -- static declarations --
    /// The module does not declare Py_MOD_GIL_NOT_USED: importing it re-enables the GIL.
    GilRequired,
    /// A Py_mod_gil value other than 0 or 1 (3.15 reads it as "used").
    GilSlotUnusualValue,
    /// The module cannot be imported in any subinterpreter (single-phase or NOT_SUPPORTED).
    SubinterpretersNotSupported,
    /// Shared-GIL subinterpreters only: isolated (own-GIL) interpreters refuse it.
    PerInterpreterGilNotSupported,
    // -- ABI --
    /// Built for another interpreter than the scanned environment's.
    AbiMismatch,
    /// The file name says one ABI and the binary another.
    SuffixContradictsBinary,
    // -- package metadata --
    /// A Free Threading classifier that the package's modules contradict.
    ClassifierContradicted,
    /// A native file that no RECORD claims.
    UnownedFile,
    // -- dynamic --
    /// Importing the module raised.
    ImportFailed,
    /// The import crashed the process (signal or abnormal exit).
    ImportCrashed,
    /// The import did not finish within the timeout.
    ImportTimedOut,
    /// The import exceeded the memory limit.
    ImportMemoryLimit,
    /// CPython re-enabled the GIL to load this module.
    GilReenabled,
    /// The import failed in an isolated (own-GIL) subinterpreter.
    IsolatedSubinterpreterFailed,
    /// The import failed in a legacy (shared-GIL) subinterpreter.
    LegacySubinterpreterFailed,
    /// What the binary declares and what the import did disagree.
    StaticDynamicMismatch,
    // -- stress --
    /// Under concurrent use the module gave wrong results, crashed, deadlocked or hung.
    StressUnsafe,
    /// The GIL came back while the module was in use (after a GIL-free import).
    StressGilReenabled,
    /// More workers made the module's workload slower.
    StressSlowsDown,
    /// The module's workload ran no faster with more workers: likely one lock around every call.
    StressSerialises,
    /// The synthesized tier crashed or hung the process through the package's own API.
    StressCrash,
    /// Under threads the package raised an internal error (SystemError, MemoryError, a failed
    /// assertion, a Rust panic): its state broke.
    StressCorruption,
    /// Under threads a call gave another result than alone, or raised where alone it did not.
    StressWrongResult,
    /// One object used from several threads raised a clean "already borrowed"-style error.
    StressNotShareable,
    // -- standard (GIL) build --
    /// On a standard build, the module cannot be used from `InterpreterPoolExecutor` /
    /// `concurrent.interpreters`: isolated (own-GIL) subinterpreters refuse it.
    InterpreterPoolUnsupported,
    // -- sandbox --
    /// The module's code ran (imported or stressed) without every layer of the box.
    Unboxed,
    // -- policy --
    /// An allowlist entry whose `expires` date has passed.
    AllowlistExpired,
}

impl FindingCode {
    /// The kebab-case name used in JSON, allowlists and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::UnreadableBinary => "unreadable-binary",
            FindingCode::GilUndeterminable => "gil-undeterminable",
            FindingCode::GilRequired => "gil-required",
            FindingCode::GilSlotUnusualValue => "gil-slot-unusual-value",
            FindingCode::SubinterpretersNotSupported => "subinterpreters-not-supported",
            FindingCode::PerInterpreterGilNotSupported => "per-interpreter-gil-not-supported",
            FindingCode::AbiMismatch => "abi-mismatch",
            FindingCode::SuffixContradictsBinary => "suffix-contradicts-binary",
            FindingCode::ClassifierContradicted => "classifier-contradicted",
            FindingCode::UnownedFile => "unowned-file",
            FindingCode::ImportFailed => "import-failed",
            FindingCode::ImportCrashed => "import-crashed",
            FindingCode::ImportTimedOut => "import-timed-out",
            FindingCode::ImportMemoryLimit => "import-memory-limit",
            FindingCode::GilReenabled => "gil-reenabled",
            FindingCode::IsolatedSubinterpreterFailed => "isolated-subinterpreter-failed",
            FindingCode::LegacySubinterpreterFailed => "legacy-subinterpreter-failed",
            FindingCode::StaticDynamicMismatch => "static-dynamic-mismatch",
            FindingCode::StressUnsafe => "stress-unsafe",
            FindingCode::StressGilReenabled => "stress-gil-reenabled",
            FindingCode::StressSlowsDown => "stress-slows-down",
            FindingCode::StressSerialises => "stress-serialises",
            FindingCode::StressCrash => "stress-crash",
            FindingCode::StressCorruption => "stress-corruption",
            FindingCode::StressWrongResult => "stress-wrong-result",
            FindingCode::StressNotShareable => "stress-not-shareable",
            FindingCode::InterpreterPoolUnsupported => "interpreter-pool-unsupported",
            FindingCode::Unboxed => "unboxed",
            FindingCode::AllowlistExpired => "allowlist-expired",
        }
    }
}
