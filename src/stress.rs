//! The stress stage in a scan: picks the modules the probe found importing GIL-free, finds the
//! environment's python, runs [`ftaudit_stress::run`] and attaches its results to the files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ftaudit_model::{DynamicRun, ExecutorKind, ImportOutcome, NativeFile, StressRun, Target};
use ftaudit_probe::Cancel;

/// A module the probe found importing GIL-free.
#[derive(Debug, Clone)]
pub struct Eligible {
    pub module: String,
    pub distribution: Option<String>,
    /// Err: why isolated subinterpreters cannot load it.
    pub subinterpreters: Result<(), String>,
}

#[derive(Debug, Clone)]
pub struct StressOptions {
    pub seed: u64,
    pub worker_counts: Option<Vec<usize>>,
    pub repeats: usize,
    pub target_seconds: f64,
    pub timeout: Duration,
    pub memory_limit_mb: Option<u64>,
    pub executors: Vec<ExecutorKind>,
    pub shipped_recipes: bool,
    pub recipe_dirs: Vec<PathBuf>,
    pub generic: bool,
    pub stdlib: bool,
    /// Only these modules (dotted names); empty: every eligible one.
    pub only: Vec<String>,
    /// The python to run the drivers with; None: the environment's own.
    pub python: Option<PathBuf>,
    /// Box the drivers (`--sandbox off`: no; the report says so).
    pub sandbox: bool,
    /// The synthesized tier's time budget per distribution; None: `--no-synthesized`.
    pub synth_budget: Option<Duration>,
    /// Run the synthesized tier even where the sandbox could not be set up.
    pub allow_unboxed_synthesis: bool,
}

impl Default for StressOptions {
    fn default() -> Self {
        Self {
            seed: 1,
            worker_counts: None,
            repeats: 5,
            target_seconds: 0.5,
            timeout: Duration::from_secs(20),
            memory_limit_mb: Some(8192),
            executors: vec![
                ExecutorKind::Threads,
                ExecutorKind::Subinterpreters,
                ExecutorKind::Processes,
            ],
            shipped_recipes: true,
            recipe_dirs: Vec::new(),
            generic: true,
            stdlib: false,
            only: Vec::new(),
            python: None,
            sandbox: true,
            synth_budget: Some(Duration::from_secs(20)),
            allow_unboxed_synthesis: false,
        }
    }
}

/// Standalone runs of each synthesized-tier reproducer (and of the first-use script).
#[cfg(target_os = "linux")]
const SYNTH_REPRODUCER_RUNS: usize = 5;

