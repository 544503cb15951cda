//! Thin public wrappers over crate-private parts of the probe, for the cargo-fuzz targets in
//! `fuzz/` at the repository root. Not part of the API: hidden from the docs, may change any time.

use crate::output::StageSplitter;

/// Feeds `chunks`, in order, to a [`StageSplitter`] that looks for `\0ftaudit:<token>:<seq>\0`
/// markers (as one of a worker's output streams would arrive, one read at a time), finishes the
/// stream, and returns the text attributed to each of `seqs`.
pub fn split_stages(token: &str, chunks: &[&[u8]], seqs: &[u64]) -> Vec<Option<String>> {
    let mut splitter = StageSplitter::new(token);
    for chunk in chunks {
        splitter.feed(chunk);
    }
    splitter.finish();
    seqs.iter().map(|&seq| splitter.text(seq)).collect()
}
