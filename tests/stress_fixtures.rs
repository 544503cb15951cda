//! The fixture modules that the stress stage (issue 11, not built yet; see
//! docs/design/stress.md) must classify, checked here against the real free-threaded CPython so
//! that each one does what its verdict will claim: fixtures/stress/*.c, compiled at test time.
//! Timing-based verdicts (scales / serialises) are not asserted here: only behaviour.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{python, repo_root as repo};

const MODULES: &[&str] = &[
    "stress_race",
    "stress_deadlock",
    "stress_serial",
    "stress_scale",
    "stress_lazy_gil",
    "stress_lazy_gil_helper",
];

fn query(python: &Path, expr: &str) -> String {
    let out = Command::new(python)
        .args(["-I", "-c", &format!("import sysconfig; print({expr})")])
        .env_remove("PYTHON_GIL")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Compiles every fixture into a fresh folder (on the import path of the scripts below).
fn build(python: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let include = query(python, "sysconfig.get_path('include')");
    let suffix = query(python, "sysconfig.get_config_var('EXT_SUFFIX')");
    for m in MODULES {
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-pthread", "-I", &include, "-o"])
            .arg(dir.path().join(format!("{m}{suffix}")))
            .arg(repo().join(format!("fixtures/stress/{m}.c")))
            .status()
            .unwrap();
        assert!(status.success(), "cc {m}");
    }
    dir
}

/// Runs `script` in a fresh interpreter with the fixtures importable; None when it is still
/// running after `limit` (it is killed then).
fn run(python: &Path, dir: &Path, script: &str, limit: Duration) -> Option<String> {
    let mut child = Command::new(python)
        .args([
            "-I",
            "-c",
            &format!(
                "import sys; sys.path.insert(0, {:?})\n{script}",
                dir.display().to_string()
            ),
        ])
        .env_remove("PYTHON_GIL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            assert!(
                status.success(),
                "{script}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return Some(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const LONG: Duration = Duration::from_secs(120);

#[test]
fn the_stress_fixtures_behave_as_their_verdicts_will_say() {
    let python = python();
    let dir = build(&python);
    let dir = dir.path();

    // Every fixture but the helper imports with the GIL off; the helper turns it on.
    for m in MODULES {
        let gil = run(
            &python,
            dir,
            &format!("import {m}; print(sys._is_gil_enabled())"),
            LONG,
        )
        .unwrap();
        let wanted = if *m == "stress_lazy_gil_helper" {
            "True"
        } else {
            "False"
        };
        assert_eq!(gil, wanted, "{m}");
    }

    // Lazy GIL: off after the import, on after the first call.
    let out = run(&python, dir, "import stress_lazy_gil as m\nprint(sys._is_gil_enabled())\nm.call()\nprint(sys._is_gil_enabled())", LONG).unwrap();
    assert_eq!(out, "False\nTrue");

    // The race: exact from one thread; two threads released together lose updates (tried a few
    // times, since two threads only race when the machine runs them at once).
    let race = r#"
import threading, stress_race as m
n = 2_000_000
m.reset(); m.bump(n); single = m.value()
lost = False
for attempt in range(5):
    m.reset()
    barrier = threading.Barrier(2)
    def go():
        barrier.wait(); m.bump(n)
    ts = [threading.Thread(target=go) for _ in range(2)]
    [t.start() for t in ts]; [t.join() for t in ts]
    if m.value() < 2 * n:
        lost = True
        break
print(single == n, lost)
"#;
    assert_eq!(
        run(&python, dir, race, LONG).unwrap(),
        "True True",
        "the race fixture must lose updates under threads"
    );

    // The deadlock: ab() then ba() from one thread finish; one thread each never does.
    assert_eq!(
        run(
            &python,
            dir,
            "import stress_deadlock as m\nm.ab(); m.ba(); print('done')",
            LONG
        )
        .as_deref(),
        Some("done")
    );
    let deadlock = "import threading, stress_deadlock as m\nts=[threading.Thread(target=m.ab), threading.Thread(target=m.ba)]\n[t.start() for t in ts]; [t.join() for t in ts]\nprint('finished')";
    assert_eq!(
        run(&python, dir, deadlock, Duration::from_secs(10)),
        None,
        "two threads in opposite lock order must hang"
    );

    // Serial and scaling fixtures are correct under threads: every thread's result equals the
    // single-thread result (their speed is for the stress stage's measurements, not a test).
    for m in ["stress_serial", "stress_scale"] {
        let check = format!(
            "import threading, {m} as m\nwant = m.work(100_000)\nres = []\nts = [threading.Thread(target=lambda: res.append(m.work(100_000))) for _ in range(4)]\n[t.start() for t in ts]; [t.join() for t in ts]\nprint(all(r == want for r in res) and len(res) == 4)"
        );
        assert_eq!(run(&python, dir, &check, LONG).unwrap(), "True", "{m}");
    }
}
