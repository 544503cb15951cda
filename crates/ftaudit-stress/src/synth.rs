//! The synthesized tier for one distribution: a driver discovers its calls and runs the
//! in-process patterns; the first-use pattern runs here as fresh processes; every failure is
//! run again on its own, as its standalone reproducer, and gets its failure rate. A driver
//! that dies in a pattern is that pattern's crash or hang, with that pattern's script as the
//! reproducer. Nothing is dropped: a failure that does not come back is reported as flaky.

use std::time::{Duration, Instant};

use ftaudit_model::{PatternRun, SynthFacts, SynthFailureKind, SynthFinding};

use ftaudit_probe::contain::SandboxTally;

use crate::collect::faulting_module;
use crate::driver::{run_driver, DriverSetup, Ending};
use crate::protocol::{DriverEvent, DriverRequest, PatternResult, Workload};
use crate::reproduce::{self, ScriptOutcome};

/// One distribution to synthesize workloads for.
#[derive(Debug, Clone)]
pub struct SynthJob {
    pub distribution: String,
    /// Its import packages (top-level names).
    pub packages: Vec<String>,
    /// Its GIL-free native modules (their public names are walked too).
    pub modules: Vec<String>,
    /// The module whose stress facts carry the result.
    pub anchor: String,
}

#[derive(Debug, Clone, Copy)]
pub struct SynthSettings {
    pub threads: usize,
    pub seed: u64,
    pub budget: Duration,
    /// Standalone runs of each reproducer (and of the first-use script).
    pub runs: usize,
}

const WORKLOAD: &str = "synthesized";
/// Single-thread control runs of a failing script.
const CONTROL_RUNS: usize = 2;
/// The least a standalone run of a script gets (it imports the package afresh).
const STANDALONE_TIMEOUT: Duration = Duration::from_secs(60);
/// Discovery starts again without a call that crashed it, this many times at most.
const MAX_DISCOVERY_RESTARTS: usize = 5;

pub struct SynthOutcome {
    pub facts: SynthFacts,
    /// The box of the one driver it started.
    pub sandbox: SandboxTally,
}

