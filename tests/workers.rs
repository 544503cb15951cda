//! One worker library per CPython ABI, run inside whichever interpreter the environment was
//! made from: embedded where its libpython is shared, hosted by the interpreter otherwise (or
//! when asked); a scan picks both from the interpreter itself, and says what would serve when
//! nothing here does.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::{WorkerList, WorkerMode};
use support::*;

/// The interpreters scripts/test.sh provisioned ($FTAUDIT_PYTHONS), else the fixture venv's.
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

fn workers_json(args: &[&str]) -> (i32, WorkerList) {
    let out = run(ftaudit().args(["workers", "--format", "json"]).args(args));
    let list = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), list)
}

/// The ABIs crates/ftaudit-worker/abis lists, each built (scripts/build.sh) and marked.
#[test]
fn there_is_one_worker_library_per_abi_and_each_says_which() {
    let wanted: Vec<String> =
        std::fs::read_to_string(repo_root().join("crates/ftaudit-worker/abis"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect();
    let (code, list) = workers_json(&[]);
    assert_eq!(code, 0, "{list:?}");
    for abi in &wanted {
        let worker = list
            .workers
            .iter()
            .find(|w| w.serves.as_deref() == Some(abi.as_str()))
            .unwrap_or_else(|| panic!("no worker serves {abi}: {list:?}"));
        assert!(worker
            .path
            .to_string_lossy()
            .ends_with(&format!("ftaudit-worker-{abi}.so")));
    }
    assert_eq!(list.workers.len(), wanted.len(), "{list:?}");
}

/// Each provisioned interpreter (free-threaded 3.14t and 3.13t, standard 3.14) runs its ABI's
/// worker, embedded (their libpython is shared) and hosted alike, and the worker reports that
/// very interpreter from inside it: a free-threaded one with the GIL off before any import.
#[test]
fn each_interpreter_runs_its_worker_embedded_and_hosted() {
    for python in provisioned_pythons() {
        let version = python_says(&python, "import sys; print(sys.version.split()[0])");
        let minor = python_says(&python, "import sys; print('%d.%d' % sys.version_info[:2])");
        let abiflags = python_says(&python, "import sys; print(sys.abiflags)");
        let free_threaded = abiflags.contains('t');
        let python_arg = python.to_string_lossy().into_owned();
        for (mode, expected) in [
            ("auto", WorkerMode::Embedded),
            ("embedded", WorkerMode::Embedded),
            ("hosted", WorkerMode::Hosted),
        ] {
            let (code, list) = workers_json(&["--python", &python_arg, "--worker-mode", mode]);
            assert_eq!(code, 0, "{mode}: {list:?}");
            let check = &list.interpreters[0];
            let worker = check.worker.as_ref().expect("a worker was planned");
            assert_eq!(worker.mode, expected, "{mode}: {}", worker.reason);
            assert_eq!(worker.abi, format!("{minor}{abiflags}"));
            assert_eq!(worker.libpython.is_some(), expected == WorkerMode::Embedded);
            let embeds = check.embeds.as_ref().expect("the worker started");
            eprintln!(
                "{}: {} ({}) -> CPython {}{}",
                python.display(),
                mode,
                worker.reason,
                embeds.version,
                embeds.abiflags
            );
            assert_eq!(embeds.version, version);
            assert_eq!(embeds.abiflags, abiflags);
            assert_eq!(embeds.py_gil_disabled, free_threaded, "Py_GIL_DISABLED");
            assert_eq!(
                embeds.gil_enabled_at_startup, !free_threaded,
                "a free-threaded worker has the GIL off before any import ({mode})"
            );
            assert!(embeds
                .ext_suffix
                .contains(&format!("cpython-{}{abiflags}-", minor.replace('.', ""))));
        }
    }
}

/// The scan of the fixture venv ran in the interpreter that made the venv, and says how.
#[test]
fn the_scan_picks_the_worker_matching_the_venv_and_reports_it() {
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
    let worker = run.worker.as_ref().expect("the report names the worker");
    assert_eq!(worker.mode, WorkerMode::Embedded, "{}", worker.reason);
    assert!(worker.reason.contains("shared"), "{}", worker.reason);
    assert!(worker.abi.ends_with('t'));
}

/// The same venv probed with the worker embedded and hosted: every module's verdicts agree.
#[test]
fn embedded_and_hosted_give_the_same_verdicts() {
    let venv = demo_venv();
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for mode in ["embedded", "hosted"] {
        let json = dir.path().join(format!("{mode}.json"));
        let out = run(ftaudit()
            .args([
                "scan",
                "--worker-mode",
                mode,
                "--format",
                "json",
                "--output",
            ])
            .arg(&json)
            .arg(venv));
        let report: ftaudit_model::Report = serde_json::from_slice(&std::fs::read(&json).unwrap())
            .unwrap_or_else(|e| panic!("{mode}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        let worker = report
            .stages
            .dynamic
            .as_ref()
            .unwrap()
            .worker
            .clone()
            .unwrap();
        assert_eq!(worker.mode.as_str(), mode);
        reports.push((out.status.code(), verdicts(&report)));
    }
    let (embedded, hosted) = (&reports[0], &reports[1]);
    assert!(embedded.1.len() > 20, "{:?}", embedded.1);
    for (path, verdict) in &embedded.1 {
        assert_eq!(hosted.1.get(path), Some(verdict), "{path}");
    }
    assert_eq!(embedded, hosted);
}

/// A venv whose interpreter is gone keeps its static results, exits "could not check", and
/// the reason names the interpreter it needs and what went wrong asking it.
#[test]
fn a_venv_whose_interpreter_is_gone_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let site = venv.join("lib/python3.99t/site-packages");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        "home = /opt/py399t/bin\nversion_info = 3.99.0\nexecutable = /opt/py399t/bin/python3.99t\n",
    )
    .unwrap();
    copy_fixture_module(&site, "ftfix_mp_gil_not_used");
    let (code, report) = scan_json(&[], &venv);
    let reason = report.stages.dynamic_skipped.as_deref().expect("no probe");
    assert!(reason.contains("3.99.0 (free-threaded)"), "{reason}");
    assert!(
        reason.contains("/opt/py399t/bin/python3.99t") && reason.contains("could not be asked"),
        "{reason}"
    );
    assert!(file(&report, "ftfix_mp_gil_not_used")
        .static_facts
        .is_some());
    assert!(report.summary.incomplete);
    assert_eq!(code, 2);
}

/// A real interpreter of an ABI this ftaudit has no worker for (the machine's own python3,
/// a standard 3.11-3.13 build): "could not check", naming what was found, the workers there are,
/// and what would serve.
#[test]
fn an_interpreter_no_worker_serves_says_what_would() {
    let Some(system) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        panic!("no system python3 to stand for an interpreter without a worker");
    };
    let minor = python_says(&system, "import sys; print('%d.%d' % sys.version_info[:2])");
    let abi = format!(
        "{minor}{}",
        python_says(&system, "import sys; print(sys.abiflags)")
    );
    let (_, all) = workers_json(&[]);
    assert!(
        all.workers
            .iter()
            .all(|w| w.serves.as_deref() != Some(abi.as_str())),
        "{system:?} is {abi}, which a worker serves: pick another stand-in"
    );
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let site = venv.join(format!("lib/python{minor}/site-packages"));
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        venv.join("pyvenv.cfg"),
        format!(
            "home = {}\nversion_info = {minor}.0\nexecutable = {}\n",
            system.parent().unwrap().display(),
            system.display()
        ),
    )
    .unwrap();
    let (code, report) = scan_json(&[], &venv);
    let reason = report.stages.dynamic_skipped.as_deref().expect("no probe");
    assert!(reason.contains(&format!("is CPython {minor}.")), "{reason}");
    assert!(reason.contains("this ftaudit has workers for"), "{reason}");
    assert!(reason.contains("3.14t"), "{reason}");
    assert!(
        reason.contains(&format!("an ftaudit with a {abi} worker would serve")),
        "{reason}"
    );
    assert_eq!(code, 2);
}

