//! Running a pattern script on its own, as a user would run a reproducer: the environment's
//! plain python, a fresh process each time, in the same box and containment as the drivers.
//! This is how the first-use pattern runs (it needs a fresh interpreter), and how every failure
//! the driver saw is confirmed and given its failure rate.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ftaudit_model::ReproRate;
use ftaudit_probe::contain::{marker_token, ChildSpec, ContainedChild, Message};
use ftaudit_probe::{describe_exit, tail};

use crate::driver::DriverSetup;
use crate::protocol::PatternResult;

/// How one run of a script ended.
#[derive(Debug, Clone)]
pub enum ScriptOutcome {
    /// Exit 0: not reproduced this time.
    Passed,
    /// Exit 1 with its result line.
    Failed(PatternResult),
    /// Killed by a signal or an abnormal exit: the exit, and the end of its stderr.
    Crashed { exit: String, detail: String },
    /// Still running at the deadline and using no CPU (blocked: a deadlock), then killed.
    Hung { detail: String },
    /// Still running at the deadline but busy: too slow for the deadline on this machine, not
    /// a failure.
    Busy,
    /// It could not be started.
    Error(String),
}

impl ScriptOutcome {
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Self::Failed(_) | Self::Crashed { .. } | Self::Hung { .. }
        )
    }
}

/// Runs `source` once as `python -X faulthandler reproducer.py [THREADS]` (a thread count
/// given overrides the script's own: 1 is the single-thread control).
pub fn run_once(
    setup: &DriverSetup<'_>,
    source: &str,
    timeout: Duration,
    threads: Option<usize>,
) -> ScriptOutcome {
    let token = marker_token();
    let mut args: Vec<std::ffi::OsString> =
        vec!["-X".into(), "faulthandler".into(), "reproducer.py".into()];
    if let Some(n) = threads {
        args.push(n.to_string().into());
    }
    let spawned = ContainedChild::<serde_json::Value>::spawn(&ChildSpec {
        program: setup.python,
        args,
        files: vec![(PathBuf::from("reproducer.py"), source.as_bytes().to_vec())],
        env: vec![crate::driver::fixed_hash_seed()],
        token,
        limits: setup.limits,
        sandbox: setup.sandbox.clone(),
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return ScriptOutcome::Error(e.to_string()),
    };
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    loop {
        match child.next_message(deadline) {
            Some(Message::Eof) => break,
            Some(_) => continue,
            None => {
                timed_out = true;
                break;
            }
        }
    }
    // At the deadline: a process still using CPU is slow, one that uses none is stuck.
    let busy = timed_out && {
        let before = child.cpu_ticks();
        std::thread::sleep(Duration::from_secs(1));
        let after = child.cpu_ticks();
        before
            .zip(after)
            .is_some_and(|(b, a)| a.saturating_sub(b) > 5)
    };
    let status = if timed_out {
        child.kill();
        None
    } else {
        child
            .wait_until(Instant::now() + Duration::from_secs(5))
            .ok()
            .flatten()
    };
    if status.is_none() {
        child.kill();
    }
    let _ = child.wait();
    let streams = child.finish_output();
    let text = |i: usize| streams.get(i).and_then(|s| s.text(0)).unwrap_or_default();
    let (stdout, stderr) = (text(0), text(1));
    let result = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("FTAUDIT-RESULT "))
        .and_then(|json| serde_json::from_str::<PatternResult>(json).ok());
    match status {
        None if busy => ScriptOutcome::Busy,
        None => ScriptOutcome::Hung {
            detail: tail(&format!("{stdout}{stderr}"), 6000),
        },
        Some(s) if s.code() == Some(0) => ScriptOutcome::Passed,
        Some(s) if s.code() == Some(1) && result.is_some() => {
            ScriptOutcome::Failed(result.expect("checked"))
        }
        Some(s) => ScriptOutcome::Crashed {
            exit: if s.signal().is_some() {
                describe_exit(s)
            } else {
                format!("{} (no result line)", describe_exit(s))
            },
            detail: tail(&stderr, 6000),
        },
    }
}

/// Runs `source` `runs` times; the rate, and the first failing outcome.
pub fn rate(
    setup: &DriverSetup<'_>,
    source: &str,
    runs: usize,
    timeout: Duration,
    threads: Option<usize>,
) -> (ReproRate, Option<ScriptOutcome>) {
    let mut rate = ReproRate {
        runs: 0,
        failures: 0,
    };
    let mut first = None;
    for _ in 0..runs {
        if setup.cancel.requested().is_some() {
            break;
        }
        let outcome = run_once(setup, source, timeout, threads);
        if let ScriptOutcome::Error(_) = outcome {
            first.get_or_insert(outcome);
            break;
        }
        rate.runs += 1;
        if outcome.failed() {
            rate.failures += 1;
            first.get_or_insert(outcome);
        }
    }
    (rate, first)
}