/// Distributions the synthesized tier visits: one per distribution of the eligible modules (a
/// module no RECORD claims counts as its own top-level package).
pub fn synth_distributions(eligible: &[Eligible]) -> usize {
    let mut names: Vec<String> = eligible
        .iter()
        .map(|e| {
            e.distribution
                .clone()
                .unwrap_or_else(|| e.module.split('.').next().unwrap_or_default().to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names.len()
}

/// The modules that can be stressed: on a free-threaded build, those whose import the probe saw
/// leave the GIL off; on a standard build (`standard_build`, where the GIL is always on), those
/// that imported in an isolated subinterpreter, since the question there is whether
/// subinterpreters run them in parallel.
pub fn eligible(
    files: &[NativeFile],
    only: &[String],
    standard_build: bool,
) -> (Vec<Eligible>, Vec<String>) {
    let mut targets: Vec<Eligible> = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        let (Some(name), Some(dynamic)) = (&file.module_name, &file.dynamic) else {
            continue;
        };
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        if targets.iter().any(|t| &t.module == name) {
            continue;
        }
        // CPython's judgement of this module, not the GIL's state after it: an earlier module
        // in the same probe worker may have turned the GIL on already.
        let gil_free = match dynamic.requires_gil {
            Some(requires) => !requires,
            None => dynamic.gil_enabled_after == Some(false),
        };
        let isolated_ok = dynamic
            .isolated_subinterpreter
            .as_ref()
            .is_some_and(ImportOutcome::is_ok);
        let stressable = if standard_build {
            isolated_ok
        } else {
            gil_free
        };
        if !dynamic.import.is_ok() || !stressable {
            skipped.push(name.clone());
            continue;
        }
        let subinterpreters = match &dynamic.isolated_subinterpreter {
            Some(ImportOutcome::Ok) => Ok(()),
            Some(ImportOutcome::Error { exception, message }) => Err(format!(
                "the probe's isolated-subinterpreter import raised {exception}: {message}"
            )),
            Some(other) => Err(format!(
                "the probe's isolated-subinterpreter import did not succeed ({other:?})"
            )),
            None => Err("the probe did not try an isolated subinterpreter".into()),
        };
        targets.push(Eligible {
            module: name.clone(),
            distribution: file.distribution.clone(),
            subinterpreters,
        });
    }
    (targets, skipped)
}

/// The environment's own python: `bin/python` of a venv, else the probed interpreter's.
pub fn environment_python(target: &Target, dynamic: &DynamicRun) -> Option<PathBuf> {
    let venv = target.path.join("bin/python");
    if venv.exists() {
        return Some(venv);
    }
    let interpreter = &dynamic.interpreter;
    let minor = interpreter
        .version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let base = Path::new(&interpreter.base_prefix).join("bin");
    [
        format!("python{minor}{}", interpreter.abiflags),
        format!("python{minor}"),
        "python3".into(),
    ]
    .into_iter()
    .map(|name| base.join(name))
    .find(|p| p.exists())
}

/// Elsewhere than on Linux the stage says why it cannot run.
#[cfg(not(target_os = "linux"))]
pub fn run(
    _: &Target,
    _: &DynamicRun,
    _: &mut [NativeFile],
    _: &StressOptions,
    _: &Cancel,
    _: &dyn Fn(&str),
) -> Result<StressRun, String> {
    Err(
        "the stress stage runs on Linux only (its drivers are contained like the probe's workers)"
            .into(),
    )
}

/// Runs the stage; the error is why it could not run at all.
#[cfg(target_os = "linux")]
pub fn run(
    target: &Target,
    dynamic: &DynamicRun,
    files: &mut [NativeFile],
    options: &StressOptions,
    cancel: &Cancel,
    progress: &dyn Fn(&str),
) -> Result<StressRun, String> {
    use ftaudit_stress::{StressConfig, StressTarget};
    let standard_build = !dynamic.interpreter.py_gil_disabled;
    let (eligible, _skipped) = eligible(files, &options.only, standard_build);
    let targets: Vec<StressTarget> = eligible
        .into_iter()
        .map(|e| StressTarget {
            module: e.module,
            distribution: e.distribution,
            subinterpreters: e.subinterpreters,
        })
        .collect();
    let python = match &options.python {
        Some(p) => p.clone(),
        None => environment_python(target, dynamic).ok_or_else(|| {
            format!(
                "no python found for {} (neither bin/python nor the probed interpreter's)",
                target.path.display()
            )
        })?,
    };
    let config = StressConfig {
        python,
        site_dirs: target.site_packages.clone(),
        seed: options.seed,
        worker_counts: options.worker_counts.clone(),
        repeats: options.repeats,
        target_seconds: options.target_seconds,
        stage_timeout: options.timeout,
        memory_limit_mb: options.memory_limit_mb,
        executors: options.executors.clone(),
        shipped_recipes: options.shipped_recipes,
        recipe_dirs: options.recipe_dirs.clone(),
        generic: options.generic,
        introspect_rounds: 20,
        stdlib: options.stdlib,
        only: options.only.clone(),
        replay_prefix: format!(
            "ftaudit stress {} --seed {}",
            target.path.display(),
            options.seed
        ),
        sandbox: options.sandbox,
        synthesized: options
            .synth_budget
            .map(|budget| ftaudit_stress::SynthConfig {
                budget,
                allow_unboxed: options.allow_unboxed_synthesis,
                runs: SYNTH_REPRODUCER_RUNS,
            }),
        cancel: cancel.clone(),
    };
    let outcome = ftaudit_stress::run(&config, &targets, progress).map_err(|e| e.to_string())?;
    let mut by_module: std::collections::BTreeMap<String, _> = outcome
        .modules
        .into_iter()
        .map(|f| (f.module.clone(), f))
        .collect();
    for file in files.iter_mut() {
        if let Some(name) = &file.module_name {
            file.stress = by_module.remove(name);
        }
    }
    let mut run = outcome.run;
    for problem in outcome.problems {
        run.recipes.push(ftaudit_model::RecipeSource {
            name: problem.split(':').next().unwrap_or_default().to_string(),
            origin: "user".into(),
            modules: Vec::new(),
            unit: String::new(),
            problem: Some(problem),
        });
    }
    Ok(run)
}
