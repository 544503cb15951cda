//! Splits a worker's raw stdout or stderr into the stages that wrote it. After each Begin
//! event the worker writes `\0ftaudit:<token>:<seq>\0` to fd 1 and fd 2, in order with
//! whatever the module writes, so attribution is exact rather than a race between pipes.
//! Stage 0 is start-up (interpreter chatter); stage n is the n-th Begin.

use std::collections::BTreeMap;

/// Bytes kept per stage and stream; a noisy module must not exhaust the parent's memory.
const STAGE_CAP: usize = 64 * 1024;
/// Longest sequence number text accepted in a marker.
const MAX_SEQ_DIGITS: usize = 20;

#[derive(Debug, Default)]
struct Stage {
    bytes: Vec<u8>,
    dropped: usize,
}

#[derive(Debug)]
pub struct StageSplitter {
    prefix: Vec<u8>,
    current: u64,
    pending: Vec<u8>,
    stages: BTreeMap<u64, Stage>,
}

impl StageSplitter {
    pub fn new(token: &str) -> Self {
        Self {
            prefix: format!("\0ftaudit:{token}:").into_bytes(),
            current: 0,
            pending: Vec::new(),
            stages: BTreeMap::new(),
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        self.drain(false);
    }

    /// End of stream: nothing more can complete a partial marker.
    pub fn finish(&mut self) {
        self.drain(true);
    }

    /// Text written during stage `seq` (lossily decoded), with a note when some was cut.
    pub fn text(&self, seq: u64) -> Option<String> {
        let stage = self.stages.get(&seq)?;
        if stage.bytes.is_empty() && stage.dropped == 0 {
            return None;
        }
        let mut text = String::from_utf8_lossy(&stage.bytes).into_owned();
        if stage.dropped > 0 {
            text.push_str(&format!("\n[... {} more bytes cut]\n", stage.dropped));
        }
        Some(text)
    }

    fn push(&mut self, upto: usize) {
        let stage = self.stages.entry(self.current).or_default();
        let room = STAGE_CAP.saturating_sub(stage.bytes.len());
        let take = upto.min(room);
        stage.bytes.extend_from_slice(&self.pending[..take]);
        stage.dropped += upto - take;
        self.pending.drain(..upto);
    }

    fn drain(&mut self, eof: bool) {
        loop {
            let Some(pos) = find(&self.pending, &self.prefix) else {
                let keep = if eof {
                    0
                } else {
                    partial_prefix_len(&self.pending, &self.prefix)
                };
                let upto = self.pending.len() - keep;
                self.push(upto);
                return;
            };
            let after = pos + self.prefix.len();
            let rest = &self.pending[after..];
            match rest.iter().take(MAX_SEQ_DIGITS + 1).position(|b| *b == 0) {
                Some(end) => match std::str::from_utf8(&rest[..end])
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    Some(seq) => {
                        self.push(pos);
                        self.pending.drain(..self.prefix.len() + end + 1);
                        self.current = seq;
                    }
                    // Looks like a marker but is not one: keep its first byte as data, move on.
                    None => self.push(pos + 1),
                },
                None if !eof && rest.len() <= MAX_SEQ_DIGITS => {
                    // The marker's tail has not arrived yet.
                    self.push(pos);
                    return;
                }
                None => self.push(pos + 1),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest suffix of `data` that is a proper prefix of `prefix`.
fn partial_prefix_len(data: &[u8], prefix: &[u8]) -> usize {
    (1..prefix.len().min(data.len() + 1))
        .rev()
        .find(|&n| data.ends_with(&prefix[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(seq: u64) -> Vec<u8> {
        format!("\0ftaudit:tok:{seq}\0").into_bytes()
    }

    #[test]
    fn attributes_bytes_to_the_stage_after_each_marker() {
        let mut s = StageSplitter::new("tok");
        let mut all = b"startup noise\n".to_vec();
        all.extend(marker(1));
        all.extend(b"one");
        all.extend(marker(2));
        all.extend(marker(3));
        all.extend(b"three\n");
        s.feed(&all);
        s.finish();
        assert_eq!(s.text(0).as_deref(), Some("startup noise\n"));
        assert_eq!(s.text(1).as_deref(), Some("one"));
        assert_eq!(s.text(2), None);
        assert_eq!(s.text(3).as_deref(), Some("three\n"));
    }

    #[test]
    fn markers_split_across_reads_are_recognised() {
        let mut all = b"a".to_vec();
        all.extend(marker(12));
        all.extend(b"b");
        // Feed one byte at a time: every split point inside the marker is exercised.
        let mut s = StageSplitter::new("tok");
        for byte in &all {
            s.feed(std::slice::from_ref(byte));
        }
        s.finish();
        assert_eq!(s.text(0).as_deref(), Some("a"));
        assert_eq!(s.text(12).as_deref(), Some("b"));
    }

    #[test]
    fn foreign_tokens_and_broken_markers_stay_as_data() {
        let mut s = StageSplitter::new("tok");
        s.feed(b"\0ftaudit:other:1\0x\0ftaudit:tok:zz\0y\0ftaudit:tok:");
        s.finish();
        assert_eq!(
            s.text(0).as_deref(),
            Some("\0ftaudit:other:1\0x\0ftaudit:tok:zz\0y\0ftaudit:tok:")
        );
    }

    #[test]
    fn caps_each_stage() {
        let mut s = StageSplitter::new("tok");
        s.feed(&vec![b'x'; STAGE_CAP + 10]);
        s.finish();
        let text = s.text(0).unwrap();
        assert!(text.starts_with(&"x".repeat(100)));
        assert!(
            text.ends_with("[... 10 more bytes cut]\n"),
            "{}",
            &text[text.len() - 40..]
        );
    }
}
