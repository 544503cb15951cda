use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{DynamicFacts, DynamicRun, Finding, LockAudit, StaticFacts, StressFacts, StressRun};

/// One scan of one target. Serialised as-is for `--format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: String,
    pub tool: ToolInfo,
    /// When and where the report was made (schema 1.2; absent in older reports).
    #[serde(default)]
    pub provenance: Provenance,
    pub target: Target,
    /// Distributions found (installed dist-info folders, or the wheels scanned).
    pub distributions: Vec<Distribution>,
    /// Every native file found, extension module or bundled library, sorted by path.
    pub files: Vec<NativeFile>,
    /// What could not be read while looking for native files (a corrupt wheel, a bad RECORD,
    /// an unreadable folder, a FIFO named like a module, a link not followed). Each one makes
    /// the report incomplete: a native file may be hidden behind it.
    #[serde(default)]
    pub input_problems: Vec<InputProblem>,
    /// Which stages ran, and with what.
    pub stages: Stages,
    /// The policy applied to the findings (schema 1.2).
    #[serde(default)]
    pub policy: PolicyOutcome,
    pub summary: Summary,
}

/// When and where a report was made. The interpreter is in `target.interpreter` (what the
/// environment says) and `stages.dynamic.interpreter` (what the probe embedded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    /// UTC, RFC 3339 (`2026-12-02T07:10:00Z`).
    pub generated_at: String,
    /// The machine that ran the scan: operating system and architecture (`linux x86_64`).
    pub host: String,
}

/// Which policy and baseline were applied, and the findings about the policy itself
/// (expired allowlist entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PolicyOutcome {
    /// The policy file (`ftaudit.toml`, or `pyproject.toml` for `[tool.ftaudit]`); None: the
    /// default policy (every finding at its default level).
    pub source: Option<String>,
    /// The baseline report whose findings were suppressed.
    pub baseline: Option<String>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Venv,
    SitePackages,
    Wheel,
    WheelDirectory,
    /// A single native file or an arbitrary folder of them.
    Files,
    /// A lock file (requirements.txt, pylock.toml, uv.lock): its wheels, read from the index.
    Lock,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Target {
    pub path: PathBuf,
    pub kind: TargetKind,
    /// site-packages folders scanned (venv / site-packages targets).
    pub site_packages: Vec<PathBuf>,
    /// The interpreter the target was made for, where the target says (pyvenv.cfg, lib/pythonX.Yt).
    pub interpreter: Option<TargetInterpreter>,
}

/// What the scanned environment says about its own interpreter, without running it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetInterpreter {
    /// "3.13.5"; at least major.minor.
    pub version: String,
    pub free_threaded: bool,
    /// Executable named by pyvenv.cfg, if any.
    pub executable: Option<PathBuf>,
    /// Where each fact came from ("pyvenv.cfg version_info", "lib/python3.13t folder name").
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Distribution {
    pub name: String,
    pub version: String,
    /// Wheel tags (`cp313-cp313t-manylinux_2_17_x86_64`) from WHEEL or the file name.
    pub wheel_tags: Vec<String>,
    /// `Programming Language :: Python :: Free Threading :: ...` level, if declared.
    pub free_threading_classifier: Option<FreeThreadingClassifier>,
    /// The dist-info folder, or the wheel file.
    pub source: PathBuf,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FreeThreadingClassifier {
    /// "1 - Unstable"
    Unstable,
    /// "2 - Beta"
    Beta,
    /// "3 - Stable"
    Stable,
    /// "4 - Resilient"
    Resilient,
}

impl FreeThreadingClassifier {
    /// The classifier's own words: "3 - Stable".
    pub fn label(self) -> &'static str {
        match self {
            Self::Unstable => "1 - Unstable",
            Self::Beta => "2 - Beta",
            Self::Stable => "3 - Stable",
            Self::Resilient => "4 - Resilient",
        }
    }
}

