//! The GitHub Action (action.yml), run step by step as a runner runs a composite action: each
//! step's `env` with its `${{ inputs.* }}` / `${{ steps.*.outputs.* }}` expressions expanded, its
//! `run` under `bash --noprofile --norc -eo pipefail`, with `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
//! `RUNNER_TEMP` and `GITHUB_ACTION_PATH` set, stopping at the first step that fails. ftaudit is
//! installed from the wheel scripts/test.sh built ($FTAUDIT_WHEEL).

#[path = "../crates/ftaudit-lock/tests/support/mod.rs"]
mod lock_support;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use support::*;

#[derive(Deserialize)]
struct Action {
    inputs: BTreeMap<String, Input>,
    outputs: BTreeMap<String, ActionOutput>,
    runs: Runs,
}

#[derive(Deserialize)]
struct Input {
    default: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
struct ActionOutput {
    value: String,
}

#[derive(Deserialize)]
struct Runs {
    using: String,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    name: String,
    id: String,
    shell: String,
    run: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// What one run of the action left behind.
struct Ran {
    /// Exit status of each step that ran, by id.
    statuses: Vec<(String, i32)>,
    steps: BTreeMap<String, BTreeMap<String, String>>,
    outputs: BTreeMap<String, String>,
    summary: String,
    stdout: String,
    runner_temp: PathBuf,
    _dir: tempfile::TempDir,
}

fn load_action() -> Action {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    serde_norway::from_str(&text).expect("action.yml parses")
}

/// `${{ inputs.x }}`, `${{ steps.id.outputs.x }}`, `${{ github.action_path }}`: the contexts the
/// action may use; anything else fails the test, so the action stays runnable here.
fn expand(
    text: &str,
    inputs: &BTreeMap<String, String>,
    steps: &BTreeMap<String, BTreeMap<String, String>>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let parts: Vec<&str> = expr.split('.').collect();
        let value = match parts.as_slice() {
            ["inputs", name] => inputs
                .get(*name)
                .cloned()
                .unwrap_or_else(|| panic!("no input {name}")),
            ["steps", id, "outputs", name] => steps
                .get(*id)
                .and_then(|o| o.get(*name))
                .cloned()
                .unwrap_or_default(),
            ["github", "action_path"] => repo_root().display().to_string(),
            _ => panic!("action.yml uses an expression this runner stand-in does not know: {expr}"),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `name=value` lines and `name<<DELIMITER` blocks, as GitHub reads `$GITHUB_OUTPUT`.
fn read_outputs(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_string(), value.to_string());
        }
    }
    outputs
}

fn run_action(with: &[(&str, &str)]) -> Ran {
    let action = load_action();
    assert_eq!(action.runs.using, "composite");
    let mut inputs: BTreeMap<String, String> = action
        .inputs
        .iter()
        .map(|(name, input)| (name.clone(), input.default.clone().unwrap_or_default()))
        .collect();
    for (name, value) in with {
        assert!(inputs.contains_key(*name), "action.yml has no input {name}");
        inputs.insert(name.to_string(), value.to_string());
    }
    for (name, input) in &action.inputs {
        assert!(
            !input.required || !inputs[name].is_empty(),
            "input {name} is required"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let runner_temp = dir.path().join("runner-temp");
    let home = dir.path().join("home");
    let workspace = dir.path().join("workspace");
    let bin = dir.path().join("runner-bin");
    for d in [&runner_temp, &home, &workspace, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    // The runner's python3 (any Python with venv and pip): the machine's standard 3.14.
    let tool_python = std::env::var_os("FTAUDIT_TOOL_PYTHON")
        .map(PathBuf::from)
        .expect("FTAUDIT_TOOL_PYTHON is not set (scripts/test.sh)");
    std::os::unix::fs::symlink(&tool_python, bin.join("python3")).unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "").unwrap();

    let mut steps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut statuses = Vec::new();
    let mut stdout = String::new();
    for step in &action.runs.steps {
        assert_eq!(step.shell, "bash", "{}", step.name);
        let output_file = dir.path().join(format!("output-{}", step.id));
        std::fs::write(&output_file, "").unwrap();
        let script = dir.path().join(format!("step-{}.sh", step.id));
        std::fs::write(&script, expand(&step.run, &inputs, &steps)).unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script)
            .current_dir(&workspace)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("HOME", &home)
            .env("LANG", "C.UTF-8")
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_WORKSPACE", &workspace)
            .env("GITHUB_ACTION_PATH", repo_root())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary);
        for (name, value) in &step.env {
            command.env(name, expand(value, &inputs, &steps));
        }
        let out = command.output().unwrap();
        eprintln!(
            "step {}: {}\n{}",
            step.id,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout.push_str(&String::from_utf8_lossy(&out.stdout));
        let status = out.status.code().unwrap_or(-1);
        statuses.push((step.id.clone(), status));
        steps.insert(step.id.clone(), read_outputs(&output_file));
        if status != 0 {
            break;
        }
    }
    let outputs = action
        .outputs
        .iter()
        .map(|(name, output)| (name.clone(), expand(&output.value, &inputs, &steps)))
        .collect();
    Ran {
        statuses,
        steps,
        outputs,
        summary: std::fs::read_to_string(&summary).unwrap(),
        stdout,
        runner_temp,
        _dir: dir,
    }
}

fn wheel() -> String {
    std::env::var("FTAUDIT_WHEEL")
        .expect("FTAUDIT_WHEEL is not set: scripts/test.sh builds the wheel")
}

/// The demo venv gated as a workflow would: the same exit status as ftaudit itself, the gate
/// failing with it, the summary, annotations, SARIF and counts written, the venv untouched.
#[test]
fn the_action_gates_a_venv_and_writes_what_a_job_shows() {
    let venv = demo_venv();
    let before = fingerprint(venv);
    let direct = run(ftaudit().args(["scan", "--format", "json"]).arg(venv));
    let direct_report: ftaudit_model::Report = serde_json::from_slice(&direct.stdout).unwrap();
    let expected = direct.status.code().unwrap();
    assert_ne!(expected, 0, "the demo venv has findings");

    let venv_arg = venv.to_string_lossy().into_owned();
    let wheel = wheel();
    let ran = run_action(&[
        ("target", &venv_arg),
        ("package", &wheel),
        ("formats", "sarif, junit"),
    ]);
    let ids: Vec<&str> = ran.statuses.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["install", "scan", "report", "gate"]);
    assert_eq!(
        ran.statuses[..3].iter().map(|s| s.1).collect::<Vec<_>>(),
        [0, 0, 0]
    );
    assert_eq!(
        ran.statuses[3].1, expected,
        "the gate fails with ftaudit's own status"
    );
    assert_eq!(ran.outputs["exit-code"], expected.to_string());

    // Installed into the runner's temp folder, not the audited venv.
    let ftaudit_bin = PathBuf::from(&ran.steps["install"]["ftaudit"]);
    assert!(
        ftaudit_bin.starts_with(&ran.runner_temp),
        "{}",
        ftaudit_bin.display()
    );
    assert_eq!(
        fingerprint(venv),
        before,
        "the action changed the audited venv"
    );

    let report: ftaudit_model::Report =
        serde_json::from_slice(&std::fs::read(&ran.outputs["report"]).unwrap()).unwrap();
    assert_eq!(verdicts(&report), verdicts(&direct_report));
    assert_eq!(ran.outputs["errors"], report.summary.errors.to_string());
    assert_eq!(ran.outputs["warnings"], report.summary.warnings.to_string());
    assert_eq!(
        ran.outputs["incomplete"],
        report.summary.incomplete.to_string()
    );
    assert_eq!(ran.outputs["readiness"], "free_threading");

    assert!(ran.summary.contains("ftaudit"), "{}", ran.summary);
    assert!(
        ran.summary.contains('|'),
        "the summary has its table: {}",
        ran.summary
    );
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.starts_with("::error") || l.starts_with("::warning")),
        "no annotation in {}",
        ran.stdout
    );
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ran.outputs["sarif"]).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
    let junit = std::fs::read_to_string(&ran.steps["report"]["junit"]).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
}

