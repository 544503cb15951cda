//! Shrinking a crash's reproducer. A driver that crashed in a pattern names no program (the
//! process died), so its reproducer holds the whole chunk, up to 40 programs. Here the chunk is
//! halved while a half still fails on its own, as standalone scripts in the box: what the user
//! gets is the smallest set of programs that was seen to crash, with the same runtime, seed and
//! thread count.

use std::time::{Duration, Instant};

use crate::driver::DriverSetup;
use crate::reproduce::{self, ScriptOutcome};

/// Standalone runs a half gets before it counts as passing.
const TRIES: usize = 3;
/// Wall time one reproducer's shrinking may take.
const BUDGET: Duration = Duration::from_secs(90);

const PROGRAMS_PREFIX: &str = "PROGRAMS = json.loads(";

/// The programs of a pattern script (`ftaudit_patterns.script`), as JSON values.
fn programs(source: &str) -> Option<Vec<serde_json::Value>> {
    let line = source.lines().find(|l| l.starts_with(PROGRAMS_PREFIX))?;
    // The argument is a JSON string literal (json.dumps of the JSON text): valid Python too.
    let literal = line.strip_prefix(PROGRAMS_PREFIX)?.strip_suffix(')')?;
    let text: String = serde_json::from_str(literal).ok()?;
    serde_json::from_str(&text).ok()
}

/// The same script over `subset`: its PROGRAMS line and the docstring's list of labels.
fn with_programs(source: &str, subset: &[serde_json::Value]) -> Option<String> {
    let text = serde_json::to_string(subset).ok()?;
    let literal = serde_json::to_string(&text).ok()?;
    let label = |p: &serde_json::Value| p["label"].as_str().unwrap_or("?").to_string();
    let mut out = Vec::new();
    let mut in_labels = false;
    for line in source.lines() {
        if line.starts_with(PROGRAMS_PREFIX) {
            out.push(format!("{PROGRAMS_PREFIX}{literal})"));
        } else if in_labels && line.starts_with("  ") {
            continue;
        } else if line.ends_with("Programs:") {
            in_labels = true;
            out.push(line.to_string());
            out.extend(subset.iter().map(|p| format!("  {}", label(p))));
        } else {
            in_labels = false;
            out.push(line.to_string());
        }
    }
    Some(out.join("\n") + "\n")
}

/// The smallest half-by-half subset of the script's programs seen to crash on its own, with its
/// program label when one is left; None when no half failed (the whole chunk is needed, or the
/// failure is too rare to tell in a few runs).
pub fn shrink_crash(
    setup: &DriverSetup<'_>,
    source: &str,
    timeout: Duration,
) -> Option<(String, Option<String>)> {
    let started = Instant::now();
    let mut current = programs(source)?;
    let mut smallest = None;
    while current.len() > 1 && started.elapsed() < BUDGET && setup.cancel.requested().is_none() {
        let (left, right) = current.split_at(current.len() / 2);
        let failing = [left, right].into_iter().find_map(|half| {
            let script = with_programs(source, half)?;
            let fails = (0..TRIES).any(|_| {
                started.elapsed() < BUDGET
                    && matches!(
                        reproduce::run_once(setup, &script, timeout, None),
                        ScriptOutcome::Crashed { .. }
                    )
            });
            fails.then(|| (half.to_vec(), script))
        });
        let Some((half, script)) = failing else { break };
        current = half;
        smallest = Some(script);
    }
    let label = (current.len() == 1)
        .then(|| current[0]["label"].as_str().map(str::to_string))
        .flatten();
    smallest.map(|script| (script, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "\"\"\"ftaudit reproducer: the shared_object pattern on demo, 4 threads, seed 1.\n\
        \n0: it did not this time. Programs:\n  a methods\n  b methods\n\"\"\"\nimport json\n\
        PROGRAMS = json.loads(\"[{\\\"label\\\": \\\"a methods\\\", \\\"calls\\\": [\\\"x()\\\"]}, {\\\"label\\\": \\\"b methods\\\", \\\"calls\\\": []}]\")\n\
        run()\n";

    #[test]
    fn a_subset_rewrites_the_programs_and_the_listed_labels_only() {
        let all = programs(SCRIPT).expect("the PROGRAMS line parses");
        assert_eq!(all.len(), 2);
        let one = with_programs(SCRIPT, &all[1..]).unwrap();
        assert_eq!(programs(&one).unwrap(), all[1..].to_vec());
        assert!(one.contains("Programs:\n  b methods\n\"\"\""), "{one}");
        assert!(!one.contains("a methods"), "{one}");
        assert!(one.starts_with("\"\"\"ftaudit reproducer") && one.ends_with("run()\n"));
    }
}
