//! Several interpreters at once: one worker per provisioned interpreter (free-threaded, or a
//! standard build's), each saying what it embeds; a scan picks the worker matching the venv, and
//! says what to do when none does.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::AvailableWorker;
use support::*;

/// The interpreters scripts/test.sh built workers for ($FTAUDIT_PYTHONS), else the one the
/// fixture venv was made with.
fn provisioned_pythons() -> Vec<PathBuf> {
    match std::env::var("FTAUDIT_PYTHONS") {
        Ok(list) if !list.trim().is_empty() => list.split_whitespace().map(PathBuf::from).collect(),
        _ => vec![fixtures_venv().join("bin/python")],
    }
}

fn python_says(python: &Path, code: &str) -> String {
    let out = Command::new(python)
        .args(["-I", "-c", code])
        .env_remove("PYTHON_GIL")
        .output()
        .expect("the interpreter runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn listed_workers() -> Vec<AvailableWorker> {
    let out = run(ftaudit().args(["workers", "--format", "json"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a worker list")
}

/// Each worker embeds exactly its interpreter (3.14t's embeds 3.14.x): a free-threaded one
/// with the GIL off before any import, a standard build's (ftaudit-worker-3.14) with the GIL.
#[test]
fn there_is_one_worker_per_interpreter_and_each_embeds_it() {
    let workers = listed_workers();
    for python in provisioned_pythons() {
        let version = python_says(&python, "import sys; print(sys.version.split()[0])");
        let minor = python_says(&python, "import sys; print('%d.%d' % sys.version_info[:2])");
        let abiflags = python_says(&python, "import sys; print(sys.abiflags)");
        let free_threaded = abiflags.contains('t');
        let name = format!("ftaudit-worker-{minor}{abiflags}");
        let worker = workers
            .iter()
            .find(|w| w.path.file_name().unwrap().to_string_lossy() == name)
            .unwrap_or_else(|| panic!("no {name} in {workers:?}"));
        let embeds = worker.embeds.as_ref().expect("the worker starts");
        eprintln!(
            "{}: CPython {}{}",
            worker.path.display(),
            embeds.version,
            embeds.abiflags
        );
        assert_eq!(embeds.version, version);
        assert!(embeds.version.starts_with(&format!("{minor}.")));
        assert_eq!(embeds.abiflags, abiflags);
        assert_eq!(embeds.py_gil_disabled, free_threaded, "Py_GIL_DISABLED");
        assert_eq!(
            embeds.gil_enabled_at_startup, !free_threaded,
            "a free-threaded worker has the GIL off before any import"
        );
        assert!(embeds
            .ext_suffix
            .contains(&format!("cpython-{}{abiflags}-", minor.replace('.', ""))));
    }
    let table = run(ftaudit().arg("workers"));
    let text = String::from_utf8_lossy(&table.stdout);
    for w in &workers {
        assert!(text.contains(&w.embeds.as_ref().unwrap().version), "{text}");
    }
}

/// The scan of the fixture venv ran on the worker whose interpreter made the venv.
#[test]
fn the_scan_picks_the_worker_matching_the_venv() {
    let (_, report) = scan_json(
        &[
            "--no-subinterpreters",
            "--timeout",
            "4",
            "--memory-limit",
            "1024",
        ],
        fixtures_venv(),
    );
    let venv = report.target.interpreter.as_ref().unwrap();
    let run = report.stages.dynamic.as_ref().expect("probed");
    assert_eq!(run.interpreter.version, venv.version);
    assert!(venv.free_threaded);
}

/// A free-threaded venv of a version no worker embeds keeps its static results, exits with the
/// "could not check" status, and the reason names the interpreter it needs, the workers there
/// are, and the command that provisions the missing one.
#[test]
fn a_venv_no_worker_matches_says_what_it_needs_and_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let site = venv.join("lib/python3.99t/site-packages");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /opt/py399t/bin\nversion_info = 3.99.0\nexecutable = /opt/py399t/bin/python3.99t\n",
    )
    .unwrap();
    let fixture = std::fs::read_dir(fixtures_venv().join("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .unwrap()
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ftfix_mp_gil_not_used.")
        })
        .unwrap();
    std::fs::copy(&fixture, site.join(fixture.file_name().unwrap())).unwrap();

    let (code, report) = scan_json(&[], &venv);
    let reason = report.stages.dynamic_skipped.as_deref().expect("no probe");
    assert!(reason.contains("3.99.0 (free-threaded)"), "{reason}");
    assert!(
        reason.contains("no ftaudit worker embeds a free-threaded 3.99"),
        "{reason}"
    );
    for w in listed_workers() {
        assert!(reason.contains(&w.embeds.unwrap().version), "{reason}");
    }
    assert!(
        reason.contains(
            "FTAUDIT_PYTHON=/opt/py399t/bin/python3.99t scripts/provision-python.sh 3.99"
        ),
        "{reason}"
    );
    assert!(file(&report, "ftfix_mp_gil_not_used")
        .static_facts
        .is_some());
    assert!(report.summary.incomplete);
    assert_eq!(code, 2);
}

/// `--worker` forces one worker; one that embeds another version is refused with the reason.
#[test]
fn a_forced_worker_of_another_version_is_refused() {
    let workers = listed_workers();
    let venv_version = report_version(fixtures_venv());
    let Some(other) = workers.iter().find(|w| {
        !w.embeds
            .as_ref()
            .unwrap()
            .version
            .starts_with(&ftaudit_probe_minor(&venv_version))
    }) else {
        // One interpreter only (FTAUDIT_INTERPRETERS=3.13): use a worker path that is no worker.
        let (code, report) = scan_json(&["--worker", "/bin/true"], fixtures_venv());
        assert!(report
            .stages
            .dynamic_skipped
            .unwrap()
            .contains("failed to start"));
        assert_eq!(code, 2);
        return;
    };
    let worker = other.path.to_string_lossy().into_owned();
    let (code, report) = scan_json(&["--worker", &worker], fixtures_venv());
    let reason = report.stages.dynamic_skipped.expect("no probe");
    assert!(
        reason.contains(&format!("the worker {worker} embeds")),
        "{reason}"
    );
    assert_eq!(code, 2);
}

/// A worker of the same version but the other build cannot import the venv's modules (their
/// ABIs differ): forcing it is refused, naming the build needed.
#[test]
fn a_forced_worker_of_the_other_build_is_refused() {
    let workers = listed_workers();
    let venv_minor = ftaudit_probe_minor(&report_version(fixtures_venv()));
    let standard = workers.iter().find(|w| {
        w.embeds
            .as_ref()
            .is_some_and(|e| !e.py_gil_disabled && e.version.starts_with(&venv_minor))
    });
    let Some(standard) = standard else {
        // scripts/test.sh builds the standard worker of the first minor only.
        eprintln!("no standard-build worker for {venv_minor}: nothing to force");
        return;
    };
    let worker = standard.path.to_string_lossy().into_owned();
    let (code, report) = scan_json(&["--worker", &worker], fixtures_venv());
    let reason = report.stages.dynamic_skipped.expect("no probe");
    assert!(
        reason.contains("only a free-threaded") && reason.contains(&worker),
        "{reason}"
    );
    assert_eq!(code, 2);
}

fn report_version(venv: &Path) -> String {
    let (_, report) = scan_json(&["--static-only"], venv);
    report.target.interpreter.unwrap().version
}

fn ftaudit_probe_minor(version: &str) -> String {
    let mut parts = version.split('.');
    format!("{}.{}.", parts.next().unwrap(), parts.next().unwrap())
}
