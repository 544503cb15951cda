//! Publishing: merging reports into a matrix, diffing two reports, and splitting one scan into
//! shards that a CI matrix runs on several machines (the union of the shards is the scan).

mod changes;
mod diff;
mod merge;
mod reuse;
mod shard;

pub use changes::{any_regressed, changes_text, matrix_changes};
pub use diff::{diff, diff_text, Diff};
pub use merge::merge;
pub use reuse::{split as split_for_reuse, ReuseFrom, Split};
pub use shard::{parse_shard, Shard};
