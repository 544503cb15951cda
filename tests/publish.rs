//! Publishing (issue 12): `--shard K/N` splits a scan so that the shards' union is the whole
//! scan, `merge` builds one matrix across reports and shows conflicts, `diff` names what
//! changed, `report` re-renders a saved report. Real wheel sets, read statically.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use ftaudit_model::{Matrix, Report};
use support::*;

fn save(dir: &Path, name: &str, report: &Report) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(report).unwrap()).unwrap();
    path
}

/// (file path, module verdicts, finding fingerprints) of every file: what a shard must keep.
fn content(report: &Report) -> BTreeSet<String> {
    report
        .files
        .iter()
        .map(|f| {
            let gil: Vec<String> = f
                .static_facts
                .iter()
                .flat_map(|s| &s.modules)
                .map(|m| format!("{}={:?}", m.name, m.gil.value))
                .collect();
            let mut fps: Vec<&str> = f.findings.iter().map(|x| x.fingerprint.as_str()).collect();
            fps.sort_unstable();
            format!(
                "{} {} {}",
                f.location.rsplit('!').next().unwrap_or(""),
                gil.join(","),
                fps.join(",")
            )
        })
        .collect()
}

fn merge(paths: &[&Path]) -> Matrix {
    merge_matrix(paths, &[])
}

#[test]
fn the_union_of_the_shards_is_the_whole_scan_and_merge_joins_them() {
    let set = wheel_sets_dir().join("linux-cp314t");
    let (_, whole) = scan_json(&[], &set);
    let tmp = tempfile::tempdir().unwrap();
    let mut union = BTreeSet::new();
    let mut dists = Vec::new();
    let mut paths = Vec::new();
    for k in 1..=3 {
        let (_, shard) = scan_json(&["--shard", &format!("{k}/3")], &set);
        assert!(!shard.files.is_empty(), "shard {k} of 3 is empty");
        let part = content(&shard);
        assert!(
            union.is_disjoint(&part),
            "shard {k} overlaps an earlier one"
        );
        union.extend(part);
        dists.extend(shard.distributions.iter().map(|d| d.name.clone()));
        paths.push(save(tmp.path(), &format!("shard{k}.json"), &shard));
    }
    assert_eq!(
        union,
        content(&whole),
        "the shards together are the unsharded scan"
    );
    dists.sort();
    let mut all: Vec<String> = whole.distributions.iter().map(|d| d.name.clone()).collect();
    all.sort();
    assert_eq!(dists, all);

    // Sharding is deterministic: the same shard twice is the same.
    let (_, again) = scan_json(&["--shard", "2/3"], &set);
    assert_eq!(
        content(&again),
        content(&Report::from_json(&std::fs::read_to_string(&paths[1]).unwrap()).unwrap())
    );

    // Merged, the shards fill one column with every module of the whole scan, no conflicts.
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let matrix = merge(&refs);
    let whole_path = save(tmp.path(), "whole.json", &whole);
    let single = merge(&[&whole_path]);
    assert_eq!(matrix.columns, single.columns);
    assert_eq!(matrix.rows.len(), single.rows.len());
    assert!(matrix
        .rows
        .iter()
        .flat_map(|r| &r.cells)
        .all(|c| c.conflicts.is_empty()));
    assert_eq!(matrix.sources.len(), 3);

    // A bad --shard is a usage error.
    let out = run(ftaudit().arg("scan").arg(&set).args(["--shard", "4/3"]));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("K/N"));
}

