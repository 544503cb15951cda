//! The stress stage: takes the modules the probe found importing GIL-free, hammers them from
//! many threads (and subinterpreters, and processes) in contained drivers run by the
//! environment's own free-threaded python, and returns what it measured as [`StressFacts`].
//!
//! The driver (python/driver.py) only measures; figures ([`figures`]) and verdicts
//! ([`classify`]) are made here. Containment is the probe's ([`ftaudit_probe::contain`]).

pub mod classify;
mod collect;
mod driver;
pub mod figures;
mod minimise;
mod protocol;
pub mod recipes;
mod reproduce;
mod synth;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ftaudit_model::{CoreInfo, ExecutorKind, RecipeSource, StressFacts, StressRun, WorkloadTier};
use ftaudit_probe::contain::{python_variables, Limits, SandboxSpec, SandboxTally};
use ftaudit_probe::Cancel;

pub use collect::{describe_failure, faulting_module};
use collect::{stress_module, Planned};
use driver::{run_driver, DriverSetup};
use protocol::{DriverEvent, DriverRequest, Workload};

#[derive(Debug, thiserror::Error)]
pub enum StressError {
    #[error("cannot start the stress driver: {0}")]
    Spawn(String),
    #[error("the stress driver failed before stressing anything: {0}")]
    Startup(String),
    #[error("stress I/O error: {0}")]
    Io(String),
}

#[derive(Debug, Clone)]
pub struct StressConfig {
    /// The environment's own free-threaded python.
    pub python: PathBuf,
    /// site-packages folders, in `sys.path` order.
    pub site_dirs: Vec<PathBuf>,
    pub seed: u64,
    /// None: 1, 2, 4 and the usable core count.
    pub worker_counts: Option<Vec<usize>>,
    pub repeats: usize,
    pub target_seconds: f64,
    pub stage_timeout: Duration,
    pub memory_limit_mb: Option<u64>,
    pub executors: Vec<ExecutorKind>,
    pub shipped_recipes: bool,
    pub recipe_dirs: Vec<PathBuf>,
    /// Run the generic tier (concurrent first import, introspection, rejected calls).
    pub generic: bool,
    pub introspect_rounds: usize,
    /// Also stress the standard-library modules the shipped recipes cover.
    pub stdlib: bool,
    /// `--only`: when not empty, the standard-library modules stressed are those named here.
    pub only: Vec<String>,
    /// How to replay: the command up to the module (`ftaudit stress .venv --seed 7`).
    pub replay_prefix: String,
    /// Box the drivers (`--sandbox off` turns it off; the report says so).
    pub sandbox: bool,
    /// The synthesized tier (None: `--no-synthesized`).
    pub synthesized: Option<SynthConfig>,
    pub cancel: Cancel,
}

#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Per distribution: discovery and the in-process patterns (the reproducers' runs come on top).
    pub budget: Duration,
    /// Run it even where the sandbox could not be set up.
    pub allow_unboxed: bool,
    /// Standalone runs of each reproducer.
    pub runs: usize,
}

/// A module the probe found importing without the GIL.
#[derive(Debug, Clone)]
pub struct StressTarget {
    pub module: String,
    /// The distribution it belongs to (None: no RECORD claims it).
    pub distribution: Option<String>,
    /// Err: why isolated subinterpreters cannot load it (from the probe).
    pub subinterpreters: Result<(), String>,
}

pub struct StressOutcome {
    pub run: StressRun,
    pub modules: Vec<StressFacts>,
    /// Recipe files that could not be read (they are also in `run.recipes` when readable but invalid).
    pub problems: Vec<String>,
}