/// A native file (ELF, Mach-O, PE) found in the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NativeFile {
    /// Path relative to the site-packages folder or the wheel root (`numpy/_core/_multiarray_umath.cpython-313t-x86_64-linux-gnu.so`).
    pub path: String,
    /// Where it was read: the file on disk, or `wheel.whl!member`.
    pub location: String,
    /// Name of the owning distribution (matches `Distribution::name`); None = no RECORD claims it.
    pub distribution: Option<String>,
    pub size: u64,
    /// Dotted module name derived from the path, for files whose name is a module file name.
    pub module_name: Option<String>,
    /// What the static pass read out of the file; None when it could not (see `problem`).
    pub static_facts: Option<StaticFacts>,
    /// Why the file could not be read or parsed.
    pub problem: Option<FileProblem>,
    /// Dynamic probe result for this file's module, when the probe ran.
    pub dynamic: Option<DynamicFacts>,
    /// What stressing this file's module showed, when the stress stage ran (schema 1.3).
    #[serde(default)]
    pub stress: Option<StressFacts>,
    /// Everything worth telling about this file, with stable codes.
    pub findings: Vec<Finding>,
}

/// A problem met while discovering the target's files, not tied to one native file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InputProblem {
    /// The wheel, folder, metadata file or directory entry concerned.
    pub path: PathBuf,
    pub kind: InputProblemKind,
    pub message: String,
}

impl InputProblem {
    pub fn new(
        path: impl Into<PathBuf>,
        kind: InputProblemKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            kind,
            message: message.into(),
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InputProblemKind {
    /// A folder that could not be listed, or an entry whose type could not be read.
    UnreadableFolder,
    /// A wheel that could not be opened as a zip archive (truncated, not a zip, unreadable).
    BadWheel,
    /// A wheel member refused: a name that escapes the wheel (`../`, absolute), a duplicate,
    /// an encrypted member, or a size or compression ratio no real binary has.
    HostileMember,
    /// METADATA, WHEEL or RECORD missing, unreadable or malformed.
    BadMetadata,
    /// Named like a native file but not a regular file (FIFO, socket, device, folder).
    NotARegularFile,
    /// A symbolic link that was not followed (to a folder, dangling, or to a non-regular file).
    LinkSkipped,
    /// A lock pin with no wheel that could be audited for a target (an sdist only, a GIL-only
    /// wheel, an unreachable index, a hash mismatch).
    NoWheel,
}

/// Why a file could not be checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileProblem {
    pub kind: FileProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileProblemKind {
    /// Could not be opened or read (permissions, I/O, bad zip member).
    Unreadable,
    /// Recognised format but the contents are cut short.
    Truncated,
    /// Recognised format but the structures are inconsistent.
    Malformed,
    /// Not ELF, Mach-O or PE.
    UnknownFormat,
    /// Not read: the scan was interrupted (SIGINT, SIGTERM) first.
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stages {
    pub static_analysis: bool,
    pub dynamic: Option<DynamicRun>,
    /// Why the dynamic probe did not run, when it did not.
    pub dynamic_skipped: Option<String>,
    /// Set when a signal (SIGINT, SIGTERM) stopped the scan early: what was cut short. The
    /// report then holds what finished; the rest is marked not checked.
    #[serde(default)]
    pub interrupted: Option<String>,
    /// How the stress stage ran, when it did (schema 1.3).
    #[serde(default)]
    pub stress: Option<StressRun>,
    /// Why the stress stage did not run, when it was asked for.
    #[serde(default)]
    pub stress_skipped: Option<String>,
    /// The lock file audited, per target (schema 1.3; lock targets only).
    #[serde(default)]
    pub lock: Option<LockAudit>,
    /// Distributions whose probe and stress results were taken from an earlier report
    /// (`scan --reuse`, schema 1.8): unchanged since, so not run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<Reused>,
}

/// What `scan --reuse` took from an earlier report, and what it ran again.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Reused {
    /// The earlier report, and when it was made.
    pub from: String,
    pub generated_at: String,
    /// Distributions whose results were taken over (same name, version, native file paths
    /// and sizes, and not named by `--rescan`), and the modules among their files.
    pub distributions: usize,
    pub modules: usize,
    /// Distributions probed (and stressed) again, and why each was.
    pub rescanned: Vec<Rescanned>,
    /// Why nothing could be taken over, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Rescanned {
    pub distribution: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// The question the verdict answers (schema 1.5): free-threading on a free-threaded build
    /// (or wheels and locks, which target one), isolated subinterpreters on a standard build.
    #[serde(default)]
    pub readiness: Readiness,
    pub native_files: usize,
    pub extension_modules: usize,
    pub bundled_libraries: usize,
    /// Files that could not be read or parsed.
    pub unchecked_files: usize,
    /// Entries of `input_problems`.
    #[serde(default)]
    pub input_problems: usize,
    pub static_gil_not_used: usize,
    pub static_gil_used: usize,
    pub static_gil_undeterminable: usize,
    /// `Py_mod_multiple_interpreters` as declared in the binaries (schema 1.5): own-GIL
    /// (isolated) subinterpreters supported; shared-GIL ones only; none.
    #[serde(default)]
    pub static_own_gil: usize,
    #[serde(default)]
    pub static_shared_gil_only: usize,
    #[serde(default)]
    pub static_no_subinterpreters: usize,
    /// Modules whose import re-enabled the GIL (dynamic).
    pub dynamic_gil_required: usize,
    pub dynamic_import_failed: usize,
    /// Crashed, timed out, hit the memory limit.
    pub dynamic_contained: usize,
    /// Modules the probe did not get to (the scan was interrupted).
    #[serde(default)]
    pub dynamic_not_probed: usize,
    pub errors: usize,
    pub warnings: usize,
    /// True when anything the user asked for could not be checked (exit status 2).
    pub incomplete: bool,
    /// The policy accepts an incomplete report (`incomplete = "allow"`): exit status 2 is
    /// not used for it.
    #[serde(default)]
    pub incomplete_allowed: bool,
    /// Modules per stress verdict (schema 1.3; all 0 when the stress stage did not run).
    #[serde(default)]
    pub stress_unsafe: usize,
    #[serde(default)]
    pub stress_gil_reenabled: usize,
    #[serde(default)]
    pub stress_slows_down: usize,
    #[serde(default)]
    pub stress_serialises: usize,
    #[serde(default)]
    pub stress_scales: usize,
    /// Scales partly, inconclusive, passed the generic checks only, or not stressable.
    #[serde(default)]
    pub stress_other: usize,
    /// Findings kept from counting by the allowlist, a baseline or the policy.
    #[serde(default)]
    pub suppressed: usize,
    /// One line per distribution (unowned files under the name `(no RECORD)`), sorted by name.
    pub by_distribution: Vec<DistributionSummary>,
}

/// What a report's verdict answers.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// Free-threaded builds: does anything bring the GIL back or break without it?
    #[default]
    FreeThreading,
    /// Standard (GIL) builds: can the modules be used from isolated subinterpreters
    /// (`InterpreterPoolExecutor`)? GIL findings do not apply there.
    Subinterpreters,
}

impl Readiness {
    /// "free-threading", "isolated subinterpreters (InterpreterPoolExecutor)".
    pub fn describe(self) -> &'static str {
        match self {
            Readiness::FreeThreading => "free-threading",
            Readiness::Subinterpreters => "isolated subinterpreters (InterpreterPoolExecutor)",
        }
    }
}

