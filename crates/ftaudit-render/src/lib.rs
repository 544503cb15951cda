//! Renders a [`Report`]; never computes a verdict of its own. Every format reads the same model.

mod cells;
mod table;
mod workers;

use ftaudit_model::Report;

pub use table::{table, TableOptions};
pub use workers::{workers_json, workers_table};

/// The JSON contract: the report serialised as-is, pretty-printed, with a trailing newline.
pub fn json(report: &Report) -> String {
    let mut text =
        serde_json::to_string_pretty(report).expect("the report model always serialises");
    text.push('\n');
    text
}