pub fn run(
    setup: &DriverSetup<'_>,
    base: &DriverRequest,
    job: &SynthJob,
    settings: SynthSettings,
) -> SynthOutcome {
    let started = Instant::now();
    let mut facts = SynthFacts {
        distribution: job.distribution.clone(),
        packages: job.packages.clone(),
        budget_seconds: settings.budget.as_secs_f64(),
        ..SynthFacts::default()
    };
    let mut sandbox = SandboxTally::default();
    // A call that crashes the driver during discovery (single-threaded, generated arguments:
    // a plain bug, not a race) is left out and discovery starts again, a few times at most.
    let mut exclude: Vec<String> = Vec::new();
    let run = loop {
        let mut request = base.clone();
        request.module = job.anchor.clone();
        request.workloads = vec![Workload::Synthesized {
            name: WORKLOAD.into(),
            distribution: job.distribution.clone(),
            packages: job.packages.clone(),
            modules: job.modules.clone(),
            threads: settings.threads,
            seed: settings.seed,
            budget_seconds: settings.budget.as_secs_f64(),
            exclude: exclude.clone(),
        }];
        let run = match run_driver(setup, &request) {
            Ok(run) => run,
            Err(e) => {
                facts.not_run = Some(format!("the stress driver could not start: {e}"));
                return SynthOutcome { facts, sandbox };
            }
        };
        sandbox.add(run.sandbox);
        let in_discovery = run
            .stages
            .last()
            .is_some_and(|(_, stage)| stage == "discover");
        let crashed = !matches!(run.ending, Ending::Done | Ending::Cancelled);
        let culprit = run.events.iter().rev().find_map(|e| match e {
            DriverEvent::SynthTrying { label, .. } => Some(label.clone()),
            _ => None,
        });
        match culprit {
            Some(label)
                if crashed
                    && in_discovery
                    && exclude.len() < MAX_DISCOVERY_RESTARTS
                    && started.elapsed() < settings.budget
                    && setup.cancel.requested().is_none() =>
            {
                exclude.push(label)
            }
            _ => break run,
        }
    };
    let mut first_use = None;
    let mut planned: Vec<String> = Vec::new();
    let mut plans: Vec<(String, String)> = Vec::new();
    let mut candidates: Vec<(String, PatternResult, String, bool)> = Vec::new();
    for event in &run.events {
        match event {
            DriverEvent::SynthCoverage { coverage, .. } => facts.coverage = coverage.clone(),
            DriverEvent::SynthFirstUse { source, .. } => first_use = Some(source.clone()),
            DriverEvent::SynthPatterns { patterns, .. } => planned = patterns.clone(),
            DriverEvent::SynthPlan {
                pattern, source, ..
            } => plans.push((pattern.clone(), source.clone())),
            DriverEvent::SynthResult {
                pattern,
                result,
                source,
                minimised,
                programs,
                calls,
                skipped,
                gil,
                module,
                ..
            } => {
                let outcome = match (result, skipped) {
                    (_, Some(why)) => ("skipped", Some(why.clone())),
                    (Some(r), _) if r.failed && r.kind.as_deref() == Some("note") => {
                        ("note", r.message.clone().or(r.exception.clone()))
                    }
                    (Some(r), _) if r.failed => ("failed", r.program.clone()),
                    _ => ("passed", None),
                };
                add_pattern(
                    &mut facts.patterns,
                    PatternRun {
                        pattern: pattern.clone(),
                        programs: *programs,
                        calls: *calls,
                        outcome: outcome.0.into(),
                        detail: outcome.1,
                    },
                );
                if let (Some(r), Some(src)) = (result, source) {
                    if r.failed && r.kind.as_deref() != Some("note") {
                        candidates.push((pattern.clone(), r.clone(), src.clone(), *minimised));
                    }
                }
                if *gil {
                    facts.findings.push(gil_finding(
                        pattern,
                        module.clone(),
                        settings,
                        plans.last(),
                    ));
                }
            }
            _ => {}
        }
    }
    if !matches!(run.ending, Ending::Done | Ending::Cancelled) {
        died(&run, &plans, &mut facts, settings);
        let ended_in = facts
            .patterns
            .last()
            .map(|p| p.pattern.clone())
            .unwrap_or_default();
        for pattern in planned {
            if !facts.patterns.iter().any(|p| p.pattern == pattern) {
                facts.patterns.push(PatternRun {
                    pattern,
                    programs: 0,
                    calls: 0,
                    outcome: "skipped".into(),
                    detail: Some(format!("not run: the driver ended in {ended_in}")),
                });
            }
        }
    }
    if facts.coverage.programs == 0 && facts.not_run.is_none() && facts.findings.is_empty() {
        facts.not_run = Some(match &facts.coverage.stalled {
            Some(call) => format!("discovery stopped: {call} did not return"),
            None => "no call of the public API could be made to work single-threaded".into(),
        });
    }
    // A fresh process pays the imports again: a standalone run gets more than a stage.
    let timeout = (setup.stage_timeout * 3).max(STANDALONE_TIMEOUT);
    // The control: the same script on one thread, in a fresh process. A failure that shows
    // there too is no race (a result that differs from process to process, a call that fails
    // alone): it is not counted, and the pattern says so.
    let passes_alone = |source: &str| {
        let (control, _) = reproduce::rate(setup, source, CONTROL_RUNS, timeout, Some(1));
        control.runs > 0 && control.failures == 0
    };
    if let Some(source) = first_use {
        let (rate, failure) = reproduce::rate(setup, &source, settings.runs, timeout, None);
        let (mut outcome, mut detail) = match &failure {
            Some(ScriptOutcome::Error(e)) => {
                ("skipped", format!("the script could not start: {e}"))
            }
            _ if rate.failures > 0 => (
                "failed",
                format!("{} of {} fresh processes failed", rate.failures, rate.runs),
            ),
            _ => (
                "passed",
                format!("0 of {} fresh processes failed", rate.runs),
            ),
        };
        let mut finding = None;
        if let Some(failed) = failure.filter(|o| o.failed()) {
            if passes_alone(&source) {
                let mut f = from_outcome("first_use", &failed, source, settings);
                f.reproduced = rate;
                finding = Some(f);
            } else {
                outcome = "passed";
                detail = format!("{detail}, but also on one thread: not counted");
            }
        }
        facts.patterns.push(PatternRun {
            pattern: "first_use".into(),
            programs: facts.coverage.programs,
            calls: facts.coverage.calls,
            outcome: outcome.into(),
            detail: Some(detail),
        });
        facts.findings.extend(finding);
    }
    for (pattern, result, source, minimised) in candidates {
        if !passes_alone(&source) {
            if let Some(run) = facts.patterns.iter_mut().find(|p| p.pattern == pattern) {
                run.detail = Some(format!(
                    "{} also fails on one thread in a fresh process: not counted",
                    result.program.as_deref().unwrap_or("a program")
                ));
                if run.outcome == "failed" {
                    run.outcome = "passed".into();
                }
            }
            continue;
        }
        let mut finding = from_result(&pattern, &result, source, settings);
        finding.minimised = minimised;
        let (rate, _) = reproduce::rate(setup, &finding.reproducer, settings.runs, timeout, None);
        finding.reproduced = rate;
        facts.findings.push(finding);
    }
    // The driver's own crash or hang: its script gets the control and its rate now.
    let mut kept = Vec::new();
    for mut finding in std::mem::take(&mut facts.findings) {
        let unrated =
            finding.reproduced.runs == 0 && finding.kind != SynthFailureKind::GilReenabled;
        if unrated {
            if !passes_alone(&finding.reproducer) {
                if let Some(run) = facts
                    .patterns
                    .iter_mut()
                    .find(|p| p.pattern == finding.pattern)
                {
                    run.detail = Some(format!(
                        "{}, but it also fails on one thread in a fresh process: not counted",
                        run.detail.as_deref().unwrap_or(finding.kind.describe())
                    ));
                }
                continue;
            }
            let (rate, _) =
                reproduce::rate(setup, &finding.reproducer, settings.runs, timeout, None);
            finding.reproduced = rate;
        }
        finding.flaky = finding.reproduced.runs > 0 && finding.reproduced.failures == 0;
        if finding.kind == SynthFailureKind::Crash && !finding.flaky && !finding.minimised {
            shrink(setup, &mut finding, settings, timeout, &passes_alone);
        }
        kept.push(finding);
    }
    facts.findings = kept;
    // The most reliable reproducer first: confirmed ones by rate, flaky ones last.
    facts.findings.sort_by(|a, b| {
        let rate =
            |f: &SynthFinding| f.reproduced.failures as f64 / f.reproduced.runs.max(1) as f64;
        a.flaky.cmp(&b.flaky).then(rate(b).total_cmp(&rate(a)))
    });
    facts.elapsed_seconds = started.elapsed().as_secs_f64();
    SynthOutcome { facts, sandbox }
}