/// Per-distribution counts over its extension modules. A module's GIL verdict is what its
/// import showed when the probe ran, else what its binary declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DistributionSummary {
    pub name: String,
    pub extension_modules: usize,
    pub gil_free: usize,
    pub needs_gil: usize,
    /// Neither the binary nor an import settled it (unreadable, undecidable, failed import).
    pub gil_unknown: usize,
    /// Imports that raised, crashed, hung or hit the memory limit.
    pub import_failures: usize,
    /// Imports that succeeded in a fresh isolated (own-GIL) subinterpreter.
    pub isolated_subinterpreter_ok: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// Why a JSON document cannot be read as a report.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no schema_version: not an ftaudit report")]
    NoVersion,
    #[error(
        "schema_version {found} is not readable by this ftaudit, which reads {major}.x reports"
    )]
    OtherMajor { found: String, major: String },
}

impl Report {
    /// Reads a report of any minor version of this major: a newer minor's extra fields are
    /// ignored, an older minor's missing optional fields take their defaults.
    pub fn from_json(text: &str) -> Result<Report, ReadError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        let found = value["schema_version"]
            .as_str()
            .ok_or(ReadError::NoVersion)?
            .to_string();
        let major = crate::SCHEMA_VERSION
            .split('.')
            .next()
            .unwrap_or("1")
            .to_string();
        if found.split('.').next() != Some(major.as_str()) {
            return Err(ReadError::OtherMajor { found, major });
        }
        Ok(serde_json::from_value(value)?)
    }
}

/// The JSON Schema of the report, generated from these types (committed as
/// docs/report.schema.json and checked to be in sync by a test).
pub fn report_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}
