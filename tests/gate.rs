//! ftaudit as a CI gate (issue 12): exit statuses, the policy file and its validation, the
//! allowlist and its expiry, baselines and their fingerprints. Real wheels from the pinned
//! linux-cp314t set: markupsafe (clean), lxml (modules that need the GIL).

mod support;

use std::path::{Path, PathBuf};

use ftaudit_model::{FindingCode, Report, Severity, SuppressedBy};
use support::*;

fn wheel(prefix: &str) -> PathBuf {
    let dir = wheel_sets_dir().join("linux-cp314t");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} wheel in {}", dir.display()))
}

/// A folder of copies of the named wheels.
fn wheels(dir: &Path, prefixes: &[&str]) -> PathBuf {
    let out = dir.join("wheels");
    std::fs::create_dir_all(&out).unwrap();
    for p in prefixes {
        let w = wheel(p);
        std::fs::copy(&w, out.join(w.file_name().unwrap())).unwrap();
    }
    out
}

/// Runs `ftaudit scan --format json` in `cwd` (where a policy file may be found).
fn gate(cwd: &Path, target: &Path, args: &[&str]) -> (i32, Report) {
    let mut cmd = ftaudit();
    cmd.current_dir(cwd);
    scan_json_with(&mut cmd, args, target)
}

/// The exit status and stderr of a scan that is expected to fail before producing a report.
fn refused(cwd: &Path, target: &Path, args: &[&str]) -> (i32, String) {
    let out = run(ftaudit()
        .current_dir(cwd)
        .arg("scan")
        .arg(target)
        .args(args));
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn active_errors(report: &Report) -> Vec<(String, FindingCode)> {
    report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .chain(&report.policy.findings)
        .filter(|f| f.suppressed.is_none() && f.severity == Severity::Error)
        .map(|f| (f.fingerprint.clone(), f.code))
        .collect()
}

#[test]
fn exit_statuses_follow_the_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = wheels(&tmp.path().join("clean"), &["markupsafe-"]);
    let (code, report) = gate(tmp.path(), &clean, &[]);
    assert_eq!((code, report.summary.errors), (0, 0), "markupsafe is clean");

    let dirty = wheels(&tmp.path().join("dirty"), &["markupsafe-", "lxml-"]);
    let (code, report) = gate(tmp.path(), &dirty, &[]);
    assert_eq!(code, 1, "lxml's modules need the GIL");
    assert!(
        active_errors(&report)
            .iter()
            .all(|(fp, c)| *c == FindingCode::GilRequired
                && fp.starts_with("gil-required/lxml/lxml."))
    );

    // Something unreadable: 2, unless the policy accepts an incomplete report.
    let broken = wheels(&tmp.path().join("broken"), &["markupsafe-"]);
    std::fs::write(
        broken.join("cut-1.0-cp314-cp314t-manylinux_2_28_x86_64.whl"),
        b"PK\x03\x04 cut short",
    )
    .unwrap();
    let (code, report) = gate(tmp.path(), &broken, &[]);
    assert_eq!(code, 2);
    assert!(report.summary.incomplete && !report.summary.incomplete_allowed);
    let allow_dir = tmp.path().join("allow-incomplete");
    std::fs::create_dir_all(&allow_dir).unwrap();
    std::fs::write(allow_dir.join("ftaudit.toml"), "incomplete = \"allow\"\n").unwrap();
    let (code, report) = gate(&allow_dir, &broken, &[]);
    assert_eq!(code, 0, "the policy allows it; nothing else is wrong");
    assert!(report.summary.incomplete && report.summary.incomplete_allowed);
    assert_eq!(
        report.policy.source.as_deref(),
        Some(allow_dir.join("ftaudit.toml").to_str().unwrap())
    );

    // A bad policy is a usage error: 3, before anything is scanned.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("ftaudit.toml"),
        "[levels]\ngil-required = \"deny\"\n\n[typo]\nx = 1\n",
    )
    .unwrap();
    let (code, stderr) = refused(&bad, &clean, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("ftaudit.toml") && stderr.contains("typo"),
        "{stderr}"
    );
}

