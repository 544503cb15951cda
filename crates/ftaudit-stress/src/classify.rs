//! Verdicts, decided once from the figures: per executor (speed), per workload (correctness
//! first) and per module (the worst workload). Thresholds are named here and documented in
//! docs/stress.md.

use ftaudit_model::{
    ExecutorKind, ExecutorResult, ScalingPoint, StressFacts, StressVerdict, SynthFacts,
    SynthFailureKind, WorkloadResult,
};

/// Parallel efficiency at or above which a workload scales.
pub const SCALES_EFFICIENCY: f64 = 0.8;
/// Speed-up at or below which more workers bought nothing (serialises), and below which they
/// cost (slows down, under `SLOWS_DOWN_SPEEDUP`).
pub const SERIAL_SPEEDUP: f64 = 1.25;
pub const SLOWS_DOWN_SPEEDUP: f64 = 0.8;
/// Interquartile range of the speed-up over its median beyond which the figures are noise.
pub const SPREAD_LIMIT: f64 = 0.25;
/// Median share of the workers' time spent waiting for a CPU beyond which the machine, not the
/// module, may explain a low speed-up.
pub const WAIT_LIMIT: f64 = 0.10;
/// Fewer timed rounds than this cannot support a speed verdict.
pub const MIN_ROUNDS: usize = 3;

/// The speed verdict of one executor, from its points, on `cores` usable cores.
pub fn speed(points: &[ScalingPoint], cores: usize) -> StressVerdict {
    let Some(point) = points
        .iter()
        .filter(|p| p.workers > 1 && p.workers <= cores)
        .max_by_key(|p| p.workers)
    else {
        return StressVerdict::Inconclusive {
            reason: format!("{cores} usable core(s) and no worker count between 2 and {cores}: a speed-up cannot be measured"),
        };
    };
    let Some(s) = point.speedup else {
        return StressVerdict::Inconclusive {
            reason: "no 1-worker round to compare with".into(),
        };
    };
    if point.wall_seconds.len() < MIN_ROUNDS {
        return StressVerdict::Inconclusive {
            reason: format!(
                "{} timed rounds at {} workers (at least {MIN_ROUNDS} are needed)",
                point.wall_seconds.len(),
                point.workers
            ),
        };
    }
    let n = point.workers as f64;
    let efficiency = s.median / n;
    let relative_spread = (s.q3 - s.q1) / s.median;
    if efficiency >= SCALES_EFFICIENCY {
        // A busy machine can only hide a speed-up, never make one up.
        return StressVerdict::Scales {
            speedup: s.median,
            efficiency,
        };
    }
    if relative_spread > SPREAD_LIMIT {
        return StressVerdict::Inconclusive {
            reason: format!(
                "the speed-up at {} workers varied {:.2}x-{:.2}x between rounds (interquartile range {:.0}% of the median, over {:.0}%)",
                point.workers, s.q1, s.q3, relative_spread * 100.0, SPREAD_LIMIT * 100.0
            ),
        };
    }
    if point.wait_fraction > WAIT_LIMIT {
        return StressVerdict::Inconclusive {
            reason: format!(
                "speed-up {:.2}x at {} workers, but the workers spent {:.0}% of their time waiting for a CPU: the machine was busy",
                s.median, point.workers, point.wait_fraction * 100.0
            ),
        };
    }
    if s.median < SLOWS_DOWN_SPEEDUP {
        StressVerdict::SlowsDown { speedup: s.median }
    } else if s.median <= SERIAL_SPEEDUP {
        let note = if point.cpu_parallelism <= 1.25 {
            "waiting workers sleep (a blocking lock)".to_string()
        } else if point.cpu_parallelism >= 0.8 * n {
            "waiting workers spin: CPU is used but no work gets done".to_string()
        } else {
            format!("{:.1} workers' worth of CPU in use", point.cpu_parallelism)
        };
        StressVerdict::Serialises {
            speedup: s.median,
            efficiency,
            note,
        }
    } else {
        StressVerdict::ScalesPartly {
            speedup: s.median,
            efficiency,
        }
    }
}

