//! One module's stress run: drivers started one after another until every planned workload has
//! run (a crash or a hang ends that workload, a new driver goes on with the next one, and
//! nothing measured before is lost), then the events turned into [`StressFacts`].

use ftaudit_probe::contain::SandboxTally;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;

use ftaudit_model::{
    ExecutorKind, ExecutorResult, GilObservation, StressFacts, StressFailure, StressVerdict,
    WorkloadResult, WorkloadTier,
};

use ftaudit_probe::tail;

use crate::classify;
use crate::driver::{run_driver, DriverRun, DriverSetup, Ending};
use crate::figures::{self, Round};
use crate::protocol::{DriverEvent, DriverRequest, Workload};

/// A workload planned for a module.
#[derive(Debug, Clone)]
pub struct Planned {
    pub workload: Workload,
    pub tier: WorkloadTier,
    pub unit: String,
}

/// Everything one workload reported, across drivers.
#[derive(Default)]
struct Acc {
    started: bool,
    units: Option<u64>,
    generic_checks: Vec<String>,
    failures: Vec<StressFailure>,
    gil: Option<GilObservation>,
    not_run: Option<String>,
    rounds: BTreeMap<ExecutorKind, Vec<Round>>,
    startup: BTreeMap<ExecutorKind, Vec<(usize, f64)>>,
    memory: BTreeMap<ExecutorKind, f64>,
    executor_not_run: BTreeMap<ExecutorKind, String>,
    stuck: Option<(ExecutorKind, f64, f64)>,
}

pub struct ModuleOutcome {
    pub facts: StressFacts,
    pub drivers: usize,
    /// What of the box held in each driver.
    pub sandbox: SandboxTally,
}

pub fn stress_module(
    setup: &DriverSetup<'_>,
    base: &DriverRequest,
    planned: &[Planned],
    cores: usize,
    replay: String,
) -> ModuleOutcome {
    let mut accs: Vec<Acc> = planned.iter().map(|_| Acc::default()).collect();
    let mut next = 0;
    let mut drivers = 0;
    let mut sandbox = SandboxTally::default();
    while next < planned.len() && setup.cancel.requested().is_none() {
        let mut request = base.clone();
        request.workloads = planned[next..].iter().map(|p| p.workload.clone()).collect();
        drivers += 1;
        let run = match run_driver(setup, &request) {
            Ok(run) => run,
            Err(e) => {
                for acc in &mut accs[next..] {
                    acc.not_run = Some(format!("the stress driver could not start: {e}"));
                }
                break;
            }
        };
        sandbox.add(run.sandbox);
        let index_of = |name: &str| {
            planned[next..]
                .iter()
                .position(|p| p.workload.name() == name)
                .map(|i| i + next)
        };
        for event in &run.events {
            if let Some(i) = event.workload().and_then(index_of) {
                record(&mut accs[i], event);
            }
        }
        if matches!(run.ending, Ending::Done | Ending::Cancelled) {
            break;
        }
        // It ended inside the last stage it began: that workload takes the blame.
        let Some((stage_no, (workload, stage))) = run.stages.iter().enumerate().next_back() else {
            let reason = format!(
                "the stress driver {} before its first workload{}",
                ending_text(&run.ending),
                output_tail(&run, 0)
            );
            for acc in &mut accs[next..] {
                acc.not_run = Some(reason.clone());
            }
            break;
        };
        let Some(culprit) = index_of(workload) else {
            break;
        };
        let failure = ended_failure(&run, stage_no + 1, workload, stage, &accs[culprit], setup);
        accs[culprit].failures.push(failure);
        next = culprit + 1;
    }
    let mut fails_alone = None;
    for (p, acc) in planned.iter().zip(accs.iter_mut()) {
        if matches!(p.workload, Workload::FirstImport { .. }) && setup.cancel.requested().is_none()
        {
            let (started, alone) = single_thread_control(setup, base, acc, &mut sandbox);
            drivers += started;
            fails_alone = alone;
        }
    }
    // A module that does not import on its own (an import cycle entered from the wrong end) has
    // nothing for introspection to look at: that is no concurrency failure either.
    if let Some(error) = fails_alone {
        for (p, acc) in planned.iter().zip(accs.iter_mut()) {
            if matches!(p.workload, Workload::Introspect { .. }) {
                let before = acc.failures.len();
                acc.failures.retain(|f| !import_failure(f, "introspect"));
                if acc.failures.len() < before {
                    acc.not_run = Some(format!(
                        "it does not import on its own in a fresh interpreter, on one thread either: {error}"
                    ));
                }
            }
        }
    }
    let workloads: Vec<WorkloadResult> = planned
        .iter()
        .zip(accs)
        .map(|(p, acc)| finish(p, acc, cores, setup.speed_executor))
        .collect();
    let verdict = classify::worst(workloads.iter().map(|w| &w.verdict)).unwrap_or(
        StressVerdict::NotStressable {
            reason: "no workload was planned".into(),
        },
    );
    ModuleOutcome {
        facts: StressFacts {
            module: base.module.clone(),
            workloads,
            verdict,
            replay,
            synthesized: None,
        },
        drivers,
        sandbox,
    }
}