/// A crash's chunk cut down to the programs that still crash on their own (minimise.rs): kept
/// only when the smaller script passes the single-thread control and crashes again when rated.
fn shrink(
    setup: &DriverSetup<'_>,
    finding: &mut SynthFinding,
    settings: SynthSettings,
    timeout: Duration,
    passes_alone: &dyn Fn(&str) -> bool,
) {
    let Some((script, label)) = crate::minimise::shrink_crash(setup, &finding.reproducer, timeout)
    else {
        return;
    };
    if !passes_alone(&script) {
        return;
    }
    // The smaller script must fail the same way (a crash), not merely fail.
    let (rate, first) = reproduce::rate(setup, &script, settings.runs, timeout, None);
    if matches!(first, Some(ScriptOutcome::Crashed { .. })) {
        finding.reproducer = script;
        finding.reproduced = rate;
        finding.program = label.or(finding.program.take());
        finding.minimised = true;
    }
}

/// A pattern runs as several scripts (chunks of programs): one entry per pattern, its counts
/// summed and its outcome the worst seen.
fn add_pattern(patterns: &mut Vec<PatternRun>, run: PatternRun) {
    let rank = |outcome: &str| match outcome {
        "crashed" | "hung" => 5,
        "failed" => 4,
        "note" => 3,
        "passed" => 2,
        _ => 1,
    };
    let Some(existing) = patterns.iter_mut().find(|p| p.pattern == run.pattern) else {
        patterns.push(run);
        return;
    };
    if run.outcome != "skipped" {
        existing.programs += run.programs;
        existing.calls += run.calls;
    }
    if rank(&run.outcome) > rank(&existing.outcome) {
        existing.outcome = run.outcome;
        existing.detail = run.detail;
    } else if run.outcome == "skipped" && existing.outcome != "skipped" {
        let skipped = format!(
            "{} more programs not run: {}",
            run.programs,
            run.detail.unwrap_or_default()
        );
        existing.detail = Some(match existing.detail.take() {
            Some(d) if !d.contains("more programs not run") => format!("{d}; {skipped}"),
            Some(d) => d,
            None => skipped,
        });
    }
}

fn kind_of(kind: Option<&str>) -> SynthFailureKind {
    match kind {
        Some("internal_error") => SynthFailureKind::InternalError,
        Some("not_shareable") => SynthFailureKind::NotShareable,
        Some("gil_reenabled") => SynthFailureKind::GilReenabled,
        _ => SynthFailureKind::WrongResult,
    }
}

fn blank(pattern: &str, kind: SynthFailureKind, source: String, s: SynthSettings) -> SynthFinding {
    SynthFinding {
        pattern: pattern.into(),
        kind,
        program: None,
        call: None,
        expected: None,
        got: None,
        exception: None,
        message: None,
        detail: None,
        reproducer: source,
        minimised: false,
        threads: s.threads,
        seed: s.seed,
        reproduced: Default::default(),
        flaky: false,
    }
}

fn from_result(pattern: &str, r: &PatternResult, source: String, s: SynthSettings) -> SynthFinding {
    SynthFinding {
        program: r.program.clone(),
        call: r.call.clone(),
        expected: r.expected.clone(),
        got: r.got.clone(),
        exception: r.exception.clone(),
        message: r.message.clone(),
        ..blank(pattern, kind_of(r.kind.as_deref()), source, s)
    }
}