/// The worst of several verdicts (None for none).
pub fn worst<'a>(verdicts: impl IntoIterator<Item = &'a StressVerdict>) -> Option<StressVerdict> {
    verdicts.into_iter().min_by_key(|v| v.rank()).cloned()
}

/// A recipe workload's verdict: failures first, then the GIL, then the speed of
/// `speed_executor` (threads on a free-threaded build, subinterpreters on a standard one).
pub fn workload(
    result: &WorkloadResult,
    not_run: Option<&str>,
    speed_executor: ExecutorKind,
) -> StressVerdict {
    if !result.failures.is_empty() {
        let mut reasons: Vec<String> = Vec::new();
        for failure in &result.failures {
            let reason = crate::collect::describe_failure(failure);
            // Every round of a race fails alike: the first of each kind and place says it.
            let place = reason.split(':').next().unwrap_or_default().to_string();
            if !reasons
                .iter()
                .any(|r| r.split(':').next() == Some(place.as_str()))
            {
                reasons.push(reason);
            }
        }
        return StressVerdict::Unsafe { reasons };
    }
    if let Some(gil) = &result.gil {
        return StressVerdict::GilReenabled {
            module: gil.module.clone(),
        };
    }
    if let Some(reason) = not_run {
        return StressVerdict::NotStressable {
            reason: reason.to_string(),
        };
    }
    executor_verdict(&result.executors, speed_executor).unwrap_or_else(|| {
        StressVerdict::NotStressable {
            reason: format!("the {} executor did not run", speed_executor.as_str()),
        }
    })
}

fn executor_verdict(executors: &[ExecutorResult], kind: ExecutorKind) -> Option<StressVerdict> {
    executors
        .iter()
        .find(|e| e.kind == kind)
        .and_then(|e| e.verdict.clone())
}

/// Puts a distribution's synthesized results on its module, and makes the module's verdict
/// unsafe when a crash, hang, internal error or wrong result reproduced on its own (a flaky
/// one, or a "not shareable" exception, leaves the verdict as it was: findings say those).
pub fn with_synthesized(facts: &mut StressFacts, synthesized: SynthFacts) {
    let reasons: Vec<String> = synthesized
        .findings
        .iter()
        .filter(|f| !f.flaky && is_unsafe(f.kind))
        .map(|f| {
            format!(
                "{} in the synthesized {} pattern{} ({} of {} standalone runs)",
                f.kind.describe(),
                f.pattern,
                f.program
                    .as_ref()
                    .map(|p| format!(" on {p}"))
                    .unwrap_or_default(),
                f.reproduced.failures,
                f.reproduced.runs
            )
        })
        .collect();
    if !reasons.is_empty() {
        facts.verdict = match std::mem::replace(
            &mut facts.verdict,
            StressVerdict::Unsafe {
                reasons: Vec::new(),
            },
        ) {
            StressVerdict::Unsafe { reasons: mut old } => {
                old.extend(reasons);
                StressVerdict::Unsafe { reasons: old }
            }
            _ => StressVerdict::Unsafe { reasons },
        };
    } else if let Some(check) = synth_check(&synthesized) {
        // Nothing wrong: the tier's work is one more check that passed.
        match &mut facts.verdict {
            StressVerdict::Passed { checks } => checks.push(check),
            StressVerdict::NotStressable { .. } => {
                facts.verdict = StressVerdict::Passed {
                    checks: vec![check],
                }
            }
            _ => {}
        }
    }
    if reasons_empty_and_gil(&synthesized) && !matches!(facts.verdict, StressVerdict::Unsafe { .. })
    {
        facts.verdict = StressVerdict::GilReenabled {
            module: synthesized.findings.iter().find_map(|f| {
                f.message
                    .as_ref()
                    .and_then(|m| m.split(": ").nth(1))
                    .map(|m| m.trim_end_matches(" needs it").to_string())
            }),
        };
    }
    facts.synthesized = Some(synthesized);
}