/// A generic workload's failure to import the module (`check`: first-import, introspect).
fn import_failure(f: &StressFailure, workload: &str) -> bool {
    matches!(f, StressFailure::Generic { check, problem } if check == workload && problem.contains("failed to import"))
}

/// A failure counts only when the same calls pass on one thread: an import that failed under
/// threads is tried again alone, in a fresh driver. If it fails there too (a circular import
/// CPython reports on one thread as well), it is no concurrency problem: a check note says so
/// and the failures go. Returns the drivers started, and the error when the import failed alone.
fn single_thread_control(
    setup: &DriverSetup<'_>,
    base: &DriverRequest,
    acc: &mut Acc,
    sandbox: &mut SandboxTally,
) -> (usize, Option<String>) {
    let failed_import = |f: &StressFailure| import_failure(f, "first-import");
    if !acc.failures.iter().any(failed_import) {
        return (0, None);
    }
    let mut request = base.clone();
    request.workloads = vec![Workload::FirstImport { threads: 1 }];
    let Ok(run) = run_driver(setup, &request) else {
        return (1, None);
    };
    sandbox.add(run.sandbox);
    let alone = run.events.iter().find_map(|e| match e {
        DriverEvent::Generic { problems, .. } => Some(problems.clone()),
        _ => None,
    });
    let Some(problem) = alone.and_then(|p| p.into_iter().find(|p| p.contains("failed to import")))
    else {
        return (1, None);
    };
    let error = problem
        .split_once(": ")
        .map(|(_, e)| e)
        .unwrap_or(&problem)
        .to_string();
    acc.failures.retain(|f| !failed_import(f));
    acc.generic_checks.push(format!(
        "first-import: fails on one thread too, so not a concurrency problem: {error}"
    ));
    (1, Some(error))
}

