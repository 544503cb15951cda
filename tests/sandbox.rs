//! The box around package code, proven with real hostile modules (fixtures/hostile/): a
//! compiled module whose import and whose `attack()` try to write into HOME, /tmp, the venv and
//! the folder ftaudit was started from, connect to a listener on 127.0.0.1, SIGKILL an
//! unrelated process, SIGTERM ftaudit itself and fork a child that leaves the process group;
//! a pure-Python package doing the same from its `__init__`; and a harmless bystander whose
//! probe must go on as usual. Every attempt is stopped, the module's own output reports each
//! refusal, and nothing outside the scratch folders changes. `--sandbox off` is the control:
//! there the same module's write lands, and `sandbox = "require"` fails the gate.
//!
//! Layers the kernel cannot offer are asserted to be reported as missing instead (the
//! assertions on what they guard are then skipped, with a message).

mod support;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use ftaudit_model::{ExecutorKind, FindingCode, Report, SandboxReport, SandboxStatus, Severity};
use support::{empty_venv, fingerprint, ftaudit, python, repo_root, sysconfig as query};

fn cc(include: &str, out: PathBuf, source: &str, defines: &[&str]) {
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-pthread", "-I", include])
        .args(defines)
        .arg("-o")
        .arg(&out)
        .arg(repo_root().join("fixtures/hostile").join(source))
        .status()
        .unwrap();
    assert!(status.success(), "cc {source}");
}

/// A venv of the provisioned interpreter with the hostile fixtures and the bystander in it.
fn hostile_venv(dir: &Path) -> (PathBuf, PathBuf) {
    let python = python();
    let (venv, site) = empty_venv(dir);
    let include = query(&python, "sysconfig.get_path('include')");
    let suffix = query(&python, "sysconfig.get_config_var('EXT_SUFFIX')");
    cc(
        &include,
        site.join(format!("hostile_native{suffix}")),
        "hostile_native.c",
        &[],
    );
    cc(
        &include,
        site.join(format!("bystander{suffix}")),
        "plain.c",
        &["-DMODNAME=bystander"],
    );
    let package = site.join("hostile_py");
    std::fs::create_dir(&package).unwrap();
    std::fs::copy(
        repo_root().join("fixtures/hostile/hostile_py/__init__.py"),
        package.join("__init__.py"),
    )
    .unwrap();
    cc(
        &include,
        package.join(format!("_speedups{suffix}")),
        "plain.c",
        &["-DMODNAME=_speedups"],
    );
    (venv, site)
}

/// The places a hostile module aims at, the processes it aims at, and how to check them after.
struct Targets {
    token: String,
    home: PathBuf,
    cwd: PathBuf,
    listener: TcpListener,
    victim: Child,
}

impl Targets {
    fn new(dir: &Path) -> Self {
        let home = dir.join("home");
        let cwd = dir.join("cwd");
        for d in [&home, &cwd] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("precious.txt"), "keep me\n").unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let victim = Command::new("sleep").arg("600").spawn().unwrap();
        let token = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        Self {
            token,
            home,
            cwd,
            listener,
            victim,
        }
    }

    /// ftaudit, started from `cwd` with `home` as HOME and every attack switched on.
    fn command(&self, site: &Path, attacks: &[&str]) -> Command {
        let mut cmd = ftaudit();
        cmd.current_dir(&self.cwd)
            .env("HOME", &self.home)
            .env("FTAUDIT_HOSTILE_TOKEN", &self.token);
        for attack in attacks {
            match *attack {
                "write" => cmd.env(
                    "FTAUDIT_HOSTILE_DIRS",
                    format!(
                        "{}:/tmp:{}:{}",
                        self.home.display(),
                        site.display(),
                        self.cwd.display()
                    ),
                ),
                "connect" => cmd.env(
                    "FTAUDIT_HOSTILE_PORT",
                    self.listener.local_addr().unwrap().port().to_string(),
                ),
                "victim" => cmd.env("FTAUDIT_HOSTILE_VICTIM", self.victim.id().to_string()),
                "parent" => cmd.env("FTAUDIT_HOSTILE_PARENT", "1"),
                "fork" => cmd.env("FTAUDIT_HOSTILE_FORK", "1"),
                other => panic!("no attack {other}"),
            };
        }
        cmd
    }

    /// Processes still carrying the token (a forked child that outlived the scan).
    fn survivors(&self) -> Vec<String> {
        let needle = format!("FTAUDIT_HOSTILE_TOKEN={}", self.token);
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ
                .split(|b| *b == 0)
                .any(|var| var == needle.as_bytes())
            {
                found.push(name);
            }
        }
        found
    }

    fn assert_nothing_reached(&mut self, sandbox: &SandboxReport, before: &[Snapshot]) {
        let enforced = |name: &str| sandbox.layers.iter().any(|l| l.name == name && l.enforced);
        if enforced("filesystem") {
            for snapshot in before {
                snapshot.assert_unchanged();
            }
            let stray: Vec<_> = std::fs::read_dir("/tmp")
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(&self.token))
                .collect();
            assert!(stray.is_empty(), "files written into /tmp: {stray:?}");
        } else {
            eprintln!("filesystem not confined here: {sandbox:?}");
        }
        if enforced("network") {
            match self.listener.accept() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                other => panic!("the listener on 127.0.0.1 was reached: {other:?}"),
            }
        }
        if enforced("signals") {
            assert!(
                self.victim.try_wait().unwrap().is_none(),
                "the unrelated process was killed"
            );
        } else {
            eprintln!("signals not confined here: {sandbox:?}");
        }
        if enforced("processes") {
            assert_eq!(
                self.survivors(),
                Vec::<String>::new(),
                "a forked child outlived the scan"
            );
        }
    }
}

