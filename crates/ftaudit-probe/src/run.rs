//! The probe's driver: shards the modules over worker processes, restarts a worker after a
//! crash or hang without losing what finished, and turns the records into facts.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ftaudit_model::protocol::ProbeStage;
use ftaudit_model::{DynamicFacts, DynamicRun, EmbeddedInterpreter};

use crate::batch::{run_batch, BatchSpec};
use crate::contain::{SandboxSpec, SandboxTally};
use crate::facts::{self, Evidence, ModuleState};
use crate::workers::describe;
use crate::{contain, shard, ProbeConfig, ProbeError, ProbePlan, ProbeProgress};

fn spec<'a>(
    config: &'a ProbeConfig,
    site_dirs: &'a [PathBuf],
    sandbox: &'a SandboxSpec,
) -> BatchSpec<'a> {
    BatchSpec {
        worker: &config.worker,
        site_dirs,
        subinterpreters: config.subinterpreters,
        timeout: config.timeout,
        memory_limit_mb: config.memory_limit_mb,
        sandbox,
        cancel: &config.cancel,
    }
}

/// The config's box, with the environment's folders readable.
fn boxed_for(config: &ProbeConfig, site_dirs: &[PathBuf]) -> SandboxSpec {
    let mut sandbox = config.sandbox.clone();
    let worker_files = config.worker.read_roots();
    for root in worker_files
        .into_iter()
        .chain(crate::environment_read_roots(site_dirs))
    {
        if !sandbox.read_roots.contains(&root) {
            sandbox.read_roots.push(root);
        }
    }
    sandbox
}

/// Start a worker with no modules and return what it embeds (used to check the target venv matches).
pub fn embedded_interpreter(config: &ProbeConfig) -> Result<EmbeddedInterpreter, ProbeError> {
    let sandbox = boxed_for(config, &[]);
    let batch = run_batch(&spec(config, &[], &sandbox), &[], &mut |_| {})?;
    Ok(batch.interpreter)
}

pub fn run(
    config: &ProbeConfig,
    plan: &ProbePlan,
    progress: &(dyn Fn(ProbeProgress) + Sync),
) -> Result<(DynamicRun, Vec<DynamicFacts>), ProbeError> {
    let started = Instant::now();
    let mut seen = HashSet::new();
    let modules: Vec<String> = plan
        .modules
        .iter()
        .filter(|m| seen.insert(m.as_str()))
        .cloned()
        .collect();
    let total = modules.len();
    progress(ProbeProgress::Started { total });

    let sandbox = boxed_for(config, &plan.site_dirs);
    let spec = spec(config, &plan.site_dirs, &sandbox);
    let shards = shard::shards(&modules, config.jobs);
    let done = AtomicUsize::new(0);
    let report_done = |module: &str| {
        let done = done.fetch_add(1, Ordering::SeqCst) + 1;
        progress(ProbeProgress::ModuleDone {
            module,
            done,
            total,
        });
    };

    let results: Vec<Result<ShardResult, ProbeError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .iter()
            .map(|shard| scope.spawn(|| run_shard(&spec, shard, &report_done)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a probe thread panicked"))
            .collect()
    });

    let mut interpreter = None;
    let mut worker_processes = 0;
    let mut tally = SandboxTally::default();
    let mut states: Vec<(String, ModuleState)> = Vec::new();
    for result in results {
        let shard = result?;
        worker_processes += shard.processes;
        tally.merge(&shard.sandbox);
        interpreter = interpreter.or(shard.interpreter);
        states.extend(shard.states);
    }
    let interpreter = match interpreter {
        Some(i) => i,
        None if config.cancel.requested().is_some() => return Err(ProbeError::Cancelled),
        None => {
            // Nothing to import: still say which interpreter would have been used.
            worker_processes += 1;
            describe(&config.worker, config.timeout)?
        }
    };

    let evidence = Evidence::new(
        states.iter().filter_map(|(_, s)| s.record.as_ref()),
        interpreter.py_gil_disabled,
    );
    let mut by_name: HashMap<String, ModuleState> = states.into_iter().collect();
    let facts = modules
        .iter()
        .map(|m| {
            let state = by_name.remove(m).unwrap_or_else(|| ModuleState {
                interrupted: config.cancel.requested().is_some(),
                ..ModuleState::default()
            });
            facts::build(
                m,
                state,
                &evidence,
                config.subinterpreters,
                config.memory_limit_mb,
            )
        })
        .collect();

    let run = DynamicRun {
        interpreter,
        workers: shards.len().max(1),
        timeout_seconds: config.timeout.as_secs_f64(),
        memory_limit_mb: config.memory_limit_mb,
        subinterpreters: config.subinterpreters,
        environment_removed: contain::python_variables()
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect(),
        network: tally.network(),
        sandbox: tally.report(),
        worker_processes,
        elapsed_seconds: started.elapsed().as_secs_f64(),
        worker: Some(config.worker.info.clone()),
    };
    Ok((run, facts))
}