fn record(acc: &mut Acc, event: &DriverEvent) {
    match event {
        DriverEvent::Begin { .. } => acc.started = true,
        DriverEvent::Generic {
            workload,
            threads,
            checked,
            calls,
            problems,
            gil,
            module,
            warning,
        } => {
            acc.generic_checks.push(format!(
                "{workload}: {checked} checks on {threads} threads{}",
                if workload == "introspect" && !calls {
                    " (introspection only: no calls, the method-flags check failed)"
                } else {
                    ""
                }
            ));
            for problem in problems {
                acc.failures.push(StressFailure::Generic {
                    check: workload.clone(),
                    problem: problem.clone(),
                });
            }
            if *gil {
                acc.gil = Some(GilObservation {
                    module: module.clone(),
                    warning: warning.clone(),
                    executor: Some(ExecutorKind::Threads),
                    workers: Some(*threads),
                });
            }
        }
        DriverEvent::Calibrated { units, .. } => acc.units = Some(*units),
        DriverEvent::Startup {
            executor,
            workers,
            seconds,
            ..
        } => acc
            .startup
            .entry(*executor)
            .or_default()
            .push((*workers, *seconds)),
        DriverEvent::Round {
            executor,
            workers,
            round,
            wall,
            cpu,
            wait,
            late,
            gil,
            ..
        } => acc.rounds.entry(*executor).or_default().push(Round {
            workers: *workers,
            round: *round,
            wall: *wall,
            cpu: *cpu,
            wait: *wait,
            late: *late,
            gil: *gil,
        }),
        DriverEvent::Memory {
            executor,
            peak_rss_mb,
            ..
        } => {
            acc.memory.insert(*executor, *peak_rss_mb);
        }
        DriverEvent::Gil {
            executor,
            workers,
            module,
            warning,
            ..
        } => {
            if acc.gil.is_none() {
                acc.gil = Some(GilObservation {
                    module: module.clone(),
                    warning: warning.clone(),
                    executor: Some(*executor),
                    workers: Some(*workers),
                });
            }
        }
        DriverEvent::NotRun {
            executor,
            reason,
            exception,
            message,
            ..
        } => {
            let reason = match (exception, message) {
                (Some(e), Some(m)) => format!("{reason}: {e}: {m}"),
                _ => reason.clone(),
            };
            match executor {
                Some(kind) => {
                    acc.executor_not_run.insert(*kind, reason);
                }
                None => acc.not_run = Some(reason),
            }
        }
        DriverEvent::Failure(f) => {
            let workers = f.workers.unwrap_or(0);
            let round = f.round.unwrap_or(0);
            acc.failures.push(match f.kind.as_str() {
                "wrong_result" => StressFailure::WrongResult {
                    executor: f.executor,
                    workers,
                    round,
                    unit: f.unit.unwrap_or(0),
                    wrong_units: f.wrong_units.unwrap_or(0),
                    expected: f.expected.clone().unwrap_or_default(),
                    got: f.got.clone().unwrap_or_default(),
                },
                "check_failed" => StressFailure::CheckFailed {
                    executor: f.executor,
                    workers,
                    round,
                    unit: f.unit.unwrap_or(0),
                    wrong_units: f.wrong_units.unwrap_or(0),
                },
                _ => StressFailure::Exception {
                    executor: f.executor,
                    exception: f.exception.clone().unwrap_or_default(),
                    message: f.message.clone().unwrap_or_default(),
                    traceback: f.traceback.clone().unwrap_or_default(),
                },
            });
        }
        DriverEvent::Stuck {
            executor,
            seconds,
            cpu_per_second,
            ..
        } => acc.stuck = Some((*executor, *seconds, *cpu_per_second)),
        DriverEvent::Ready { .. }
        | DriverEvent::Recipe { .. }
        | DriverEvent::Done
        | DriverEvent::SynthCoverage { .. }
        | DriverEvent::SynthFirstUse { .. }
        | DriverEvent::SynthPatterns { .. }
        | DriverEvent::SynthTrying { .. }
        | DriverEvent::SynthPlan { .. }
        | DriverEvent::SynthResult { .. } => {}
    }
}

/// Below this much CPU per second, a stuck stage is blocked (a deadlock), not busy.
const BLOCKED_CPU: f64 = 0.05;