/// `probe: false` runs the static pass only; `fail: false` reports without failing the job.
#[test]
fn the_action_can_report_without_failing() {
    let venv_arg = demo_venv().to_string_lossy().into_owned();
    let wheel = wheel();
    let ran = run_action(&[
        ("target", &venv_arg),
        ("package", &wheel),
        ("probe", "false"),
        ("fail", "false"),
        ("formats", ""),
        ("annotations", "false"),
    ]);
    assert!(
        ran.statuses.iter().all(|(_, s)| *s == 0),
        "{:?}",
        ran.statuses
    );
    assert_ne!(ran.outputs["exit-code"], "0");
    let report: ftaudit_model::Report =
        serde_json::from_slice(&std::fs::read(&ran.outputs["report"]).unwrap()).unwrap();
    assert!(report.stages.dynamic.is_none(), "static only");
    assert!(ran.outputs["sarif"].is_empty());
    assert!(!ran.stdout.contains("::error"), "annotations were off");
}

/// A lock file is audited from the index before install (`python` picks the interpreter);
/// extra scan arguments pass through `args`.
#[test]
fn the_action_audits_a_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let (world, site) = lock_support::world::world(true, true);
    let server = lock_support::Server::start(site);
    let lock = dir.path().join("requirements.txt");
    std::fs::write(&lock, lock_support::world::requirements(&world)).unwrap();
    let lock_arg = lock.to_string_lossy().into_owned();
    let args = format!(
        "--index-url {} --platform manylinux_2_28_x86_64",
        server.index()
    );
    let wheel = wheel();
    let ran = run_action(&[
        ("target", &lock_arg),
        ("package", &wheel),
        ("python", "3.14t"),
        ("args", &args),
        ("fail", "false"),
    ]);
    assert!(
        ran.statuses.iter().all(|(_, s)| *s == 0),
        "{:?}",
        ran.statuses
    );
    let report: ftaudit_model::Report =
        serde_json::from_slice(&std::fs::read(&ran.outputs["report"]).unwrap()).unwrap();
    assert_eq!(report.target.kind, ftaudit_model::TargetKind::Lock);
    let audit = report.stages.lock.as_ref().expect("the lock section");
    assert!(
        audit.targets.iter().any(|t| t.name.starts_with("cp314t-")),
        "{:?}",
        audit.targets
    );
    assert!(ran.summary.contains("ftaudit"));
}
