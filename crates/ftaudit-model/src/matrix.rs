//! The merged compatibility matrix (`ftaudit merge`): distribution and version x module x
//! column (interpreter and platform), from any number of reports, keeping where each cell
//! came from. Two reports that disagree about one cell leave both answers in it.

use serde::{Deserialize, Serialize};

use crate::{Provenance, ToolInfo};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Matrix {
    pub schema_version: String,
    pub tool: ToolInfo,
    pub provenance: Provenance,
    /// The reports merged, in the order given.
    pub sources: Vec<MatrixSource>,
    /// Interpreter and platform combinations, sorted.
    pub columns: Vec<String>,
    /// Sorted by distribution, version and module.
    pub rows: Vec<MatrixRow>,
    /// One roll-up per distribution (schema 1.5): per column, what its modules add up to, so
    /// the builds and platforms can be compared package by package.
    #[serde(default)]
    pub packages: Vec<MatrixPackage>,
    /// Per column, the answer first (schema 1.7): how many packages are ready, not ready, or
    /// could not be checked, as `packages[].cells[].verdict` decided them.
    #[serde(default)]
    pub verdicts: Vec<ColumnVerdict>,
    /// Against the previous publication (`ftaudit merge --previous OLD`, schema 1.8): per
    /// column, the packages that became ready, regressed, appeared or went away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<MatrixChanges>,
}

/// What changed since an earlier matrix, package by package (schema 1.8).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixChanges {
    /// The earlier matrix: where it was read, and when it was made.
    pub previous: String,
    pub previous_generated_at: String,
    /// One per column of either matrix, sorted.
    pub columns: Vec<ColumnChanges>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnChanges {
    pub column: String,
    /// Not ready or not checked before, ready now.
    pub became_ready: Vec<PackageChange>,
    /// Ready before, not ready now; or checked before and not checkable now.
    pub regressed: Vec<PackageChange>,
    /// In this column now, not before.
    pub new: Vec<PackageChange>,
    /// In this column before, not now.
    pub gone: Vec<PackageChange>,
    /// The verdict is the same but the version moved.
    pub updated: Vec<PackageChange>,
}

/// One package's move between two matrices: versions and verdicts before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PackageChange {
    pub distribution: String,
    pub before: Option<PackageState>,
    pub after: Option<PackageState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PackageState {
    pub version: String,
    pub verdict: PackageVerdict,
}

/// A package's answer in one column, decided once, by `merge`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PackageVerdict {
    /// No module has an error-level finding that counts, and every module's GIL verdict (or, on a
    /// standard build, its subinterpreter answer) is known.
    Ready,
    /// At least one module has an error-level finding that counts (after the policy).
    NotReady,
    /// No error, but a module's answer is unknown: neither the binary nor an import decided it.
    #[default]
    CouldNotCheck,
}

impl PackageVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageVerdict::Ready => "ready",
            PackageVerdict::NotReady => "not_ready",
            PackageVerdict::CouldNotCheck => "could_not_check",
        }
    }
}