fn from_outcome(
    pattern: &str,
    outcome: &ScriptOutcome,
    source: String,
    s: SynthSettings,
) -> SynthFinding {
    match outcome {
        ScriptOutcome::Failed(r) => from_result(pattern, r, source, s),
        ScriptOutcome::Crashed { exit, detail } => SynthFinding {
            detail: Some(crash_detail(exit, detail)),
            ..blank(pattern, SynthFailureKind::Crash, source, s)
        },
        ScriptOutcome::Hung { detail } => SynthFinding {
            detail: Some(detail.clone()),
            ..blank(pattern, SynthFailureKind::Hang, source, s)
        },
        ScriptOutcome::Passed | ScriptOutcome::Busy | ScriptOutcome::Error(_) => {
            blank(pattern, SynthFailureKind::WrongResult, source, s)
        }
    }
}

fn crash_detail(exit: &str, output: &str) -> String {
    let mut text = exit.to_string();
    if let Some(line) = output.lines().find(|l| l.starts_with("Fatal Python error")) {
        text.push_str(": ");
        text.push_str(line.trim());
    }
    if let Some(module) = faulting_module(output) {
        text.push_str(&format!(" (faulting frame in {module})"));
    }
    if !output.trim().is_empty() {
        text.push('\n');
        text.push_str(&ftaudit_probe::tail(output, 4000));
    }
    text
}

fn gil_finding(
    pattern: &str,
    module: Option<String>,
    s: SynthSettings,
    plan: Option<&(String, String)>,
) -> SynthFinding {
    SynthFinding {
        message: Some(match &module {
            Some(m) => format!("the GIL came back during the {pattern} pattern: {m} needs it"),
            None => format!("the GIL came back during the {pattern} pattern"),
        }),
        ..blank(
            pattern,
            SynthFailureKind::GilReenabled,
            plan.map(|p| p.1.clone()).unwrap_or_default(),
            s,
        )
    }
}

/// The driver died inside a pattern: that pattern crashed or hung, and its script is the
/// reproducer. A death during discovery is not a concurrency finding: the tier says so.
fn died(
    run: &crate::driver::DriverRun,
    plans: &[(String, String)],
    facts: &mut SynthFacts,
    s: SynthSettings,
) {
    let Some((stage_no, (_, stage))) = run.stages.iter().enumerate().next_back() else {
        facts.not_run = Some("the stress driver died before it began".into());
        return;
    };
    let output = run.stage_output(stage_no + 1);
    // A Python exception that ended the driver (a set-up that raised, such as "Too many open
    // files" once earlier rounds used up the descriptors) is no crash of the package: the
    // pattern could not run, and says why.
    if let Ending::Exited(status) = &run.ending {
        use std::os::unix::process::ExitStatusExt;
        let in_pattern = plans.iter().any(|(p, _)| p == stage);
        if in_pattern && status.signal().is_none() && !output.contains("Fatal Python error") {
            let last = output.lines().rev().find(|l| !l.trim().is_empty());
            facts.patterns.push(PatternRun {
                pattern: stage.clone(),
                programs: 0,
                calls: 0,
                outcome: "skipped".into(),
                detail: Some(format!(
                    "the driver stopped on an exception, not a crash: {}",
                    last.unwrap_or("no output").trim()
                )),
            });
            return;
        }
    }
    let (kind, detail) = match &run.ending {
        Ending::Exited(status) => (
            SynthFailureKind::Crash,
            crash_detail(&ftaudit_probe::describe_exit(*status), &output),
        ),
        Ending::Killed { seconds, .. } => (
            SynthFailureKind::Hang,
            format!(
                "no progress for {seconds:.0} s\n{}",
                ftaudit_probe::tail(&output, 4000)
            ),
        ),
        Ending::Done | Ending::Cancelled => return,
    };
    let Some((_, source)) = plans.iter().rev().find(|(p, _)| p == stage) else {
        facts.not_run = Some(format!(
            "the driver {} during {stage} (single-threaded, so not a concurrency finding): {}",
            if kind == SynthFailureKind::Crash {
                "crashed"
            } else {
                "hung"
            },
            detail.lines().next().unwrap_or_default()
        ));
        return;
    };
    facts.patterns.push(PatternRun {
        pattern: stage.clone(),
        programs: 0,
        calls: 0,
        outcome: if kind == SynthFailureKind::Crash {
            "crashed"
        } else {
            "hung"
        }
        .into(),
        detail: Some(detail.lines().next().unwrap_or_default().to_string()),
    });
    facts.findings.push(SynthFinding {
        detail: Some(detail),
        ..blank(stage, kind, source.clone(), s)
    });
}
