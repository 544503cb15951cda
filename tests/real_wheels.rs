//! Real wheels, imported: for every module of every real venv (the demo venv, and the pinned
//! linux set where it is its own dependency closure), ftaudit's probe says what CPython itself
//! says in a plain interpreter run: which modules need the GIL (`-v` prints "# loading module
//! 'X', which requires the GIL"), whether the import succeeds, and whether an isolated
//! subinterpreter can import it (fixtures/tools/cpython_evidence.py, no ftaudit code).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::{DynamicFacts, GilDeclaration, ImportOutcome, Report};
use support::*;

/// $FTAUDIT_REAL_VENVS (paths separated by ':'), set by scripts/test.sh; else the demo venv.
fn real_venvs() -> Vec<PathBuf> {
    match std::env::var("FTAUDIT_REAL_VENVS") {
        Ok(list) if !list.is_empty() => list.split(':').map(PathBuf::from).collect(),
        _ => vec![demo_venv().to_path_buf()],
    }
}

/// "ok", the exception's type name, or how the probe failed to get an answer.
fn outcome_word(outcome: &ImportOutcome) -> String {
    match outcome {
        ImportOutcome::Ok => "ok".into(),
        ImportOutcome::Error { exception, .. } => exception.clone(),
        other => format!("{other:?}"),
    }
}

struct CpythonEvidence {
    needs_gil: BTreeSet<String>,
    import: BTreeMap<String, String>,
    isolated: BTreeMap<String, Option<String>>,
}

fn cpython_evidence(venv: &Path, modules: &[&str]) -> CpythonEvidence {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("modules.txt");
    let results = dir.path().join("results.jsonl");
    std::fs::write(&list, modules.join("\n")).unwrap();
    let out = Command::new(venv.join("bin/python"))
        .arg("-v")
        .arg(repo_root().join("fixtures/tools/cpython_evidence.py"))
        .arg(&list)
        .arg(&results)
        .env_remove("PYTHON_GIL")
        .output()
        .expect("the venv's python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the plain interpreter run failed ({}):\n{}",
        out.status,
        stderr.lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
    let needs_gil = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("# loading module '"))
        .filter_map(|l| l.strip_suffix("', which requires the GIL"))
        .map(str::to_string)
        .collect();
    let mut import = BTreeMap::new();
    let mut isolated = BTreeMap::new();
    for line in std::fs::read_to_string(&results).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let module = v["module"].as_str().unwrap().to_string();
        import.insert(module.clone(), v["import"].as_str().unwrap().to_string());
        isolated.insert(module, v["isolated"].as_str().map(str::to_string));
    }
    CpythonEvidence {
        needs_gil,
        import,
        isolated,
    }
}

fn check_venv(venv: &Path) -> Report {
    let (_, report) = scan_json(&[], venv);
    let run = report.stages.dynamic.as_ref().unwrap_or_else(|| {
        panic!(
            "{} was not probed: {:?}",
            venv.display(),
            report.stages.dynamic_skipped
        )
    });
    eprintln!(
        "{}: probed on CPython {}{} ({} modules)",
        venv.display(),
        run.interpreter.version,
        run.interpreter.abiflags,
        report.files.iter().filter(|f| f.dynamic.is_some()).count()
    );
    let probed: Vec<&DynamicFacts> = report
        .files
        .iter()
        .filter_map(|f| f.dynamic.as_ref())
        .collect();
    assert!(
        probed.len() >= 30,
        "{}: a real venv has dozens of extension modules, got {}",
        venv.display(),
        probed.len()
    );
    let names: Vec<&str> = probed.iter().map(|d| d.module.as_str()).collect();
    let cpython = cpython_evidence(venv, &names);

    let ftaudit_needs_gil: BTreeSet<String> = probed
        .iter()
        .filter(|d| d.requires_gil == Some(true))
        .map(|d| d.module.clone())
        .collect();
    assert_eq!(
        ftaudit_needs_gil,
        cpython.needs_gil,
        "{}: modules that need the GIL",
        venv.display()
    );
    let ftaudit_import: BTreeMap<String, String> = probed
        .iter()
        .map(|d| (d.module.clone(), outcome_word(&d.import)))
        .collect();
    assert_eq!(
        ftaudit_import,
        cpython.import,
        "{}: import outcomes",
        venv.display()
    );
    let ftaudit_isolated: BTreeMap<String, Option<String>> = probed
        .iter()
        .map(|d| {
            let isolated = d
                .isolated_subinterpreter
                .as_ref()
                .filter(|_| d.import.is_ok());
            (d.module.clone(), isolated.map(outcome_word))
        })
        .collect();
    assert_eq!(
        ftaudit_isolated,
        cpython.isolated,
        "{}: isolated-subinterpreter outcomes",
        venv.display()
    );
    report
}

/// Issue 10: wherever the static pass decided a module's GIL declaration, the import agrees, and
/// it decides at least 97% of the modules the probe answered for.
fn check_static_against_import(venv: &Path, report: &Report) {
    let (mut decided, mut answered) = (0usize, 0usize);
    let mut disagreements = Vec::new();
    for f in &report.files {
        let (Some(facts), Some(d)) = (f.static_facts.as_ref(), f.dynamic.as_ref()) else {
            continue;
        };
        let Some(requires_gil) = d.requires_gil else {
            continue;
        };
        for m in facts.modules.iter().filter(|m| m.alias_of.is_none()) {
            answered += 1;
            let declared_used = match m.gil.value {
                GilDeclaration::Used => true,
                GilDeclaration::NotUsed => false,
                GilDeclaration::Undeterminable => continue,
            };
            decided += 1;
            if declared_used != requires_gil {
                disagreements.push(format!(
                    "{} ({}): static {:?} ({}), import requires_gil={requires_gil}",
                    f.path, m.name, m.gil.value, m.gil.evidence
                ));
            }
        }
    }
    eprintln!(
        "{}: static pass decided {decided} of {answered} imported modules ({:.1}%), {} disagreements",
        venv.display(),
        100.0 * decided as f64 / answered.max(1) as f64,
        disagreements.len()
    );
    assert!(
        disagreements.is_empty(),
        "{}: static and import verdicts disagree:\n{}",
        venv.display(),
        disagreements.join("\n")
    );
    assert!(
        decided * 100 >= answered * 97,
        "{}: the static pass decided only {decided} of {answered} modules",
        venv.display()
    );
}

#[test]
fn real_wheels_agree_with_cpythons_own_evidence() {
    for venv in real_venvs() {
        let report = check_venv(&venv);
        check_static_against_import(&venv, &report);
        // Packages whose modules need the GIL are named, and the binaries say so too.
        for f in report.files.iter().filter(|f| {
            f.dynamic
                .as_ref()
                .is_some_and(|d| d.requires_gil == Some(true))
        }) {
            assert!(codes(f).contains(&"gil-reenabled"), "{}", f.path);
        }
    }
}