#[test]
fn policy_errors_name_the_key_and_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = wheels(tmp.path(), &["markupsafe-"]);
    let cases: &[(&str, &str, &[&str])] = &[
        ("ftaudit.toml", "[levels]\ngil-requird = \"deny\"\n", &["levels", "gil-requird", "known codes"]),
        ("ftaudit.toml", "[levels]\ngil-required = \"block\"\n", &["ftaudit.toml", "block"]),
        ("ftaudit.toml", "[[allow]]\ndistribution = \"lxml\"\ncode = \"gil-required\"\nreason = \"\"\n", &["allow[0].reason", "needs a reason"]),
        ("ftaudit.toml", "[[allow]]\ndistribution = \"lxml\"\ncode = \"gil-required\"\nreason = \"r\"\nexpires = \"next spring\"\n", &["allow[0].expires", "not a date"]),
        ("ftaudit.toml", "[[allow]]\ndistribution = \"lxml\"\ncode = \"gil-required\"\n", &["reason"]),
        ("ftaudit.toml", "[[override]]\nlevels = { gil-required = \"warn\" }\n", &["override[0]", "distribution"]),
        ("ftaudit.toml", "incomplete = \"warn\"\n", &["incomplete"]),
        ("pyproject.toml", "[project]\nname = \"x\"\n\n[tool.ftaudit]\nlevel = {}\n", &["pyproject.toml [tool.ftaudit]", "level"]),
    ];
    for (i, (name, text, wanted)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
        let (code, stderr) = refused(&dir, &clean, &[]);
        assert_eq!(code, 3, "case {i}: {stderr}");
        for w in *wanted {
            assert!(stderr.contains(w), "case {i}: {w:?} missing from: {stderr}");
        }
    }
    // An explicit --policy that does not exist is named too.
    let (code, stderr) = refused(tmp.path(), &clean, &["--policy", "nowhere.toml"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("nowhere.toml"), "{stderr}");
}

#[test]
fn levels_overrides_and_the_allowlist_with_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let dirty = wheels(tmp.path(), &["markupsafe-", "lxml-"]);
    let in_file = |name: &str, text: &str| {
        let dir = tempfile::tempdir_in(tmp.path()).unwrap().keep();
        std::fs::write(dir.join(name), text).unwrap();
        gate(&dir, &dirty, &[])
    };
    let policy = |text: &str| in_file("ftaudit.toml", text);
    // An override for lxml's objectify only: the rest of lxml still fails the gate.
    let (code, report) = policy("[[override]]\ndistribution = \"LXML\"\nmodule = \"lxml.objectify\"\nlevels = { gil-required = \"warn\" }\n");
    assert_eq!(code, 1);
    let objectify = file(&report, "lxml.objectify");
    let f = objectify
        .findings
        .iter()
        .find(|f| f.code == FindingCode::GilRequired)
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(active_errors(&report)
        .iter()
        .all(|(fp, _)| !fp.ends_with("lxml.objectify")));

    // Allowlisted until a date to come: passes, and the JSON keeps every finding with its reason.
    let (code, report) = policy("[[allow]]\ndistribution = \"lxml\"\ncode = \"gil-required\"\nreason = \"lxml 6.2 declares it\"\nexpires = 2999-12-31\n");
    assert_eq!(code, 0, "{:?}", active_errors(&report));
    let kept: Vec<_> = report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.code == FindingCode::GilRequired)
        .collect();
    assert!(!kept.is_empty());
    for f in kept {
        let s = f.suppressed.as_ref().expect("suppressed, not dropped");
        assert_eq!(
            (s.by, s.reason.as_str()),
            (SuppressedBy::Allowlist, "lxml 6.2 declares it")
        );
    }
    assert!(report.summary.suppressed > 0);

    // The same entry after its date: its findings count again, and the expiry is a finding.
    let (code, report) = policy("[[allow]]\ndistribution = \"lxml\"\ncode = \"gil-required\"\nreason = \"lxml 6.2 declares it\"\nexpires = \"2020-06-30\"\n");
    assert_eq!(code, 1);
    let expired = &report.policy.findings;
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].code, FindingCode::AllowlistExpired);
    assert!(
        expired[0].message.contains("2020-06-30"),
        "{}",
        expired[0].message
    );
    assert!(active_errors(&report)
        .iter()
        .any(|(_, c)| *c == FindingCode::GilRequired));

    // Allowing the code everywhere suppresses it by policy; here from pyproject.toml, whose
    // other tables are not ftaudit's business.
    let (code, report) = in_file(
        "pyproject.toml",
        "[project]\nname = \"app\"\n\n[tool.ruff]\nline-length = 100\n\n[tool.ftaudit.levels]\ngil-required = \"allow\"\n",
    );
    assert!(report
        .policy
        .source
        .as_deref()
        .is_some_and(|s| s.ends_with("pyproject.toml [tool.ftaudit]")));
    assert_eq!(code, 0);
    assert!(report
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.code == FindingCode::GilRequired)
        .all(|f| f.suppressed.as_ref().map(|s| s.by) == Some(SuppressedBy::Policy)));
}

