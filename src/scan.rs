//! One scan: discover -> static analysis -> dynamic probe -> assessment -> [`Report`]. Each
//! stage takes plain data and returns plain data; this module only sequences them.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ftaudit_discover::{discover, DiscoverError, DiscoveredFile, Discovery, Location};
use ftaudit_model::{
    DynamicFacts, DynamicRun, EmbeddedInterpreter, FileKind, FileProblem, FileProblemKind,
    NativeFile, Provenance, Report, Stages, Target, TargetInterpreter, TargetKind, ToolInfo,
    SCHEMA_VERSION,
};
use ftaudit_probe::{
    Cancel, HostInterpreter, ProbeConfig, ProbePlan, ProbeProgress, WantedInterpreter, Worker,
    WorkerModeChoice,
};
use rayon::prelude::*;

use crate::assess;
use crate::policy::{self, Baseline, Policy};
use crate::publish::Shard;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub path: PathBuf,
    /// Skip the import probe even where it could run.
    pub static_only: bool,
    pub probe: ProbeOptions,
    /// Set by the CLI's SIGINT/SIGTERM handlers: the scan stops early and reports what finished.
    pub cancel: Cancel,
    /// Levels, allowlist and incompleteness rule applied to the findings (default: none).
    pub policy: Policy,
    /// Findings of an earlier report that do not count again.
    pub baseline: Option<Baseline>,
    /// Scan only this shard's distributions (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Run the stress stage after the probe (`--stress`, `ftaudit stress`).
    pub stress: Option<crate::stress::StressOptions>,
    /// Take unchanged distributions' probe and stress results from an earlier report.
    pub reuse: Option<crate::publish::ReuseFrom>,
}

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The worker library; None = the one for the interpreter's ABI next to this executable.
    pub worker: Option<PathBuf>,
    /// Embedded, hosted, or whichever the interpreter's libpython allows.
    pub worker_mode: WorkerModeChoice,
    /// The interpreter to probe in; None = the one the environment's pyvenv.cfg names.
    pub interpreter: Option<PathBuf>,
    pub jobs: usize,
    pub timeout: Duration,
    pub memory_limit_mb: Option<u64>,
    pub subinterpreters: bool,
    /// Box the workers (`--sandbox off`: no; the report says so).
    pub sandbox: bool,
}

/// Progress callbacks; the CLI draws them, tests ignore them.
pub trait Progress: Sync {
    fn stage(&self, name: &str, total: usize);
    fn advance(&self, item: &str);
    fn finish_stage(&self);
}

/// Draws nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: usize) {}
    fn advance(&self, _: &str) {}
    fn finish_stage(&self) {}
}