/// Stresses every target, one module at a time (timing needs the cores to itself).
pub fn run(
    config: &StressConfig,
    targets: &[StressTarget],
    progress: &dyn Fn(&str),
) -> Result<StressOutcome, StressError> {
    let started = Instant::now();
    let (candidates, problems) = recipes::gather(config.shipped_recipes, &config.recipe_dirs);
    let files: Vec<_> = candidates.iter().map(|c| c.file.clone()).collect();
    let limits = Limits {
        memory_limit_mb: config.memory_limit_mb,
    };
    let mut setup = DriverSetup {
        python: &config.python,
        site_dirs: &config.site_dirs,
        recipes: &files,
        limits,
        sandbox: sandbox_for(config),
        stage_timeout: config.stage_timeout,
        cancel: &config.cancel,
        speed_executor: ExecutorKind::Threads,
    };

    // A first driver reads the recipes' metadata (nothing in them runs) and the machine's facts.
    let mut base = DriverRequest {
        paths_dir: "paths".into(),
        list_recipes: Some(
            files
                .iter()
                .map(|f| format!("recipes/{}.py", f.module))
                .collect(),
        ),
        module: String::new(),
        workloads: Vec::new(),
        seed: config.seed,
        stage_timeout: config.stage_timeout.as_secs_f64(),
        target_seconds: config.target_seconds,
        worker_counts: Vec::new(),
        repeats: config.repeats,
        executors: config.executors.clone(),
        subinterpreters_ok: true,
        subinterpreters_reason: None,
    };
    let listing = run_driver(&setup, &base)?;
    let Some((interpreter, cores)) = listing.events.iter().find_map(|e| match e {
        DriverEvent::Ready { interpreter, cores } => Some((interpreter.clone(), cores.clone())),
        _ => None,
    }) else {
        return Err(StressError::Startup(format!(
            "{} gave no Ready event ({:?}): {}{}",
            config.python.display(),
            listing.ending,
            listing.stage_output(0),
            listing.garbage.join("\n")
        )));
    };
    // A standard build's threads share the GIL: there the question is whether isolated
    // subinterpreters (each with its own GIL) run the module in parallel.
    let standard_build = !interpreter.py_gil_disabled;
    if standard_build {
        setup.speed_executor = ExecutorKind::Subinterpreters;
    }
    let mut sources = Vec::new();
    let mut usable = Vec::new();
    for (candidate, meta) in candidates
        .iter()
        .zip(listing.events.iter().filter_map(|e| match e {
            DriverEvent::Recipe {
                modules,
                unit,
                stdlib,
                error,
                ..
            } => Some((modules, unit, *stdlib, error)),
            _ => None,
        }))
    {
        let (modules, unit, stdlib, error) = meta;
        sources.push(RecipeSource {
            name: candidate.name.clone(),
            origin: candidate.origin.clone(),
            modules: modules.clone(),
            unit: unit.clone(),
            problem: error.as_ref().map(|e| format!("{}: {e}", candidate.origin)),
        });
        if error.is_none() {
            usable.push((candidate, modules.clone(), unit.clone(), stdlib));
        }
    }

    let mut counts = config
        .worker_counts
        .clone()
        .unwrap_or_else(|| vec![1, 2, 4, cores.usable]);
    counts.push(1);
    counts.sort_unstable();
    counts.dedup();
    counts.retain(|&n| n > 0);
    base.list_recipes = None;
    base.worker_counts = counts.clone();
    let threads = cores.usable.max(4);
    let tier = |c: &recipes::RecipeCandidate| {
        if c.origin == "shipped" {
            WorkloadTier::Shipped
        } else {
            WorkloadTier::Recipe
        }
    };
    let recipe_workload = |c: &recipes::RecipeCandidate, unit: &str| Planned {
        workload: Workload::Recipe {
            name: c.name.clone(),
            recipe: c.file.module.clone(),
        },
        tier: tier(c),
        unit: unit.to_string(),
    };

    let mut drivers = 1;
    let mut sandbox = SandboxTally::default();
    sandbox.add(listing.sandbox);
    let mut modules = Vec::new();
    let mut jobs: Vec<(StressTarget, Vec<Planned>, bool)> = Vec::new();
    for target in targets {
        let mut planned = Vec::new();
        if config.generic {
            planned.push(Planned {
                workload: Workload::FirstImport { threads },
                tier: WorkloadTier::Generic,
                unit: format!("import from {threads} threads released together"),
            });
            planned.push(Planned {
                workload: Workload::Introspect {
                    threads,
                    rounds: config.introspect_rounds,
                },
                tier: WorkloadTier::Generic,
                unit: format!(
                    "introspection and rejected calls, {} rounds on {threads} threads",
                    config.introspect_rounds
                ),
            });
        }
        for (c, mods, unit, _) in &usable {
            if mods.contains(&target.module) {
                planned.push(recipe_workload(c, unit));
            }
        }
        jobs.push((target.clone(), planned, false));
    }
    let wanted = |module: &str| config.only.is_empty() || config.only.iter().any(|m| m == module);
    if config.stdlib {
        for (c, mods, unit, stdlib) in &usable {
            if *stdlib && wanted(&mods[0]) {
                let target = StressTarget {
                    module: mods[0].clone(),
                    distribution: None,
                    subinterpreters: Ok(()),
                };
                jobs.push((target, vec![recipe_workload(c, unit)], true));
            }
        }
    }
    let mut stdlib_facts = Vec::new();
    let mut synth_jobs = synth_jobs(targets);
    if config.stdlib {
        synth_jobs.extend(STDLIB_SYNTH.iter().filter(|name| wanted(name)).map(|name| {
            synth::SynthJob {
                distribution: format!("stdlib:{name}"),
                packages: vec![name.to_string()],
                modules: Vec::new(),
                anchor: name.to_string(),
            }
        }));
    }
    for (target, planned, is_stdlib) in jobs {
        if config.cancel.requested().is_some() {
            break;
        }
        progress(&target.module);
        let mut request = base.clone();
        request.module = target.module.clone();
        request.subinterpreters_ok = target.subinterpreters.is_ok();
        request.subinterpreters_reason = target.subinterpreters.clone().err();
        let replay = format!("{} --only {}", config.replay_prefix, target.module);
        let outcome = stress_module(&setup, &request, &planned, cores.usable, replay);
        drivers += outcome.drivers;
        sandbox.merge(&outcome.sandbox);
        if is_stdlib {
            stdlib_facts.push(outcome.facts);
        } else {
            modules.push(outcome.facts);
        }
    }
    if let Some(synth_config) = &config.synthesized {
        let boxed = sandbox.report();
        let not_applicable = standard_build.then(|| {
            "a standard (GIL) build: this tier looks for races that only free-threaded code can \
             have; here the GIL makes the package's threads take turns"
                .to_string()
        });
        let refused = (boxed.status != ftaudit_model::SandboxStatus::Enforced
            && !synth_config.allow_unboxed)
            .then(|| {
                format!(
                    "the sandbox is {} here (missing: {}), and this tier calls arbitrary package code: \
                     pass --allow-unboxed-synthesis to run it anyway",
                    match boxed.status {
                        ftaudit_model::SandboxStatus::Off => "off",
                        _ => "partial",
                    },
                    boxed.missing().join(", ")
                )
            });
        let settings = synth::SynthSettings {
            threads,
            seed: config.seed,
            budget: synth_config.budget,
            runs: synth_config.runs,
        };
        for job in synth_jobs {
            if config.cancel.requested().is_some() {
                break;
            }
            let facts = match (&not_applicable, &refused) {
                (Some(reason), _) => ftaudit_model::SynthFacts {
                    distribution: job.distribution.clone(),
                    packages: job.packages.clone(),
                    not_run: Some(reason.clone()),
                    ..Default::default()
                },
                (None, Some(reason)) => ftaudit_model::SynthFacts {
                    distribution: job.distribution.clone(),
                    packages: job.packages.clone(),
                    not_run: Some(reason.clone()),
                    refused_unboxed: true,
                    ..Default::default()
                },
                (None, None) => {
                    progress(&format!("{} (synthesized)", job.distribution));
                    let outcome = synth::run(&setup, &base, &job, settings);
                    drivers += 1;
                    sandbox.merge(&outcome.sandbox);
                    outcome.facts
                }
            };
            if let Some(anchor) = modules.iter_mut().find(|m| m.module == job.anchor) {
                classify::with_synthesized(anchor, facts);
            } else if job.distribution.starts_with("stdlib:") {
                // Not a file of the target: reported beside the stdlib recipes' results.
                let mut stdlib = StressFacts {
                    module: job.anchor.clone(),
                    workloads: Vec::new(),
                    verdict: ftaudit_model::StressVerdict::NotStressable {
                        reason: "no workload was planned".into(),
                    },
                    replay: format!("{} --stdlib --only {}", config.replay_prefix, job.anchor),
                    synthesized: None,
                };
                classify::with_synthesized(&mut stdlib, facts);
                stdlib_facts.push(stdlib);
            }
        }
    }
    let run = StressRun {
        interpreter,
        executable: config.python.clone(),
        seed: config.seed,
        cores: CoreInfo {
            usable: cores.usable,
            online: cores.online,
            loadavg_start: cores.loadavg,
            loadavg_end: loadavg(),
        },
        worker_counts: counts,
        repeats: config.repeats,
        target_seconds: config.target_seconds,
        timeout_seconds: config.stage_timeout.as_secs_f64(),
        memory_limit_mb: config.memory_limit_mb,
        network: sandbox.network(),
        sandbox: sandbox.report(),
        speed_executor: setup.speed_executor,
        environment_removed: python_variables()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect(),
        child_processes: drivers,
        recipes: sources,
        stdlib: stdlib_facts,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    };
    Ok(StressOutcome {
        run,
        modules,
        problems,
    })
}

