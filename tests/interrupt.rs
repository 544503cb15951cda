//! SIGINT and SIGTERM during a real probe: the workers are stopped, the report of what finished
//! is written (marked incomplete, the rest "not probed"), and the exit status is 130 / 143.

mod support;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ftaudit_model::{ImportOutcome, Report};
use support::*;

/// The worker processes `parent` has now (children of any of its threads).
fn children(parent: u32) -> BTreeSet<u32> {
    let mut found = BTreeSet::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
        return found;
    };
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            found.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

/// Starts a probe of the fixture venv with one worker and waits until that worker has died on
/// `ftfix_init_abort` and its replacement is stuck in `ftfix_init_hangs` (the modules are
/// probed in name order): some modules are finished, the rest are not.
fn scan_until_stuck_in_the_hang(extra: &[&str]) -> (Child, BTreeSet<u32>) {
    let child = ftaudit()
        .arg("scan")
        .arg(fixtures_venv())
        .args(["--jobs", "1", "--timeout", "600"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ftaudit starts");
    // The hang fixture sleeps in its PyInit: a worker whose main thread sits in nanosleep is
    // there (no other stage sleeps). The first worker died on the abort before that.
    let started = Instant::now();
    let mut workers = BTreeSet::new();
    let stuck = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/wchan")).is_ok_and(|w| w.contains("nanosleep"))
    };
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no worker got to the hang fixture: {workers:?}"
        );
        let now = children(child.id());
        workers.extend(now.iter().copied());
        if now.iter().any(|&pid| stuck(pid)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    workers.extend(children(child.id()));
    (child, workers)
}

fn send(child: &Child, signal: i32) -> Instant {
    // SAFETY: kill has no memory effects; the pid is our own unreaped child.
    let sent = unsafe { libc::kill(child.id() as i32, signal) };
    assert_eq!(sent, 0, "kill failed");
    Instant::now()
}

fn outcome<'a>(report: &'a Report, module: &str) -> &'a ImportOutcome {
    &file(report, module)
        .dynamic
        .as_ref()
        .unwrap_or_else(|| panic!("{module} has no probe result"))
        .import
}

fn assert_not_probed(outcome: &ImportOutcome) {
    match outcome {
        ImportOutcome::NotAttempted { reason } => {
            assert!(reason.contains("interrupted"), "{reason}")
        }
        other => panic!("expected not probed because interrupted, got {other:?}"),
    }
}

fn assert_workers_gone(workers: &BTreeSet<u32>) {
    for pid in workers {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty(),
            "worker {pid} outlived the interrupted scan: {stat}"
        );
    }
}

#[test]
fn sigterm_writes_the_partial_report_and_exits_143() {
    let (child, workers) = scan_until_stuck_in_the_hang(&["--format", "json"]);
    let sent = send(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stopped_in = sent.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stopped_in < Duration::from_secs(10), "took {stopped_in:?}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert_workers_gone(&workers);

    let report: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a report ({e}): {stderr}"));
    let interrupted = report.stages.interrupted.as_deref().expect("marked");
    assert!(interrupted.starts_with("SIGTERM"), "{interrupted}");
    assert!(report.summary.incomplete);
    // Finished before the signal: kept as measured.
    let exec_raises = outcome(&report, "ftfix_exec_raises");
    assert!(
        matches!(exec_raises, ImportOutcome::Error { .. }),
        "{exec_raises:?}: {:?}",
        report.stages
    );
    assert!(matches!(
        outcome(&report, "ftfix_init_abort"),
        ImportOutcome::Crashed {
            signal: Some(6),
            ..
        }
    ));
    // The module the worker was stuck in is not blamed for the kill, and the rest were not reached.
    assert_not_probed(outcome(&report, "ftfix_init_hangs"));
    assert_not_probed(outcome(&report, "ftfix_mp_gil_not_used"));
    assert!(
        report.summary.dynamic_not_probed >= 2,
        "{:?}",
        report.summary
    );
    // Static facts of every readable file are all there.
    assert!(file(&report, "ftfix_mp_gil_not_used")
        .static_facts
        .is_some());
}

#[test]
fn sigint_writes_the_table_to_the_output_file_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("report.txt");
    let output_arg = output.to_string_lossy().into_owned();
    let (child, workers) =
        scan_until_stuck_in_the_hang(&["--no-subinterpreters", "--output", &output_arg]);
    send(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_workers_gone(&workers);
    let table = std::fs::read_to_string(&output).expect("the report was written");
    assert!(table.contains("INTERRUPTED: SIGINT"), "{table}");
    assert!(table.contains("ftfix_exec_raises"), "{table}");
    assert!(table.contains("not probed"), "{table}");
}