/// How a driver that did not finish ended, as the failure of the stage it was in.
fn ended_failure(
    run: &DriverRun,
    stage_no: usize,
    workload: &str,
    stage: &str,
    acc: &Acc,
    setup: &DriverSetup<'_>,
) -> StressFailure {
    let output = run.stage_output(stage_no);
    let traceback = (!output.trim().is_empty()).then(|| tail(&output, 6000));
    let stage = format!("{workload} ({stage})");
    let stuck = |seconds: f64, cpu: Option<f64>| match cpu {
        Some(cpu) if cpu < BLOCKED_CPU => StressFailure::Deadlock {
            stage: stage.clone(),
            seconds,
            traceback: traceback.clone(),
        },
        _ => StressFailure::Hang {
            stage: stage.clone(),
            seconds,
            cpu_per_second: cpu,
            traceback: traceback.clone(),
        },
    };
    match &run.ending {
        Ending::Exited(_) if acc.stuck.is_some() => {
            let (_, seconds, cpu) = acc.stuck.expect("checked");
            stuck(seconds, Some(cpu))
        }
        Ending::Killed {
            cpu_per_second,
            seconds,
        } => stuck(*seconds, *cpu_per_second),
        Ending::Exited(status) => {
            if let Some(limit_mb) = setup.limits.memory_limit_mb {
                if ftaudit_probe::OUT_OF_MEMORY_SIGNS
                    .iter()
                    .any(|s| output.contains(s))
                {
                    return StressFailure::MemoryLimit { stage, limit_mb };
                }
            }
            let mut description = format!(
                "the driver {} during {stage}",
                ftaudit_probe::describe_exit(*status)
            );
            if let Some(line) = output.lines().find(|l| l.starts_with("Fatal Python error")) {
                description.push_str(": ");
                description.push_str(line.trim());
            }
            StressFailure::Crashed {
                stage,
                signal: status.signal(),
                description,
                faulting_module: faulting_module(&output),
            }
        }
        Ending::Done | Ending::Cancelled => unreachable!("only unfinished drivers are blamed"),
    }
}

/// The first extension module in a fatal-error dump's C stack (3.14 prints `Binary file
/// "<path>"` frames; the signal handler's own frames are in libpython and libc).
pub fn faulting_module(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let start = line.find("Binary file \"")? + "Binary file \"".len();
        let path = &line[start..start + line[start..].find('"')?];
        let name = path.rsplit('/').next()?;
        let ours = name.starts_with("libpython")
            || name.starts_with("libc.")
            || name.starts_with("libc-")
            || name.starts_with("ld-linux")
            || name.starts_with("python3");
        (!ours && name.contains(".so")).then(|| name.to_string())
    })
}

fn ending_text(ending: &Ending) -> String {
    match ending {
        Ending::Exited(status) => ftaudit_probe::describe_exit(*status),
        Ending::Killed { seconds, .. } => format!("stopped answering for {seconds:.0} s"),
        Ending::Done | Ending::Cancelled => "ended".into(),
    }
}

fn output_tail(run: &DriverRun, stage: usize) -> String {
    let mut text = run.stage_output(stage);
    for line in &run.garbage {
        text.push_str(line);
        text.push('\n');
    }
    if text.trim().is_empty() {
        String::new()
    } else {
        format!("; its output ends:\n{}", tail(&text, 2000))
    }
}

fn finish(
    planned: &Planned,
    acc: Acc,
    cores: usize,
    speed_executor: ExecutorKind,
) -> WorkloadResult {
    let mut executors = Vec::new();
    let mut kinds: Vec<ExecutorKind> = acc
        .rounds
        .keys()
        .chain(acc.executor_not_run.keys())
        .chain(acc.startup.keys())
        .copied()
        .collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let rounds = acc.rounds.get(&kind).map(Vec::as_slice).unwrap_or_default();
        let points = figures::points(rounds, cores);
        let not_run = acc.executor_not_run.get(&kind).cloned();
        let verdict =
            (not_run.is_none() && !points.is_empty()).then(|| classify::speed(&points, cores));
        executors.push(ExecutorResult {
            kind,
            not_run,
            startup_seconds: acc
                .startup
                .get(&kind)
                .and_then(|s| s.iter().max_by_key(|(w, _)| *w).map(|(_, t)| *t)),
            peak_rss_mb: acc.memory.get(&kind).copied(),
            points,
            verdict,
        });
    }
    let not_started = (!acc.started && acc.failures.is_empty())
        .then(|| "the run stopped before this workload (interrupted)".to_string());
    let mut result = WorkloadResult {
        workload: planned.workload.name().to_string(),
        tier: planned.tier,
        unit: planned.unit.clone(),
        total_units: acc.units,
        executors,
        failures: acc.failures,
        gil: acc.gil,
        verdict: StressVerdict::NotStressable {
            reason: String::new(),
        },
    };
    result.verdict = match planned.tier {
        WorkloadTier::Generic => {
            if !result.failures.is_empty() || result.gil.is_some() {
                classify::workload(&result, None, speed_executor)
            } else if let Some(reason) = acc.not_run.or(not_started) {
                StressVerdict::NotStressable { reason }
            } else {
                StressVerdict::Passed {
                    checks: acc.generic_checks,
                }
            }
        }
        _ => classify::workload(
            &result,
            acc.not_run.as_deref().or(not_started.as_deref()),
            speed_executor,
        ),
    };
    result
}