struct ShardResult {
    interpreter: Option<EmbeddedInterpreter>,
    processes: usize,
    sandbox: SandboxTally,
    states: Vec<(String, ModuleState)>,
}

/// Probes one share of the modules. After a crash or hang, a new worker takes every module that
/// is not finished yet: the ones after the culprit, and, when the worker died during its import
/// phase, the earlier ones whose subinterpreter checks had not run (their main imports are
/// repeated to rebuild the process state, but the first worker's records stand).
fn run_shard(
    spec: &BatchSpec<'_>,
    modules: &[String],
    report_done: &(dyn Fn(&str) + Sync),
) -> Result<ShardResult, ProbeError> {
    let mut states: Vec<ModuleState> = modules.iter().map(|_| ModuleState::default()).collect();
    let mut interpreter = None;
    let mut processes = 0;
    let mut sandbox = SandboxTally::default();
    let mut pending: Vec<usize> = (0..modules.len()).collect();
    // A module whose main import is repeated by a restarted worker still counts once.
    let mut reported = HashSet::new();
    let mut report_once = |module: &str| {
        if reported.insert(module.to_string()) {
            report_done(module);
        }
    };
    while !pending.is_empty() && spec.cancel.requested().is_none() {
        processes += 1;
        let rest: Vec<String> = pending.iter().map(|&i| modules[i].clone()).collect();
        let batch = match run_batch(spec, &rest, &mut |m| report_once(m)) {
            Ok(batch) => batch,
            Err(ProbeError::Cancelled) => break,
            Err(e) => return Err(e),
        };
        interpreter.get_or_insert(batch.interpreter);
        sandbox.add(batch.sandbox);
        let position: HashMap<&str, usize> =
            pending.iter().map(|&i| (modules[i].as_str(), i)).collect();

        let imported_before: Vec<bool> = states.iter().map(|s| s.record.is_some()).collect();
        for (i, record) in batch.records.iter().enumerate() {
            let Some(&index) = position.get(record.module.as_str()) else {
                continue;
            };
            if imported_before[index] {
                continue;
            }
            let state = &mut states[index];
            if record.already_loaded {
                state.loaded_by = facts::loaded_by(&batch.records, i);
            }
            state.record = Some(record.clone());
        }
        for (module, stage, outcome) in batch.subinterpreters {
            let Some(&index) = position.get(module.as_str()) else {
                continue;
            };
            let state = &mut states[index];
            match stage {
                ProbeStage::IsolatedSubinterpreter => state.isolated = Some(outcome),
                ProbeStage::LegacySubinterpreter => state.legacy = Some(outcome),
                ProbeStage::Import => {}
            }
        }
        for (batch_index, stage, text) in batch.raw_output {
            let index = pending[batch_index];
            if stage == ProbeStage::Import && imported_before[index] {
                continue;
            }
            states[index].raw_output.push((stage, text));
        }
        if batch.cancelled {
            break;
        }
        let Some(failure) = batch.failure else { break };
        let index = pending[failure.index];
        states[index].failure = Some((failure.stage, failure.outcome));
        report_once(&modules[index]);
        // Every iteration settles at least the culprit, so this ends.
        pending.retain(|&i| {
            states[i].failure.is_none() && !finished(&states[i], spec.subinterpreters)
        });
    }
    if spec.cancel.requested().is_some() {
        for state in &mut states {
            if state.failure.is_none() && !finished(state, spec.subinterpreters) {
                state.interrupted = true;
            }
        }
    }
    Ok(ShardResult {
        interpreter,
        processes,
        sandbox,
        states: modules.iter().cloned().zip(states).collect(),
    })
}

/// Nothing is left to probe for this module.
fn finished(state: &ModuleState, subinterpreters: bool) -> bool {
    match &state.record {
        None => false,
        Some(record) if !subinterpreters || !record.outcome.is_ok() => true,
        Some(_) => state.isolated.is_some() && state.legacy.is_some(),
    }
}