/// "synthesized: N programs, M calls, K patterns passed", when the tier ran and found nothing.
fn synth_check(synth: &SynthFacts) -> Option<String> {
    let confirmed = synth.findings.iter().any(|f| !f.flaky && is_unsafe(f.kind));
    if confirmed || synth.patterns.is_empty() {
        return None;
    }
    let others = synth.findings.len();
    Some(format!(
        "synthesized: {} calls in {} programs, {} patterns passed{}",
        synth.coverage.calls,
        synth.coverage.programs,
        synth
            .patterns
            .iter()
            .filter(|p| p.outcome == "passed")
            .count(),
        if others > 0 {
            format!(", {others} finding(s) not confirmed as unsafe (see the findings)")
        } else {
            String::new()
        }
    ))
}

fn reasons_empty_and_gil(synth: &SynthFacts) -> bool {
    !synth.findings.iter().any(|f| !f.flaky && is_unsafe(f.kind))
        && synth
            .findings
            .iter()
            .any(|f| f.kind == SynthFailureKind::GilReenabled)
}

/// Crashes, hangs, internal errors and wrong results fail a module; "not shareable" does not.
pub fn is_unsafe(kind: SynthFailureKind) -> bool {
    matches!(
        kind,
        SynthFailureKind::Crash
            | SynthFailureKind::Hang
            | SynthFailureKind::InternalError
            | SynthFailureKind::WrongResult
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftaudit_model::Spread;

    fn point(
        workers: usize,
        speedups: [f64; 3],
        cpu_parallelism: f64,
        wait_fraction: f64,
    ) -> ScalingPoint {
        let s = crate::figures::spread(&speedups).unwrap();
        ScalingPoint {
            workers,
            wall_seconds: vec![1.0; 3],
            median_seconds: 1.0,
            speedup: Some(Spread { ..s }),
            efficiency: Some(s.median / workers as f64),
            cpu_parallelism,
            wait_fraction,
            late_starts: 0,
            rounds_under_gil: 0,
        }
    }

    #[test]
    fn bands_on_two_cores() {
        let v = speed(&[point(2, [1.8, 1.9, 1.85], 2.0, 0.0)], 2);
        assert!(matches!(v, StressVerdict::Scales { .. }), "{v:?}");
        let v = speed(&[point(2, [1.0, 1.02, 0.98], 1.0, 0.0)], 2);
        assert!(
            matches!(&v, StressVerdict::Serialises { note, .. } if note.contains("sleep")),
            "{v:?}"
        );
        let v = speed(&[point(2, [0.5, 0.55, 0.52], 2.0, 0.0)], 2);
        assert!(matches!(v, StressVerdict::SlowsDown { .. }), "{v:?}");
        let v = speed(&[point(2, [1.4, 1.45, 1.42], 1.5, 0.0)], 2);
        assert!(matches!(v, StressVerdict::ScalesPartly { .. }), "{v:?}");
    }

    #[test]
    fn noise_is_not_a_verdict() {
        // Serial-looking but the machine was busy: not blamed on the module.
        let v = speed(&[point(2, [1.0, 1.05, 1.02], 1.9, 0.4)], 2);
        assert!(
            matches!(&v, StressVerdict::Inconclusive { reason } if reason.contains("busy")),
            "{v:?}"
        );
        let v = speed(&[point(2, [0.6, 1.5, 1.0], 1.5, 0.0)], 2);
        assert!(
            matches!(&v, StressVerdict::Inconclusive { reason } if reason.contains("varied")),
            "{v:?}"
        );
        // One core: nothing can be said about speed.
        let v = speed(&[point(2, [1.0, 1.0, 1.0], 1.0, 0.0)], 1);
        assert!(matches!(v, StressVerdict::Inconclusive { .. }), "{v:?}");
        // The speed verdict is taken at the usable core count, not beyond it.
        let v = speed(
            &[
                point(2, [1.9, 1.9, 1.9], 2.0, 0.0),
                point(4, [1.0, 1.0, 1.0], 2.0, 0.5),
            ],
            2,
        );
        assert!(matches!(v, StressVerdict::Scales { .. }), "{v:?}");
    }
}
