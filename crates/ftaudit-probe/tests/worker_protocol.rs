//! The worker on its own, started as the probe starts it (embedded or hosted): the interpreter, the event sequence on the result
//! pipe, and the isolation from PYTHON* variables even when nobody scrubs them.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use ftaudit_model::protocol::{ProbeRequest, ProbeStage, WorkerEvent};
use ftaudit_model::ImportOutcome;

/// Runs the worker directly with `env` added, returns (events, stdout).
fn run_worker(
    modules: &[&str],
    subinterpreters: bool,
    env: &[(&str, &str)],
) -> (Vec<WorkerEvent>, String) {
    let dir = tempfile::tempdir().unwrap();
    let request = ProbeRequest {
        site_dirs: vec![common::site_packages()],
        modules: modules.iter().map(|m| m.to_string()).collect(),
        subinterpreters,
    };
    let path = dir.path().join("request.json");
    std::fs::write(&path, serde_json::to_vec(&request).unwrap()).unwrap();

    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a live array of the two ints pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 succeeded, so both descriptors are open, new, and owned by nothing else: each OwnedFd becomes the only owner of one.
    let read_end = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above, for the other descriptor.
    let write_end = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    let write_fd = fds[1];
    let worker = common::worker();
    let mut command = Command::new(&worker.program);
    command
        .args(&worker.leading_args)
        .args([
            "--request".as_ref(),
            path.as_os_str(),
            "--result-fd".as_ref(),
            "3".as_ref(),
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    // `write_fd` stays open in the parent (`write_end`) until after spawn returns.
    // SAFETY: the hook runs in the forked child before exec and only makes async-signal-safe calls (dup2, fcntl) on inherited descriptors; it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            if write_fd == 3 {
                // dup2 onto itself would keep O_CLOEXEC and exec would close fd 3.
                let flags = libc::fcntl(3, libc::F_GETFD);
                if flags < 0 || libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(write_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("spawn the worker");
    drop(write_end);
    let mut results = String::new();
    std::fs::File::from(read_end)
        .read_to_string(&mut results)
        .unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "worker failed: {status}");
    let events = results
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line {l:?}: {e}")))
        .collect();
    (events, stdout)
}

#[test]
fn events_come_in_protocol_order_and_never_on_stdout() {
    let (events, stdout) = run_worker(&["ftfix_noisy", "ftfix_interp_per_gil"], true, &[]);
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            WorkerEvent::Ready { .. } => "ready".to_string(),
            WorkerEvent::Begin { module, stage } => format!("begin {module} {stage:?}"),
            WorkerEvent::Imported(r) => format!("imported {}", r.module),
            WorkerEvent::Subinterpreter { module, stage, .. } => format!("sub {module} {stage:?}"),
            WorkerEvent::Done => "done".to_string(),
        })
        .collect();
    let expected: Vec<String> = [
        "ready",
        // Every main import of the batch comes before any subinterpreter check.
        "begin ftfix_noisy Import",
        "imported ftfix_noisy",
        "begin ftfix_interp_per_gil Import",
        "imported ftfix_interp_per_gil",
        // Then stage by stage, so modules of one package can share an interpreter.
        "begin ftfix_noisy IsolatedSubinterpreter",
        "sub ftfix_noisy IsolatedSubinterpreter",
        "begin ftfix_interp_per_gil IsolatedSubinterpreter",
        "sub ftfix_interp_per_gil IsolatedSubinterpreter",
        "begin ftfix_noisy LegacySubinterpreter",
        "sub ftfix_noisy LegacySubinterpreter",
        "begin ftfix_interp_per_gil LegacySubinterpreter",
        "sub ftfix_interp_per_gil LegacySubinterpreter",
        "done",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(kinds, expected);
    // The module's raw fd-1 write lands on stdout, and nothing of the protocol does.
    assert!(
        stdout.contains("ftfix_noisy: garbage on fd 1"),
        "stdout: {stdout:?}"
    );
    assert!(
        !stdout.contains("\"event\""),
        "protocol leaked to stdout: {stdout:?}"
    );
}

#[test]
fn ready_reports_a_free_threaded_interpreter_with_the_gil_off_before_imports() {
    let (events, _) = run_worker(&[], false, &[]);
    let WorkerEvent::Ready { interpreter } = &events[0] else {
        panic!("first event is {:?}", events[0])
    };
    assert!(interpreter.py_gil_disabled);
    assert!(
        interpreter.abiflags.contains('t'),
        "abiflags {:?}",
        interpreter.abiflags
    );
    assert!(!interpreter.gil_enabled_at_startup);
    assert_eq!(interpreter.version, common::venv_python_version());
    assert_eq!(events.last(), Some(&WorkerEvent::Done));
}

/// The parent scrubs PYTHON* variables, but the worker must not depend on that: its
/// isolated PyConfig ignores them. PYTHON_GIL=0 would hide every GIL-requiring module, and
/// PYTHONPATH / PYTHONSAFEPATH would change what gets imported.
#[test]
fn worker_ignores_python_variables_even_unscrubbed() {
    let env = [
        ("PYTHON_GIL", "0"),
        ("PYTHONVERBOSE", "0"),
        ("PYTHONPATH", "/nonexistent"),
        ("PYTHONWARNINGS", "error"),
    ];
    let (events, _) = run_worker(&["ftfix_mp_no_gil_slot"], false, &env);
    let record = events
        .iter()
        .find_map(|e| match e {
            WorkerEvent::Imported(r) => Some(r),
            _ => None,
        })
        .expect("an Imported event");
    assert_eq!(record.outcome, ImportOutcome::Ok);
    assert_eq!(
        record.gil_required_by,
        vec!["ftfix_mp_no_gil_slot".to_string()]
    );
    assert!(record.gil_enabled_after);
    assert!(record
        .gil_warning
        .as_deref()
        .unwrap_or("")
        .contains("ftfix_mp_no_gil_slot"));
    assert!(events.iter().all(|e| !matches!(
        e,
        WorkerEvent::Begin {
            stage: ProbeStage::IsolatedSubinterpreter,
            ..
        }
    )));
}

#[test]
fn embedded_interpreter_matches_the_fixture_venv() {
    let interpreter =
        ftaudit_probe::embedded_interpreter(&common::config(1, 60, false)).expect("worker starts");
    assert!(interpreter.py_gil_disabled);
    assert!(!interpreter.gil_enabled_at_startup);
    assert_eq!(interpreter.version, common::venv_python_version());
    // The fixtures were compiled for this interpreter, so their files carry its suffix.
    let site = common::site_packages();
    let expected = format!("ftfix_mp_gil_not_used{}", interpreter.ext_suffix);
    assert!(
        site.join(&expected).is_file(),
        "{expected} not in {}",
        site.display()
    );
    assert!(
        interpreter.cache_tag.starts_with("cpython-"),
        "{}",
        interpreter.cache_tag
    );
    assert!(std::path::Path::new(&interpreter.base_prefix)
        .join("lib")
        .is_dir());
}

#[test]
fn a_memory_limit_too_small_to_start_is_a_clear_startup_error() {
    let mut config = common::config(1, 60, false);
    config.memory_limit_mb = Some(4);
    let err = ftaudit_probe::embedded_interpreter(&config).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ftaudit_probe::ProbeError::Startup { .. }),
        "{text}"
    );
    assert!(text.contains("failed before importing anything"), "{text}");
}
