//! What the parent reads from a worker, all of it written by code that may be crashing:
//! - the result pipe (fd 3): one `WorkerEvent` JSON object a line, parsed with serde_json;
//! - stdout / stderr: raw module output with `\0ftaudit:<token>:<seq>\0` stage markers, split
//!   by `StageSplitter` (reached through `ftaudit_probe::fuzzing`).
//!
//! Input: a stream; each line is parsed as an event, and the whole stream goes through the
//! splitter three ways (one read, one byte per read, reads of varying sizes), which must agree:
//! how the pipe happened to deliver the bytes must not change which stage they belong to.

#![no_main]

use ftaudit_model::protocol::WorkerEvent;
use ftaudit_model::ImportOutcome;
use libfuzzer_sys::fuzz_target;

/// The marker token the corpus was recorded with (`ftaudit-worker --markers 5eed`).
const TOKEN: &str = "5eed";
/// Stages asked for: start-up, the first few Begin events, and far-away sequence numbers.
const SEQS: &[u64] = &[0, 1, 2, 3, 4, 5, 8, 12, 99, u64::MAX];

/// Floats need not survive a text round trip bit for bit; everything else must.
fn without_floats(mut event: WorkerEvent) -> WorkerEvent {
    fn outcome(o: &mut ImportOutcome) {
        if let ImportOutcome::TimedOut { seconds } = o {
            *seconds = 0.0;
        }
    }
    match &mut event {
        WorkerEvent::Imported(record) => {
            record.import_seconds = 0.0;
            outcome(&mut record.outcome);
        }
        WorkerEvent::Subinterpreter { outcome: o, .. } => outcome(o),
        _ => {}
    }
    event
}

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&b| b == b'\n') {
        let Ok(event) = serde_json::from_slice::<WorkerEvent>(line) else {
            continue;
        };
        // What the parent accepted, written back, reads as the same event.
        let text = serde_json::to_string(&event).expect("an event serializes");
        let again: WorkerEvent = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{text} does not parse back: {e}"));
        assert_eq!(without_floats(event), without_floats(again), "{text}");
    }

    let one_read = ftaudit_probe::fuzzing::split_stages(TOKEN, &[data], SEQS);
    let bytes: Vec<&[u8]> = data.chunks(1).collect();
    let byte_reads = ftaudit_probe::fuzzing::split_stages(TOKEN, &bytes, SEQS);
    assert_eq!(one_read, byte_reads, "one read vs one byte per read");

    // Reads of 1 to 32 bytes, sizes from a generator seeded by the input.
    let mut state = data
        .iter()
        .fold(0x9e37_79b9_7f4a_7c15u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    let mut rest = data;
    let mut chunks = Vec::new();
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (chunk, tail) = rest.split_at(((state % 32) as usize + 1).min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    let varied = ftaudit_probe::fuzzing::split_stages(TOKEN, &chunks, SEQS);
    assert_eq!(one_read, varied, "one read vs reads of varying sizes");
});
