//! `ftaudit scan LOCK --python 3.14t --platform ...`: the lock's wheels picked per target from a
//! real HTTP index on 127.0.0.1 (the ftaudit-lock tests' server, with range requests), only
//! their native members read, and the static audit joined into one report.

#[path = "../crates/ftaudit-lock/tests/support/mod.rs"]
mod lock_support;
mod support;

use ftaudit_model::{InputProblemKind, Report, TargetKind};
use lock_support::world::{requirements, world};
use lock_support::Server;
use support::ftaudit;

fn scan(
    dir: &std::path::Path,
    lock: &std::path::Path,
    index: &str,
    extra: &[&str],
) -> (Option<i32>, Report, String) {
    let out = ftaudit()
        .env("FTAUDIT_CACHE", dir.join("cache"))
        .args([
            "scan",
            "--format",
            "json",
            "--python",
            "3.14t",
            "--platform",
            "manylinux_2_28_x86_64",
            "--platform",
            "win_amd64",
            "--index-url",
            index,
        ])
        .args(extra)
        .arg(lock)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{stderr}"));
    (out.status.code(), report, stderr)
}

#[test]
fn a_lock_is_audited_per_target_without_installing() {
    let dir = tempfile::tempdir().unwrap();
    let (world, site) = world(true, true);
    let server = Server::start(site);
    let lock = dir.path().join("requirements.txt");
    std::fs::write(&lock, requirements(&world)).unwrap();

    let (status, report, stderr) = scan(dir.path(), &lock, &server.index(), &[]);
    assert_eq!(report.target.kind, TargetKind::Lock);
    let audit = report.stages.lock.as_ref().expect("the lock section");
    assert_eq!(
        audit
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["cp314t-manylinux_2_28_x86_64", "cp314t-win_amd64"]
    );
    assert!(audit.requests > 0 && audit.bytes_read > 0, "{audit:?}");
    // fastpkg's native module is audited on both targets: an ELF and a PE.
    let fast: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.distribution.as_deref() == Some("fastpkg"))
        .collect();
    assert_eq!(
        fast.len(),
        2,
        "{:?}",
        report.files.iter().map(|f| &f.location).collect::<Vec<_>>()
    );
    assert!(fast.iter().all(|f| f.static_facts.is_some()), "both read");
    // Only what is needed was read: far less than the 3 MiB Linux wheel.
    let linux = &audit.targets[0];
    let picked = linux.wheels.iter().find(|w| w.name == "fastpkg").unwrap();
    assert!(
        !picked.whole_download && picked.native_members == 1 && picked.record_checked >= 1,
        "{picked:?}"
    );
    assert!(
        audit.bytes_read < audit.picked_wheel_bytes / 2,
        "read {} of {}",
        audit.bytes_read,
        audit.picked_wheel_bytes
    );
    // The pins with no wheel to audit are named with their line and reason; an sdist-only pin
    // leaves something unchecked (exit 2), a pure-Python wheel on one target does not.
    let sdist = linux
        .missing
        .iter()
        .find(|m| m.name == "sdistonly")
        .expect("sdistonly");
    assert!(
        sdist.could_not_check && sdist.line > 0 && sdist.reason.contains("sdist"),
        "{sdist:?}"
    );
    let gil_only = linux
        .missing
        .iter()
        .find(|m| m.name == "gilonly")
        .expect("gilonly");
    assert!(gil_only.could_not_check, "{gil_only:?}");
    assert!(report
        .input_problems
        .iter()
        .any(|p| p.kind == InputProblemKind::NoWheel && p.message.contains("sdistonly==3.0")));
    assert!(report.summary.incomplete);
    assert_eq!(status, Some(2), "{stderr}");

    // Each file says which target's wheel it came from.
    assert!(
        fast.iter()
            .any(|f| f.location.contains("manylinux_2_28_x86_64"))
            && fast.iter().any(|f| f.location.contains("win_amd64")),
        "{:?}",
        fast.iter().map(|f| &f.location).collect::<Vec<_>>()
    );

    // A second run reads nothing from the network.
    let (_, again, _) = scan(dir.path(), &lock, &server.index(), &[]);
    let again = again.stages.lock.unwrap();
    assert_eq!(again.requests, 0, "warm cache");
    assert_eq!(again.targets[0].wheels.len(), linux.wheels.len());
}

#[test]
fn lock_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("requirements.txt");
    std::fs::write(&lock, "numpy==2.4.6\nrequests>=2\n").unwrap();
    let out = ftaudit()
        .env("FTAUDIT_CACHE", dir.path())
        .args(["scan", "--python", "3.14t", "--offline"])
        .arg(&lock)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("requirements.txt") && stderr.contains('2') && stderr.contains("requests"),
        "{stderr}"
    );

    std::fs::write(&lock, "numpy==2.4.6\n").unwrap();
    let out = ftaudit()
        .env("FTAUDIT_CACHE", dir.path())
        .args(["scan", "--offline"])
        .arg(&lock)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("--python 3.14t"), "{stderr}");
}