pub fn scan(options: &ScanOptions, progress: &dyn Progress) -> Result<Report, DiscoverError> {
    let started = std::time::Instant::now();
    let mut discovery = discover(&options.path)?;
    if let Some(shard) = options.shard {
        shard.apply(&mut discovery);
    }
    let files = analyze_statically(&discovery, &options.cancel, progress);
    let probe_expected = matches!(
        discovery.target.kind,
        TargetKind::Venv | TargetKind::SitePackages
    );
    // Files whose results an earlier report already holds stay out of the probe and stress.
    let (mut files, reused_files, reused) = match &options.reuse {
        Some(from) => {
            let split = crate::publish::split_for_reuse(
                from,
                &discovery.target,
                &discovery.distributions,
                files,
                probe_expected && !options.static_only,
                options.stress.is_some(),
            );
            (split.fresh, split.reused, Some((split.record, from)))
        }
        None => (files, Vec::new(), None),
    };
    // Nothing left to import: the earlier runs stand for this one.
    let nothing_fresh = reused.is_some()
        && !reused_files.is_empty()
        && !files.iter().any(|f| f.module_name.is_some());

    let mut stages = Stages {
        static_analysis: true,
        dynamic: None,
        dynamic_skipped: None,
        interrupted: None,
        stress: None,
        stress_skipped: None,
        lock: None,
        reused: None,
    };
    if options.static_only {
        // Asked for: not a gap in the report.
    } else if !probe_expected {
        stages.dynamic_skipped =
            Some("the import probe needs an installed environment (a venv); wheels and loose files are read statically".into());
    } else if options.cancel.requested().is_some() {
        stages.dynamic_skipped = Some("the scan was interrupted before the import probe".into());
    } else if let (true, Some((_, from))) = (nothing_fresh, &reused) {
        stages.dynamic = from.report.stages.dynamic.clone();
    } else {
        match probe(
            &discovery.target,
            &files,
            &options.probe,
            &options.cancel,
            progress,
        ) {
            Ok((run, facts)) => {
                attach_dynamic(&mut files, facts);
                stages.dynamic = Some(run);
            }
            Err(reason) => stages.dynamic_skipped = Some(reason),
        }
    }
    if let (Some(_), true, Some((_, from))) = (&options.stress, nothing_fresh, &reused) {
        stages.stress = from.report.stages.stress.clone();
    } else if let Some(stress_options) = &options.stress {
        stages.stress_skipped = match &stages.dynamic {
            None => Some(format!(
                "the stress stage needs the import probe's results, and the probe did not run ({})",
                stages.dynamic_skipped.as_deref().unwrap_or("--static-only")
            )),
            Some(_) if options.cancel.requested().is_some() => {
                Some("the scan was interrupted before the stress stage".into())
            }
            Some(run) => {
                let (eligible, _) = crate::stress::eligible(
                    &files,
                    &stress_options.only,
                    !run.interpreter.py_gil_disabled,
                );
                progress.stage(
                    "stress",
                    eligible.len()
                        + usize::from(stress_options.stdlib)
                        + if stress_options.synth_budget.is_some() {
                            crate::stress::synth_distributions(&eligible)
                        } else {
                            0
                        },
                );
                let result = crate::stress::run(
                    &discovery.target,
                    run,
                    &mut files,
                    stress_options,
                    &options.cancel,
                    &|m| progress.advance(m),
                );
                progress.finish_stage();
                match result {
                    Ok(stress_run) => {
                        stages.stress = Some(stress_run);
                        None
                    }
                    Err(reason) => Some(reason),
                }
            }
        };
    }

    if let Some((record, _)) = reused {
        files.extend(reused_files);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        stages.reused = Some(record);
    }
    let context = assess::Context {
        interpreter: discovery.target.interpreter.as_ref(),
        expects_records: probe_expected,
        distributions: &discovery.distributions,
        probe_sandbox: stages.dynamic.as_ref().map(|d| &d.sandbox),
        stress_sandbox: stages.stress.as_ref().map(|s| &s.sandbox),
        stress_executor: stages.stress.as_ref().map(|s| s.speed_executor),
    };
    if let Some(signal) = options.cancel.requested() {
        stages.interrupted = Some(format!(
            "{} after {:.1} s: what had finished is reported, the rest is marked not checked",
            signal.name(),
            started.elapsed().as_secs_f64()
        ));
    }
    assess::assess(&mut files, &context);
    let mut report = Report {
        schema_version: SCHEMA_VERSION.to_string(),
        tool: ToolInfo {
            name: "ftaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        provenance: provenance(),
        target: discovery.target,
        distributions: discovery.distributions,
        files,
        input_problems: discovery.problems,
        stages,
        policy: Default::default(),
        summary: Default::default(),
    };
    policy::apply(
        &mut report,
        &options.policy,
        options.baseline.as_ref(),
        policy::today(),
    );
    report.summary = assess::summarize(&report, probe_expected && !options.static_only);
    report.summary.incomplete_allowed = options.policy.allow_incomplete;
    Ok(report)
}

/// Now, and this machine.
pub fn provenance() -> Provenance {
    Provenance {
        generated_at: time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default(),
        host: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

/// Reads and analyses every native file in parallel; a file that cannot be read or parsed
/// keeps its place in the report with the reason. Largest files go first, one per task, so
/// that a 55 MB bundled library does not start last and leave a core idle at the end.
fn analyze_statically(
    discovery: &Discovery,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Vec<NativeFile> {
    progress.stage("static analysis", discovery.files.len());
    let files = &discovery.files;
    let mut largest_first: Vec<usize> = (0..files.len()).collect();
    largest_first.sort_by_key(|&i| Reverse(files[i].size));
    let mut analyzed: Vec<(usize, NativeFile)> = largest_first
        .into_par_iter()
        .with_max_len(1)
        .map(|i| {
            let native = analyze_file(discovery, &files[i], cancel);
            progress.advance(&files[i].path);
            (i, native)
        })
        .collect();
    progress.finish_stage();
    // Back to discovery's order (by path).
    analyzed.sort_by_key(|(i, _)| *i);
    analyzed.into_iter().map(|(_, native)| native).collect()
}

/// Why a bundled library in a wheel is identified from its headers alone.
const HEADERS_ONLY: &str = "a bundled library in a wheel (its name cannot be imported, so no \
     module lives in it) is inflated only as far as its headers";

/// A file the scan was interrupted before reading keeps its place, marked not read.
fn analyze_file(discovery: &Discovery, file: &DiscoveredFile, cancel: &Cancel) -> NativeFile {
    let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let sources = &discovery.sources;
    // Bundled libraries are half of a wheel set's bytes (BLAS, Arrow) and hold no module;
    // installed ones are mapped, so reading them whole costs next to nothing.
    let headers_only = file.module_name.is_none()
        && matches!(file.location, Location::WheelMember { .. })
        && file.size > ftaudit_static::HEADER_BYTES as u64;
    let facts = if cancel.requested().is_some() {
        Err(FileProblem {
            kind: FileProblemKind::Interrupted,
            message: "not read: the scan was interrupted first".into(),
        })
    } else if headers_only {
        sources
            .read_head(&file.location, ftaudit_static::HEADER_BYTES)
            .and_then(|head| ftaudit_static::identify_library(file_name, &head, HEADERS_ONLY))
    } else {
        sources
            .read(&file.location)
            .and_then(|bytes| ftaudit_static::analyze(file_name, &bytes))
    };
    NativeFile {
        path: file.path.clone(),
        location: file.location.display(sources),
        distribution: file.distribution.clone(),
        size: file.size,
        module_name: file.module_name.clone(),
        static_facts: facts.as_ref().ok().cloned(),
        problem: facts.err(),
        dynamic: None,
        stress: None,
        findings: Vec::new(),
    }
}

/// The workers' box: the interpreter they embed is readable (the environment's folders are
/// added by the probe). A CPU-time ceiling backs up the deadlines for a worker that outlives
/// ftaudit: far above what the imports need.
fn probe_sandbox(
    options: &ProbeOptions,
    embedded: &ftaudit_model::EmbeddedInterpreter,
) -> ftaudit_probe::SandboxSpec {
    ftaudit_probe::SandboxSpec {
        enabled: options.sandbox,
        cpu_seconds: Some(PROBE_CPU_SECONDS.max(options.timeout.as_secs() * 20)),
        ..ftaudit_probe::SandboxSpec::for_interpreter(std::path::Path::new(&embedded.base_prefix))
    }
}

/// CPU seconds per probe worker process (RLIMIT_CPU), unless the timeout asks for more.
const PROBE_CPU_SECONDS: u64 = 3600;

fn probe(
    target: &Target,
    files: &[NativeFile],
    options: &ProbeOptions,
    cancel: &Cancel,
    progress: &dyn Progress,
) -> Result<(DynamicRun, Vec<DynamicFacts>), String> {
    let Some(wanted) = &target.interpreter else {
        return Err("the target does not say which interpreter it was made for (no pyvenv.cfg version or lib/pythonX.Y folder)".into());
    };
    let (worker, embedded) = choose_worker(wanted, options)?;
    let config = ProbeConfig {
        worker,
        jobs: options.jobs.max(1),
        timeout: options.timeout,
        memory_limit_mb: options.memory_limit_mb,
        subinterpreters: options.subinterpreters,
        sandbox: probe_sandbox(options, &embedded),
        cancel: cancel.clone(),
    };
    // One entry per module name: the first site-packages folder wins, as on sys.path. Files
    // the static pass identified as plain libraries (no entry point) are not modules: importing
    // them could only fail. Unreadable files are tried: the import tells what the parser could not.
    let mut modules: Vec<String> = Vec::new();
    let importable = files.iter().filter(|f| {
        !f.static_facts
            .as_ref()
            .is_some_and(|s| s.kind == FileKind::SharedLibrary)
    });
    for name in importable.filter_map(|f| f.module_name.clone()) {
        if !modules.contains(&name) {
            modules.push(name);
        }
    }
    let plan = ProbePlan {
        site_dirs: target.site_packages.clone(),
        modules,
    };
    progress.stage("import probe", plan.modules.len());
    let result = ftaudit_probe::run(&config, &plan, &|event| {
        if let ProbeProgress::ModuleDone { module, .. } = event {
            progress.advance(module);
        }
    });
    progress.finish_stage();
    result.map_err(|e| format!("the import probe failed: {e}"))
}

fn attach_dynamic(files: &mut [NativeFile], facts: Vec<DynamicFacts>) {
    let mut by_module: BTreeMap<String, DynamicFacts> =
        facts.into_iter().map(|f| (f.module.clone(), f)).collect();
    for file in files.iter_mut() {
        if let Some(name) = &file.module_name {
            file.dynamic = by_module.remove(name);
        }
    }
}

/// The worker for the environment's interpreter: asks that interpreter about itself, picks the
/// worker library for its ABI (or the one `--worker` names) and the mode its libpython allows,
/// and starts it once to check it runs in that interpreter. When nothing can run there, the
/// reason names what was found and what would serve.
fn choose_worker(
    wanted: &TargetInterpreter,
    options: &ProbeOptions,
) -> Result<(Worker, EmbeddedInterpreter), String> {
    let need = WantedInterpreter::new(&wanted.version, wanted.free_threaded);
    let runs = format!(
        "the environment runs Python {}{}",
        wanted.version,
        if wanted.free_threaded {
            " (free-threaded)"
        } else {
            " (default build, with the GIL)"
        }
    );
    let python = match (&options.interpreter, &wanted.executable) {
        (Some(python), _) => python.clone(),
        (None, Some(python)) => python.clone(),
        (None, None) => {
            return Err(format!(
                "{runs}, but names no interpreter (no pyvenv.cfg home or executable): pass --interpreter /path/to/python{}",
                need.label()
            ))
        }
    };
    let host = HostInterpreter::inspect(&python, options.timeout.max(Duration::from_secs(30)))
        .map_err(|e| format!("{runs}, and its interpreter could not be asked: {e}"))?;
    if host.minor() != need.minor || host.gil_disabled != need.free_threaded {
        return Err(format!(
            "{runs}, but its interpreter {} is CPython {}{}",
            python.display(),
            host.version,
            host.abiflags
        ));
    }
    let worker = ftaudit_probe::plan(&host, options.worker_mode, options.worker.as_deref())
        .map_err(|e| format!("{runs}: {e}"))?;
    let embedded = ftaudit_probe::describe(&worker, options.timeout).map_err(|e| {
        format!(
            "the probe worker ({} mode: {}) failed to start: {e}",
            worker.info.mode.as_str(),
            worker.info.reason
        )
    })?;
    if !need.matches(&embedded) {
        return Err(format!(
            "{runs}, but the worker {} ran in CPython {}{} (GIL {} at start-up)",
            worker.info.library.display(),
            embedded.version,
            embedded.abiflags,
            if embedded.gil_enabled_at_startup {
                "on"
            } else {
                "off"
            }
        ));
    }
    Ok((worker, embedded))
}