#[test]
fn merge_builds_a_matrix_across_platforms_and_shows_conflicts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for set in ["linux-cp314t", "macos-arm64", "windows-amd64"] {
        let (_, report) = scan_json(&[], &wheel_sets_dir().join(set));
        paths.push(save(tmp.path(), &format!("{set}.json"), &report));
    }
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let matrix = merge(&refs);
    for column in [
        "cp314t static, linux x86_64",
        "cp314t static, macos arm64",
        "cp314t static, windows x86_64",
    ] {
        assert!(
            matrix.columns.iter().any(|c| c == column),
            "{column} missing from {:?}",
            matrix.columns
        );
    }
    let speedups = matrix
        .rows
        .iter()
        .find(|r| r.module == "markupsafe._speedups")
        .expect("markupsafe in the matrix");
    assert_eq!(speedups.cells.len(), 3, "one cell per platform");
    assert!(speedups.cells.iter().all(|c| c.gil == "gil_free"));
    assert_eq!(
        matrix.sources[1].provenance.host,
        format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
    );

    // Two reports that disagree about a cell: the cell shows both, and the worse answer.
    let (_, report) = scan_json(&[], &wheel_sets_dir().join("macos-arm64"));
    let mut doctored: serde_json::Value = serde_json::to_value(&report).unwrap();
    for file in doctored["files"].as_array_mut().unwrap() {
        if file["module_name"] == "markupsafe._speedups" {
            file["static_facts"]["modules"][0]["gil"]["value"] = "used".into();
        }
    }
    let other = tmp.path().join("doctored.json");
    std::fs::write(&other, doctored.to_string()).unwrap();
    let matrix = merge(&[&paths[1], &other]);
    let cell = &matrix
        .rows
        .iter()
        .find(|r| r.module == "markupsafe._speedups")
        .unwrap()
        .cells[0];
    assert_eq!(cell.gil, "needs_gil");
    assert_eq!(cell.conflicts.len(), 2, "{:?}", cell.conflicts);
    assert!(cell.conflicts[0].contains("gil_free") && cell.conflicts[1].contains("needs_gil"));
}

#[test]
fn diff_names_what_changed_and_report_re_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let set = wheel_sets_dir().join("linux-cp314t");
    let copy = |prefix: &str| {
        let w = std::fs::read_dir(&set)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .unwrap();
        std::fs::copy(w.path(), wheels.join(w.file_name())).unwrap();
    };
    copy("markupsafe-");
    let (_, old) = scan_json(&[], &wheels);
    let old_path = save(tmp.path(), "old.json", &old);
    copy("lxml-");
    let (_, new) = scan_json(&[], &wheels);
    let new_path = save(tmp.path(), "new.json", &new);

    let out = run(ftaudit()
        .args(["diff", "--format", "json"])
        .arg(&old_path)
        .arg(&new_path));
    assert_eq!(out.status.code(), Some(1), "new findings are a regression");
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        d["new_modules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "lxml lxml.etree"),
        "{d}"
    );
    assert!(
        d["new_findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "gil-required/lxml/lxml.etree"),
        "{d}"
    );
    assert!(d["regressed"].as_array().unwrap().is_empty());

    let out = run(ftaudit().arg("diff").arg(&new_path).arg(&old_path));
    assert_eq!(
        out.status.code(),
        Some(0),
        "removing lxml regresses nothing"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("removed modules: ") && text.contains("resolved findings: "),
        "{text}"
    );

    // `report` renders a saved report in any format, with the scan's exit status.
    let out = run(ftaudit()
        .arg("report")
        .arg(&new_path)
        .args(["--format", "markdown"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("**Not ready**"));
    let out = run(ftaudit().arg("report").arg(tmp.path().join("missing.json")));
    assert_eq!(out.status.code(), Some(3));
    // A FIFO or a file that is not a report is named and refused, not waited on.
    let fifo = tmp.path().join("fifo.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::fs::write(tmp.path().join("notes.json"), b"{\"hello\": 1}").unwrap();
    for (file, says) in [
        ("fifo.json", "not a regular file"),
        ("notes.json", "not an ftaudit report"),
    ] {
        for cmd in [&["report"][..], &["merge"][..]] {
            let out = run(ftaudit().args(cmd).arg(tmp.path().join(file)));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{cmd:?} {file}: {stderr}");
            assert!(
                stderr.contains(file) && stderr.contains(says),
                "{cmd:?} {file}: {stderr}"
            );
        }
    }
}

/// The published lock audit (macOS arm64 and Windows amd64 wheels of the most-downloaded set,
/// read from PyPI): merged, each target is one column named by the lock's interpreter and the
/// target's platform, whatever ABI or architectures each binary in the chosen wheels holds
/// (universal2 wheels serve the arm64 target; a module built for another Python stays in its
/// wheel's column).
#[test]
fn a_lock_audit_gives_one_column_per_target() {
    let report = repo_root().join("reports/top-cp314t-macos-windows-lock.json");
    let matrix = merge(&[&report]);
    assert_eq!(
        matrix.columns,
        [
            "cp314t static, macos arm64",
            "cp314t static, windows x86_64"
        ]
    );
    assert!(matrix.packages.len() > 140, "{}", matrix.packages.len());
}