/// Standard-library packages whose API the synthesized tier exercises with `--stdlib` (their
/// heavy lifting is C: `_json`, `_sre`, `zlib`, `_hashlib`, `_struct`, `_bisect`, `_heapq`...).
const STDLIB_SYNTH: &[&str] = &[
    "json",
    "re",
    "zlib",
    "hashlib",
    "binascii",
    "struct",
    "array",
    "bisect",
    "heapq",
    "collections",
    "itertools",
    "functools",
    "operator",
    "math",
    "cmath",
    "statistics",
    "decimal",
    "datetime",
    "unicodedata",
    "base64",
    "bz2",
    "lzma",
    "csv",
    "textwrap",
    "string",
    "difflib",
    "fractions",
    "html",
    "ipaddress",
];

/// CPU seconds a driver, or any process it starts, may use: a backstop for a process that
/// outlives the stage deadlines (ftaudit itself killed), far above what any stage needs.
const DRIVER_CPU_SECONDS: u64 = 3600;

/// The drivers' box: the environment and the interpreter readable, processes allowed where the
/// process executor is measured.
fn sandbox_for(config: &StressConfig) -> SandboxSpec {
    let mut read_roots = ftaudit_probe::environment_read_roots(&config.site_dirs);
    // The python itself: a venv's python links to the interpreter's prefix (bin/..).
    for python in [
        Some(config.python.clone()),
        config.python.canonicalize().ok(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(prefix) = python.parent().and_then(Path::parent) {
            if !read_roots.iter().any(|r| r == prefix) {
                read_roots.push(prefix.to_path_buf());
            }
        }
    }
    SandboxSpec {
        enabled: config.sandbox,
        filesystem: true,
        read_roots,
        processes: config.executors.contains(&ExecutorKind::Processes),
        cpu_seconds: Some(DRIVER_CPU_SECONDS),
    }
}

/// One synthesized job per distribution (a module no RECORD claims counts as its own top-level
/// package's): its import packages and GIL-free modules; results go on its first module.
fn synth_jobs(targets: &[StressTarget]) -> Vec<synth::SynthJob> {
    let mut jobs: Vec<synth::SynthJob> = Vec::new();
    for target in targets {
        let top = target
            .module
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string();
        let name = target.distribution.clone().unwrap_or_else(|| top.clone());
        match jobs.iter_mut().find(|j| j.distribution == name) {
            Some(job) => {
                if !job.packages.contains(&top) {
                    job.packages.push(top);
                }
                job.modules.push(target.module.clone());
                // The results show on the distribution's most prominent module: the shortest name.
                if target.module.len() < job.anchor.len() {
                    job.anchor = target.module.clone();
                }
            }
            None => jobs.push(synth::SynthJob {
                distribution: name,
                packages: vec![top],
                modules: vec![target.module.clone()],
                anchor: target.module.clone(),
            }),
        }
    }
    jobs
}

fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut values = text.split_whitespace().filter_map(|v| v.parse().ok());
    [
        values.next().unwrap_or(0.0),
        values.next().unwrap_or(0.0),
        values.next().unwrap_or(0.0),
    ]
}