impl Drop for Targets {
    fn drop(&mut self) {
        let _ = self.victim.kill();
        let _ = self.victim.wait();
    }
}

struct Snapshot {
    root: PathBuf,
    entries: std::collections::BTreeMap<String, String>,
}

impl Snapshot {
    fn of(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            entries: fingerprint(root),
        }
    }

    fn assert_unchanged(&self) {
        let now = fingerprint(&self.root);
        // A file that got through says which process wrote it (the fixture writes its pid,
        // parent and program into it).
        let written: Vec<String> = now
            .keys()
            .filter(|k| !self.entries.contains_key(*k))
            .map(|k| {
                let text = std::fs::read_to_string(self.root.join(k)).unwrap_or_default();
                format!("{k}: {}", text.trim())
            })
            .collect();
        assert_eq!(
            now,
            self.entries,
            "{} changed under the sandbox; new files: {written:?}",
            self.root.display()
        );
    }
}

fn report_of(output: &std::process::Output) -> Report {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no report ({e}), exit {:?}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The layers this kernel should give: every one, where Landlock has signal scoping (ABI 6).
fn assert_reported(sandbox: &SandboxReport) {
    assert_eq!(sandbox.layers.len(), 6, "{sandbox:?}");
    assert!(sandbox.children >= 1);
    assert!(sandbox.layers.iter().all(|l| !l.detail.is_empty()));
    let abi = ftaudit_probe::contain::landlock_abi();
    assert_eq!(sandbox.landlock_abi, abi);
    let userns = Command::new("unshare")
        .args(["--user", "--net", "--mount", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if abi >= 6 && userns {
        assert_eq!(sandbox.status, SandboxStatus::Enforced, "{sandbox:?}");
    } else {
        eprintln!("this kernel (Landlock ABI {abi}, user namespaces {userns}) gives: {sandbox:?}");
        assert_ne!(sandbox.status, SandboxStatus::Off);
    }
}

#[test]
fn hostile_imports_are_stopped_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (venv, site) = hostile_venv(dir.path());
    let mut targets = Targets::new(dir.path());
    let before = [
        Snapshot::of(&targets.home),
        Snapshot::of(&targets.cwd),
        Snapshot::of(&venv),
    ];
    let output = targets
        .command(&site, &["write", "connect", "victim", "parent", "fork"])
        .args(["scan", "--format", "json"])
        .arg(&venv)
        .output()
        .unwrap();
    // SIGTERM reaching ftaudit would end it with 143 and a partial report.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "exit {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report_of(&output);
    assert!(report.stages.interrupted.is_none());
    let run = report.stages.dynamic.as_ref().expect("the probe ran");
    assert_reported(&run.sandbox);
    targets.assert_nothing_reached(&run.sandbox, &before);

    // The bystander was probed as usual, and so were the hostile modules themselves.
    for module in ["bystander", "hostile_native", "hostile_py._speedups"] {
        let facts = support::file(&report, module)
            .dynamic
            .as_ref()
            .unwrap_or_else(|| panic!("{module} was not probed"));
        assert!(facts.import.is_ok(), "{module}: {:?}", facts.import);
        assert_eq!(facts.requires_gil, Some(false), "{module}");
    }
    // Each attempt was refused, and the refusal is in the module's captured output.
    for (module, who) in [
        ("hostile_native", "hostile_native(import)"),
        ("hostile_py._speedups", "hostile_py"),
    ] {
        let text = support::file(&report, module)
            .dynamic
            .as_ref()
            .and_then(|d| d.output.clone())
            .unwrap_or_default();
        for attempt in [
            "write",
            "connect to 127.0.0.1",
            "SIGKILL an unrelated process",
            "SIGTERM the parent",
            "fork a child",
        ] {
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with(who) && l.contains(attempt))
                .collect();
            assert!(!lines.is_empty(), "{module}: no {attempt} line in {text}");
            assert!(
                lines.iter().all(|l| !l.ends_with(": done")),
                "{module}: {attempt} went through: {lines:?}"
            );
        }
    }
}

#[test]
fn hostile_stress_calls_are_stopped_and_measured() {
    let dir = tempfile::tempdir().unwrap();
    let (venv, site) = hostile_venv(dir.path());
    let recipes = dir.path().join("recipes");
    std::fs::create_dir(&recipes).unwrap();
    std::fs::write(
        recipes.join("hostile.py"),
        "FTAUDIT_RECIPE = {'version': 1, 'modules': ['hostile_native'], 'unit': 'attack()'}\n\
         import hostile_native\n\n\
         def work(shared, local, i):\n    return hostile_native.attack()\n",
    )
    .unwrap();
    let mut targets = Targets::new(dir.path());
    let before = [
        Snapshot::of(&targets.home),
        Snapshot::of(&targets.cwd),
        Snapshot::of(&venv),
    ];
    let stress = |targets: &Targets, attacks: &[&str], executors: &str| {
        let output = targets
            .command(&site, attacks)
            .args([
                "stress",
                "--format",
                "json",
                "--no-shipped-recipes",
                // The recipe's calls here; tests/synth.rs checks the synthesized tier is boxed.
                "--no-synthesized",
                "--repeats",
                "1",
            ])
            .args([
                "--target-seconds",
                "0.05",
                "--workers",
                "1,2",
                "--only",
                "hostile_native",
            ])
            .args(["--executors", executors, "--recipes"])
            .arg(&recipes)
            .arg(&venv)
            .output()
            .unwrap();
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "exit {:?}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        report_of(&output)
    };

    // Threads: every attack, from every worker thread, many times over.
    let report = stress(
        &targets,
        &["write", "connect", "victim", "parent", "fork"],
        "threads",
    );
    let run = report.stages.stress.as_ref().expect("stress ran");
    assert_reported(&run.sandbox);
    targets.assert_nothing_reached(&run.sandbox, &before);
    let facts = support::file(&report, "hostile_native")
        .stress
        .as_ref()
        .expect("hostile_native was stressed");
    let recipe = facts
        .workloads
        .iter()
        .find(|w| w.workload == "hostile")
        .expect("the recipe ran");
    let threads = recipe
        .executors
        .iter()
        .find(|e| e.kind == ExecutorKind::Threads)
        .unwrap();
    assert!(
        threads.not_run.is_none() && threads.points.len() == 2,
        "the calls were measured: {threads:?}"
    );

    // Processes: the pool may fork, so children that leave the group are tried there too;
    // the group kill at the end takes them with it.
    let report = stress(&targets, &["write", "fork"], "processes");
    let run = report.stages.stress.as_ref().expect("stress ran");
    assert_reported(&run.sandbox);
    assert!(run
        .sandbox
        .layers
        .iter()
        .any(|l| l.name == "processes" && l.detail.contains("process creation allowed")));
    targets.assert_nothing_reached(&run.sandbox, &before);
}

/// The control: without the box, the same module's write lands (so the tests above are not
/// vacuous); the report says the code ran unboxed, and `sandbox = "require"` fails the gate.
#[test]
fn without_the_box_the_write_lands_and_require_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let (venv, site) = hostile_venv(dir.path());
    let targets = Targets::new(dir.path());
    let policy = dir.path().join("ftaudit.toml");
    std::fs::write(&policy, "sandbox = \"require\"\n").unwrap();
    let mut cmd = targets.command(&site, &[]);
    cmd.env("FTAUDIT_HOSTILE_DIRS", targets.home.display().to_string());
    let output = cmd
        .args(["scan", "--format", "json", "--sandbox", "off", "--policy"])
        .arg(&policy)
        .arg(&venv)
        .output()
        .unwrap();
    let report = report_of(&output);
    let landed = targets
        .home
        .join(format!("hostile-import-{}", targets.token));
    assert!(
        landed.is_file(),
        "the unboxed write did not land: the fixture is broken"
    );
    let run = report.stages.dynamic.as_ref().unwrap();
    assert_eq!(run.sandbox.status, SandboxStatus::Off);
    let unboxed: Vec<_> = report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.code == FindingCode::Unboxed)
        .collect();
    assert_eq!(unboxed.len(), 3, "one per probed module: {unboxed:?}");
    assert!(unboxed.iter().all(|f| f.severity == Severity::Error));
    assert_eq!(output.status.code(), Some(1), "require fails the gate");

    // The default policy keeps it a note, and the gate passes.
    let output = targets
        .command(&site, &[])
        .args(["scan", "--format", "json", "--sandbox", "off"])
        .arg(&venv)
        .output()
        .unwrap();
    let report = report_of(&output);
    assert_eq!(output.status.code(), Some(0));
    assert!(report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.code == FindingCode::Unboxed)
        .all(|f| f.severity == Severity::Note));
}