#[test]
fn a_baseline_fails_only_on_new_findings_and_survives_another_machine() {
    let tmp = tempfile::tempdir().unwrap();
    // The baseline is made from lxml alone, in one folder...
    let before = wheels(&tmp.path().join("before"), &["lxml-"]);
    let (code, old) = gate(tmp.path(), &before, &[]);
    assert_eq!(code, 1);
    let baseline = tmp.path().join("baseline.json");
    std::fs::write(&baseline, serde_json::to_vec(&old).unwrap()).unwrap();
    for f in old.files.iter().flat_map(|f| &f.findings) {
        assert!(!f.fingerprint.is_empty());
        assert!(
            !f.fingerprint.contains(tmp.path().to_str().unwrap()),
            "no paths of this machine: {}",
            f.fingerprint
        );
        assert!(
            !f.fingerprint.contains("0x"),
            "no addresses: {}",
            f.fingerprint
        );
    }

    // ...and applied to a scan of copies elsewhere: the same findings, so nothing new fails.
    let after = wheels(
        &tmp.path().join("elsewhere/after"),
        &["lxml-", "markupsafe-"],
    );
    let (code, new) = gate(
        tmp.path(),
        &after,
        &["--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{:?}", active_errors(&new));
    assert_eq!(new.policy.baseline.as_deref(), baseline.to_str());
    assert!(new
        .files
        .iter()
        .flat_map(|f| &f.findings)
        .filter(|f| f.severity == Severity::Error)
        .all(|f| f.suppressed.as_ref().map(|s| s.by) == Some(SuppressedBy::Baseline)));

    // A new problem (a package that needs the GIL and was not there before) fails the gate.
    let grown = wheels(&tmp.path().join("grown"), &["lxml-", "fonttools-"]);
    let (code, new) = gate(
        tmp.path(),
        &grown,
        &["--baseline", baseline.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        active_errors(&new)
            .iter()
            .all(|(fp, _)| fp.starts_with("gil-required/fonttools/")),
        "{:?}",
        active_errors(&new)
    );

    // A FIFO given as the baseline or the policy is refused, never opened (it would block).
    let fifo = tmp.path().join("fifo.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for flag in ["--baseline", "--policy"] {
        let (code, stderr) = refused(tmp.path(), &grown, &[flag, fifo.to_str().unwrap()]);
        assert_eq!(code, 3, "{flag}: {stderr}");
        assert!(
            stderr.contains("fifo.json: not a regular file"),
            "{flag}: {stderr}"
        );
    }

    // A baseline that is not a report is a usage error.
    std::fs::write(
        tmp.path().join("junk.json"),
        b"{\"schema_version\": \"7.0\"}",
    )
    .unwrap();
    let (code, stderr) = refused(
        tmp.path(),
        &grown,
        &["--baseline", tmp.path().join("junk.json").to_str().unwrap()],
    );
    assert_eq!(code, 3);
    assert!(
        stderr.contains("junk.json") && stderr.contains("7.0"),
        "{stderr}"
    );
}