/// One column's answer: its packages by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnVerdict {
    pub column: String,
    /// The question the verdict answers: free-threading, or (a standard build's column, where
    /// every module's GIL verdict is not applicable) isolated subinterpreters.
    #[serde(default)]
    pub readiness: crate::Readiness,
    /// The column's overall answer: not ready when any package is, else could not check when any
    /// package could not be checked, else ready.
    pub verdict: PackageVerdict,
    pub packages: usize,
    pub ready: usize,
    pub not_ready: usize,
    pub could_not_check: usize,
    pub modules: usize,
    /// Modules whose stress verdict is `unsafe` or `gil_reenabled`, where stress ran.
    pub stress_failures: usize,
    /// What the not-ready packages have, counted in packages (one package can be in several):
    /// a module that needs the GIL, one that fails to import, one isolated subinterpreters
    /// refuse, one that failed under stress.
    #[serde(default)]
    pub packages_needing_gil: usize,
    #[serde(default)]
    pub packages_failing_import: usize,
    #[serde(default)]
    pub packages_refusing_isolated: usize,
    #[serde(default)]
    pub packages_failing_stress: usize,
    /// Packages with a module that crashed the interpreter: at import, or under stress (schema 1.8).
    #[serde(default)]
    pub packages_crashing: usize,
    /// Packages that declare a `Free Threading` trove classifier, and those whose evidence in
    /// this column contradicts it (`MatrixPackageCell::classifier_contradicted`; schema 1.8).
    #[serde(default)]
    pub packages_with_classifier: usize,
    #[serde(default)]
    pub packages_contradicting_classifier: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixPackage {
    pub distribution: String,
    /// One per column that has any of its modules, in column order.
    pub cells: Vec<MatrixPackageCell>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixPackageCell {
    pub column: String,
    /// The distribution's version in this column's report(s).
    pub version: String,
    pub modules: usize,
    /// Modules by GIL verdict (all `not_applicable` in a standard build's column).
    pub gil_free: usize,
    pub needs_gil: usize,
    pub gil_unknown: usize,
    pub gil_not_applicable: usize,
    /// Imports that did not succeed, where imported.
    pub import_failures: usize,
    /// Modules an isolated (own-GIL) subinterpreter imported, and refused, where tried.
    pub isolated_ok: usize,
    pub isolated_refused: usize,
    /// Modules with error-level findings that count.
    pub modules_with_errors: usize,
    /// Modules stress found `unsafe` or `gil_reenabled` (schema 1.7), and modules stressed.
    #[serde(default)]
    pub stress_failures: usize,
    #[serde(default)]
    pub stressed: usize,
    /// The package's answer in this column (schema 1.7).
    #[serde(default)]
    pub verdict: PackageVerdict,
    /// Modules that crashed the interpreter, at import or under stress (schema 1.8).
    #[serde(default)]
    pub crashes: usize,
    /// The `Programming Language :: Python :: Free Threading` level the package declares
    /// (`unstable`, `beta`, `stable`, `resilient`; schema 1.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<crate::FreeThreadingClassifier>,
    /// The classifier says more than this column's evidence shows: any level, and a module
    /// needs the GIL or fails to import on the free-threaded build; `stable` or `resilient`,
    /// and a module failed under stress.
    #[serde(default)]
    pub classifier_contradicted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixSource {
    pub path: String,
    pub schema_version: String,
    pub tool_version: String,
    pub provenance: Provenance,
    /// What was scanned.
    pub target: String,
    /// "3.14.7t imported", or "cp314t static" when nothing was imported.
    pub interpreter: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixRow {
    pub distribution: String,
    pub version: String,
    pub module: String,
    /// One per column that has it, in column order.
    pub cells: Vec<MatrixCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixCell {
    pub column: String,
    /// `gil_free`, `needs_gil`, `unknown` (after the import where it ran, else declared);
    /// `not_applicable` in a standard (GIL) build's column.
    pub gil: String,
    /// The import outcome (`ok`, an exception name, `crashed`, ...), when imported.
    pub import: Option<String>,
    /// Whether an isolated (own-GIL) subinterpreter imported it, when tried.
    pub isolated_subinterpreter: Option<bool>,
    /// Error-level findings that count.
    pub errors: usize,
    /// The stress verdict's name (`unsafe`, `scales`, ...), where stress ran (schema 1.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stress: Option<String>,
    /// The module crashed the interpreter, at import or under stress (schema 1.8).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub crashed: bool,
    /// The stress stage's speed-up figures, per timed workload (schema 1.8): what the page
    /// charts inside the module's row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<MatrixScaling>,
    /// Why: the binary's GIL evidence, the import's outcome, the findings' messages.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Indexes into `sources` of the reports that gave this cell.
    pub sources: Vec<usize>,
    /// Set when those reports disagree: each one's answer, as `source: gil / import`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// One timed stress workload's speed-ups, per executor (schema 1.8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatrixScaling {
    pub workload: String,
    /// The usable cores the run had: the ideal speed-up stops there.
    pub cores: usize,
    pub series: Vec<ScalingSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScalingSeries {
    pub executor: crate::ExecutorKind,
    /// (workers, median speed-up over 1 worker).
    pub points: Vec<(usize, f64)>,
}
