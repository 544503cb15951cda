//! Shared by the probe's integration tests: the real fixture venv and the real worker.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use ftaudit_model::DynamicFacts;
use ftaudit_probe::{ProbeConfig, ProbePlan, Worker, WorkerModeChoice};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// The fixture venv: $FTAUDIT_FIXTURES_VENV, else whatever scripts/build-fixtures.sh builds.
pub fn fixtures_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        if let Some(venv) = std::env::var_os("FTAUDIT_FIXTURES_VENV").filter(|v| !v.is_empty()) {
            let venv = PathBuf::from(venv);
            assert!(venv.is_dir(), "FTAUDIT_FIXTURES_VENV={} is not a folder", venv.display());
            return venv;
        }
        let script = repo_root().join("scripts/build-fixtures.sh");
        let output = Command::new(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or("").trim().to_string();
        if !output.status.success() || last.is_empty() {
            panic!(
                "{} failed ({}); the probe tests need the fixture venv (or set FTAUDIT_FIXTURES_VENV).\nstderr:\n{}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        PathBuf::from(last)
    })
}

pub fn site_packages() -> PathBuf {
    let lib = fixtures_venv().join("lib");
    let entries =
        std::fs::read_dir(&lib).unwrap_or_else(|e| panic!("cannot list {}: {e}", lib.display()));
    for entry in entries.flatten() {
        let candidate = entry.path().join("site-packages");
        if entry.file_name().to_string_lossy().starts_with("python") && candidate.is_dir() {
            return candidate;
        }
    }
    panic!(
        "no lib/python*/site-packages in {}",
        fixtures_venv().display()
    );
}

/// `version = X.Y.Z` from the venv's pyvenv.cfg: written by the interpreter that made it.
pub fn venv_python_version() -> String {
    let cfg = fixtures_venv().join("pyvenv.cfg");
    let text = std::fs::read_to_string(&cfg)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", cfg.display()));
    text.lines()
        .find_map(|l| {
            l.strip_prefix("version")
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        })
        .unwrap_or_else(|| panic!("no version line in {}", cfg.display()))
}

/// The worker for the fixture venv's interpreter, as a scan picks it: the library for its ABI
/// next to the test binaries' folder (scripts/build.sh), in the mode `$FTAUDIT_WORKER_MODE`
/// names (embedded, hosted; default: whichever the interpreter's libpython allows).
pub fn worker() -> Worker {
    let mode = match std::env::var("FTAUDIT_WORKER_MODE").as_deref() {
        Ok("embedded") => WorkerModeChoice::Embedded,
        Ok("hosted") => WorkerModeChoice::Hosted,
        _ => WorkerModeChoice::Auto,
    };
    ftaudit_probe::worker_for(
        &fixtures_venv().join("bin/python"),
        mode,
        None,
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| {
        panic!("no worker for the fixture venv (build them with scripts/build.sh): {e}")
    })
}

pub fn config(jobs: usize, timeout_secs: u64, subinterpreters: bool) -> ProbeConfig {
    let worker = worker();
    let embedded = ftaudit_probe::describe(&worker, Duration::from_secs(60))
        .expect("the worker starts and says what it embeds");
    ProbeConfig {
        worker,
        jobs,
        timeout: Duration::from_secs(timeout_secs),
        memory_limit_mb: None,
        subinterpreters,
        sandbox: ftaudit_probe::SandboxSpec::for_interpreter(std::path::Path::new(
            &embedded.base_prefix,
        )),
        cancel: Default::default(),
    }
}

pub fn plan(modules: &[&str]) -> ProbePlan {
    ProbePlan {
        site_dirs: vec![site_packages()],
        modules: modules.iter().map(|m| m.to_string()).collect(),
    }
}

pub fn find<'a>(facts: &'a [DynamicFacts], module: &str) -> &'a DynamicFacts {
    facts
        .iter()
        .find(|f| f.module == module)
        .unwrap_or_else(|| panic!("no facts for {module}"))
}