/// One line per failure, for verdicts and findings.
pub fn describe_failure(failure: &StressFailure) -> String {
    match failure {
        StressFailure::WrongResult { executor, workers, unit, wrong_units, expected, got, .. } => format!(
            "wrong results on {workers} {}: {wrong_units} unit(s) differ from 1 worker's (unit {unit}: {got}, expected {expected})",
            executor.as_str()
        ),
        StressFailure::CheckFailed { executor, workers, wrong_units, unit, .. } => {
            format!("check() rejected {wrong_units} result(s) on {workers} {} (first: unit {unit})", executor.as_str())
        }
        StressFailure::Exception { executor, exception, message, .. } => format!("{exception}: {message} (on {})", executor.as_str()),
        StressFailure::Generic { check, problem } => format!("{check}: {problem}"),
        StressFailure::Crashed { description, faulting_module, .. } => match faulting_module {
            Some(m) => format!("{description} (faulting frame in {m})"),
            None => description.clone(),
        },
        StressFailure::Deadlock { stage, seconds, .. } => format!("deadlock in {stage}: no progress after {seconds:.0} s and no CPU used"),
        StressFailure::Hang { stage, seconds, cpu_per_second, .. } => match cpu_per_second {
            Some(cpu) => format!("hang in {stage}: not done after {seconds:.0} s, still using {cpu:.2} CPU/s"),
            None => format!("hang in {stage}: not done after {seconds:.0} s"),
        },
        StressFailure::MemoryLimit { stage, limit_mb } => format!("{stage} hit the {limit_mb} MB memory limit"),
    }
}

#[cfg(test)]
mod tests {
    use super::faulting_module;

    #[test]
    fn the_faulting_module_is_the_first_frame_outside_the_interpreter() {
        // The shape of a 3.14 fatal-error dump (faulthandler's C stack).
        let dump = "Fatal Python error: Segmentation fault\n\n\
            Current thread 0x00007f1 [python] (most recent call first):\n  File \"/tmp/r.py\", line 9 in work\n\n\
            Current thread's C stack trace (most recent call first):\n\
              Binary file \"/opt/py/lib/libpython3.14t.so.1.0\", at _Py_DumpStack+0x31 [0x7f1]\n\
              Binary file \"/lib/x86_64-linux-gnu/libc.so.6\", at +0x3fdf0 [0x7f2]\n\
              Binary file \"/venv/lib/python3.14t/site-packages/pkg/_speedups.cpython-314t-x86_64-linux-gnu.so\", at +0x1139 [0x7f3]\n\
              Binary file \"/opt/py/lib/libpython3.14t.so.1.0\", at +0x1b2e4c [0x7f4]\n";
        assert_eq!(
            faulting_module(dump).as_deref(),
            Some("_speedups.cpython-314t-x86_64-linux-gnu.so")
        );
        assert_eq!(faulting_module("Fatal Python error: Aborted\n"), None);
    }
}
