//! Publishing: merging reports into a matrix, diffing two reports, and splitting one scan into
//! shards that a CI matrix runs on several machines (the union of the shards is the scan).

mod diff;
mod merge;
mod shard;

pub use diff::{diff, diff_text, Diff};
pub use merge::merge;
pub use shard::{parse_shard, Shard};
