//! Renders a [`Report`]; never computes a verdict of its own. Every format reads the same model.

mod cells;
pub mod chart;
mod github;
mod html;
mod junit;
mod markdown;
mod markup;
mod names;
mod packages;
mod sarif;
pub mod stress_html;
pub mod stress_table;
mod synth_table;
mod table;
mod workers;

use ftaudit_model::Report;

pub use github::github;
pub use html::html;
pub use junit::junit;
pub use markdown::markdown;
pub use names::{generator_label, generator_name};
pub use packages::matrix_markdown;
pub use sarif::sarif;
pub use table::{table, TableOptions};
pub use workers::{workers_json, workers_table};

/// The JSON contract: the report serialised as-is, pretty-printed, with a trailing newline.
/// Streams the JSON report into `out`: a 100,000-file scan's report is ~16 MB, which need not
/// exist a second time as one string.
pub fn write_json(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}