/// `--worker` forces a library; one of another ABI is refused, naming what it serves.
#[test]
fn a_forced_worker_of_another_abi_is_refused() {
    let (_, list) = workers_json(&[]);
    let venv_minor = python_says(
        &fixtures_venv().join("bin/python"),
        "import sys; print('%d.%d' % sys.version_info[:2])",
    );
    let wanted = format!("{venv_minor}t");
    for other in list
        .workers
        .iter()
        .filter(|w| w.serves.as_deref() != Some(wanted.as_str()))
    {
        let worker = other.path.to_string_lossy().into_owned();
        let (code, report) = scan_json(&["--worker", &worker], fixtures_venv());
        let reason = report.stages.dynamic_skipped.expect("no probe");
        assert!(
            reason.contains(&format!(
                "the worker {worker} serves {}",
                other.serves.as_deref().unwrap()
            )),
            "{reason}"
        );
        assert_eq!(code, 2);
    }
    // A file that is no worker at all.
    let (code, report) = scan_json(&["--worker", "/bin/true"], fixtures_venv());
    let reason = report.stages.dynamic_skipped.expect("no probe");
    assert!(reason.contains("is not an ftaudit worker"), "{reason}");
    assert_eq!(code, 2);
}

/// `--worker-mode embedded` on an interpreter without a shared libpython is refused, naming why.
#[test]
fn embedded_mode_needs_a_shared_libpython() {
    let Some(static_python) = std::env::var_os("FTAUDIT_STATIC_PYTHONS").and_then(|l| {
        l.to_str()
            .and_then(|l| l.split_whitespace().next().map(PathBuf::from))
    }) else {
        panic!("FTAUDIT_STATIC_PYTHONS is not set: scripts/test.sh provisions the static-libpython interpreters");
    };
    let python_arg = static_python.to_string_lossy().into_owned();
    let (code, list) = workers_json(&["--python", &python_arg, "--worker-mode", "embedded"]);
    let problem = list.interpreters[0].problem.as_deref().expect("refused");
    assert!(problem.contains("needs a shared libpython"), "{problem}");
    assert!(problem.contains("static"), "{problem}");
    assert_eq!(code, 2);
    // Auto picks hosted there, and the worker runs.
    let (code, list) = workers_json(&["--python", &python_arg]);
    assert_eq!(code, 0, "{list:?}");
    let worker = list.interpreters[0].worker.as_ref().unwrap();
    assert_eq!(worker.mode, WorkerMode::Hosted, "{}", worker.reason);
    assert!(
        worker.reason.contains("linked into the interpreter"),
        "{}",
        worker.reason
    );
}

fn copy_fixture_module(site: &Path, module: &str) {
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
                .starts_with(&format!("{module}."))
        })
        .unwrap();
    std::fs::copy(&fixture, site.join(fixture.file_name().unwrap())).unwrap();
}
