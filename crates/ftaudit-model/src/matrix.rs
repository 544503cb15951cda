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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Why: the binary's GIL evidence, the import's outcome, the findings' messages.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Indexes into `sources` of the reports that gave this cell.
    pub sources: Vec<usize>,
    /// Set when those reports disagree: each one's answer, as `source: gil / import`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}
