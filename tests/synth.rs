//! The synthesized stress tier, end to end, on compiled fixtures with one concurrency bug each
//! (fixtures/synth/*.c) and their locked twins: no recipe, nothing written by the user. Each
//! bug class must be found, its finding must carry a reproducer that fails on its own with the
//! venv's plain python (run here, outside ftaudit), and every twin must pass, for two seeds.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::{FindingCode, Report, Severity, StressFacts, SynthFailureKind};
use support::{empty_venv, ftaudit, python, repo_root, sysconfig as query};

/// (module, the failure kinds that count as finding its bug)
const BUGS: &[(&str, &[SynthFailureKind])] = &[
    (
        "synth_shared",
        &[
            SynthFailureKind::Crash,
            SynthFailureKind::InternalError,
            SynthFailureKind::WrongResult,
        ],
    ),
    (
        "synth_container",
        &[
            SynthFailureKind::Crash,
            SynthFailureKind::InternalError,
            SynthFailureKind::WrongResult,
        ],
    ),
    (
        "synth_lazycache",
        &[SynthFailureKind::WrongResult, SynthFailureKind::Crash],
    ),
    (
        "synth_lazytype",
        &[
            SynthFailureKind::WrongResult,
            SynthFailureKind::Crash,
            SynthFailureKind::InternalError,
        ],
    ),
    ("synth_global", &[SynthFailureKind::WrongResult]),
    ("synth_accum", &[SynthFailureKind::WrongResult]),
];

/// Correct modules whose own examples conflict when two copies interleave (a registry that
/// refuses a name twice): the tier must see that this is no race.
const CONTROLS: &[&str] = &["synth_registry"];

/// A venv of the provisioned interpreter with every synth fixture, its twin and the controls
/// compiled into it.
fn fixture_venv(dir: &Path) -> PathBuf {
    let python = python();
    let (venv, site) = empty_venv(dir);
    let include = query(&python, "sysconfig.get_path('include')");
    let suffix = query(&python, "sysconfig.get_config_var('EXT_SUFFIX')");
    let modules = BUGS
        .iter()
        .flat_map(|(bug, _)| [bug.to_string(), format!("{bug}_locked")])
        .chain(CONTROLS.iter().map(|c| c.to_string()));
    {
        for module in modules {
            let status = Command::new("cc")
                .args(["-shared", "-fPIC", "-O2", "-pthread", "-I", &include, "-o"])
                .arg(site.join(format!("{module}{suffix}")))
                .arg(repo_root().join(format!("fixtures/synth/{module}.c")))
                .status()
                .unwrap();
            assert!(status.success(), "cc {module}");
        }
    }
    venv
}

fn stressed<'a>(report: &'a Report, module: &str) -> &'a StressFacts {
    report
        .files
        .iter()
        .find(|f| f.module_name.as_deref() == Some(module))
        .and_then(|f| f.stress.as_ref())
        .unwrap_or_else(|| panic!("{module} was not stressed"))
}

/// Runs a reproducer with the venv's plain python, outside ftaudit: true when it failed (exit 1
/// or a signal) in any of `runs` tries.
fn fails_alone(venv: &Path, script: &str, dir: &Path, runs: usize) -> bool {
    let path = dir.join("reproducer.py");
    std::fs::write(&path, script).unwrap();
    (0..runs).any(|_| {
        let status = Command::new(venv.join("bin/python"))
            .arg(&path)
            .env_remove("PYTHON_GIL")
            .current_dir(dir)
            .output()
            .unwrap()
            .status;
        status.code() != Some(0)
    })
}

#[test]
fn every_bug_class_is_found_without_a_recipe_and_every_twin_passes() {
    let dir = tempfile::tempdir().unwrap();
    let venv = fixture_venv(dir.path());
    for seed in ["1", "2"] {
        let out = ftaudit()
            .args([
                "stress",
                "--format",
                "json",
                "--no-shipped-recipes",
                "--no-generic",
            ])
            .args([
                "--executors",
                "threads",
                "--seed",
                seed,
                "--synth-budget",
                "10",
            ])
            .arg(&venv)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let report: Report =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{stderr}"));
        assert_eq!(
            out.status.code(),
            Some(1),
            "the bugs fail the gate\n{stderr}"
        );
        let run = report.stages.stress.as_ref().expect("stress ran");
        assert_eq!(
            run.sandbox.status,
            ftaudit_model::SandboxStatus::Enforced,
            "this tier runs boxed: {:?}",
            run.sandbox
        );
        for (bug, kinds) in BUGS {
            let facts = stressed(&report, bug);
            let synth = facts
                .synthesized
                .as_ref()
                .unwrap_or_else(|| panic!("{bug}: the synthesized tier did not run"));
            assert!(
                synth.coverage.programs > 0,
                "{bug}: nothing to call: {:?}",
                synth.coverage
            );
            let found: Vec<_> = synth
                .findings
                .iter()
                .filter(|f| kinds.contains(&f.kind) && !f.flaky)
                .collect();
            assert!(
                !found.is_empty(),
                "seed {seed}: {bug}'s bug was not found: {:?}\npatterns {:?}",
                synth.findings,
                synth.patterns
            );
            // The most reliable one (the report lists them so, too).
            let finding = found[0];
            assert!(found
                .iter()
                .all(|f| f.reproduced.failures * finding.reproduced.runs
                    <= finding.reproduced.failures * f.reproduced.runs));
            assert!(
                finding.reproduced.failures > 0
                    && finding.reproduced.runs >= finding.reproduced.failures
            );
            assert!(
                finding.reproducer.contains("ftaudit reproducer")
                    && finding.reproducer.contains(bug)
            );
            assert!(
                fails_alone(&venv, &finding.reproducer, dir.path(), 5),
                "seed {seed}: {bug}'s reproducer did not fail on its own:\n{}",
                finding.reproducer
            );
            assert!(
                matches!(facts.verdict, ftaudit_model::StressVerdict::Unsafe { .. }),
                "{bug}: {:?}",
                facts.verdict
            );
            let file = report
                .files
                .iter()
                .find(|f| f.module_name.as_deref() == Some(bug))
                .unwrap();
            assert!(
                file.findings.iter().any(|f| f.severity == Severity::Error
                    && matches!(
                        f.code,
                        FindingCode::StressCrash
                            | FindingCode::StressCorruption
                            | FindingCode::StressWrongResult
                    )),
                "{bug}: {:?}",
                file.findings
            );

            let twin = format!("{bug}_locked");
            let facts = stressed(&report, &twin);
            let synth = facts
                .synthesized
                .as_ref()
                .expect("the twin was synthesized");
            assert!(synth.coverage.programs > 0, "{twin}: {:?}", synth.coverage);
            assert!(
                synth.findings.is_empty(),
                "seed {seed}: {twin} must pass: {:?}",
                synth.findings
            );
            assert!(
                synth.patterns.iter().any(|p| p.outcome == "passed"),
                "{twin}: {:?}",
                synth.patterns
            );
        }
        for control in CONTROLS {
            let synth = stressed(&report, control)
                .synthesized
                .as_ref()
                .expect("the control was synthesized");
            assert!(
                synth.findings.is_empty(),
                "seed {seed}: {control}'s examples conflict on one thread too, no race: {:?}",
                synth.findings
            );
        }
    }
}
