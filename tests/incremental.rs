//! Incremental publication (issue 23): `scan --reuse OLD` takes unchanged distributions' probe
//! and stress results from an earlier report and runs only what changed; `merge --previous`
//! and `diff` of two matrices say what became ready, regressed, or is new. A real venv of real
//! wheels, probed and stressed in the provisioned free-threaded interpreter.

mod support;

use std::path::{Path, PathBuf};

use ftaudit_model::{Matrix, Report};
use support::*;

/// Light stress settings: the point is that stress results are carried over, not the figures.
const STRESS: &[&str] = &[
    "--stress",
    "--executors",
    "threads",
    "--workers",
    "1,2",
    "--repeats",
    "1",
    "--target-seconds",
    "0.05",
    "--no-synthesized",
];

fn save(path: &Path, report: &Report) -> PathBuf {
    std::fs::write(path, serde_json::to_vec(report).unwrap()).unwrap();
    path.to_path_buf()
}

fn owned_by(file: &ftaudit_model::NativeFile, dist: &str) -> bool {
    file.distribution
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case(dist))
}

/// Each of the distribution's files with its probe and stress results (never empty).
fn results(report: &Report, dist: &str) -> Vec<String> {
    let out: Vec<String> = report
        .files
        .iter()
        .filter(|f| owned_by(f, dist))
        .map(|f| {
            format!(
                "{} {} {}",
                f.path,
                serde_json::to_string(&f.dynamic).unwrap(),
                serde_json::to_string(&f.stress).unwrap()
            )
        })
        .collect();
    assert!(!out.is_empty(), "no files of {dist}");
    out
}

fn merge(args: &[&Path], previous: Option<&Path>) -> Matrix {
    match previous {
        Some(p) => merge_matrix(args, &["--previous".as_ref(), p.as_os_str()]),
        None => merge_matrix(args, &[]),
    }
}

#[test]
fn a_rescan_reuses_what_did_not_change_and_reruns_what_did() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = venv_of(tmp.path(), &["markupsafe-", "msgpack-", "frozenlist-"]);
    let (_, first) = scan_json(STRESS, &venv);
    assert!(first.stages.stress.is_some(), "{:?}", first.stages);
    let first_path = save(&tmp.path().join("first.json"), &first);
    let reuse = ["--reuse", first_path.to_str().unwrap()];

    // Nothing changed: every result is the earlier one, and neither stage ran again.
    let (_, same) = scan_json(&[STRESS, &reuse[..]].concat(), &venv);
    let reused = same.stages.reused.as_ref().expect("stages.reused");
    assert_eq!(reused.refused, None);
    assert_eq!(
        (reused.distributions, reused.rescanned.len()),
        (3, 0),
        "{reused:?}"
    );
    assert_eq!(same.stages.dynamic, first.stages.dynamic, "no probe ran");
    assert_eq!(same.stages.stress, first.stages.stress, "no stress ran");
    for dist in ["markupsafe", "msgpack", "frozenlist"] {
        assert_eq!(results(&same, dist), results(&first, dist), "{dist}");
    }
    assert_eq!(same.summary, first.summary);
    let text = run(ftaudit()
        .arg("report")
        .arg(save(&tmp.path().join("same.json"), &same)));
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("reuse: 3 distribution(s)"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // msgpack's binary changed (a byte appended: a rebuilt wheel) and frozenlist is named:
    // those two run again, markupsafe's results stay.
    let site = PathBuf::from(sysconfig(
        &venv.join("bin/python"),
        "sysconfig.get_path('purelib')",
    ));
    let msgpack_so = first
        .files
        .iter()
        .find(|f| owned_by(f, "msgpack") && f.module_name.is_some())
        .expect("msgpack has a module")
        .path
        .clone();
    let mut bytes = std::fs::read(site.join(&msgpack_so)).unwrap();
    bytes.push(0);
    std::fs::write(site.join(&msgpack_so), bytes).unwrap();
    let (_, changed) = scan_json(
        &[STRESS, &reuse[..], &["--rescan", "frozenlist"][..]].concat(),
        &venv,
    );
    let reused = changed.stages.reused.as_ref().expect("stages.reused");
    assert_eq!(reused.distributions, 1, "{reused:?}");
    let why = |d: &str| {
        reused
            .rescanned
            .iter()
            .find(|r| r.distribution == d)
            .map(|r| r.reason.clone())
            .unwrap_or_default()
    };
    assert!(why("msgpack").contains("native files differ"), "{reused:?}");
    assert!(why("frozenlist").contains("--rescan"), "{reused:?}");
    assert_eq!(
        results(&changed, "markupsafe"),
        results(&first, "markupsafe")
    );
    let fresh = changed.stages.dynamic.as_ref().expect("a probe ran");
    assert_ne!(
        Some(&fresh.elapsed_seconds),
        first.stages.dynamic.as_ref().map(|d| &d.elapsed_seconds),
        "the probe ran again for the changed ones"
    );
    for dist in ["msgpack", "frozenlist"] {
        let file = changed
            .files
            .iter()
            .find(|f| owned_by(f, dist) && f.module_name.is_some())
            .unwrap();
        assert!(
            file.dynamic.as_ref().is_some_and(|d| d.import.is_ok()),
            "{dist} was imported again"
        );
        assert!(file.stress.is_some(), "{dist} was stressed again");
    }

    // A report of another ftaudit version stands for nothing.
    let mut older = first.clone();
    older.tool.version = "0.0.1".into();
    let older_path = save(&tmp.path().join("older.json"), &older);
    let (_, refused) = scan_json(&["--reuse", older_path.to_str().unwrap()], &venv);
    let reused = refused.stages.reused.as_ref().unwrap();
    assert!(
        reused.refused.as_deref().unwrap_or("").contains("0.0.1"),
        "{reused:?}"
    );
    assert_eq!(reused.distributions, 0);

    // The publication against the previous one: nothing regressed between the two scans, and
    // the changes are in the matrix and in `diff`.
    let old_matrix = merge(&[&first_path], None);
    let old_matrix_path = tmp.path().join("old-matrix.json");
    std::fs::write(&old_matrix_path, serde_json::to_vec(&old_matrix).unwrap()).unwrap();
    let changed_path = save(&tmp.path().join("changed.json"), &changed);
    let new_matrix = merge(&[&changed_path], Some(&old_matrix_path));
    let changes = new_matrix.changes.as_ref().expect("changes");
    assert_eq!(
        changes.previous_generated_at,
        old_matrix.provenance.generated_at
    );
    assert!(
        changes.columns.iter().all(|c| c.regressed.is_empty()),
        "{changes:?}"
    );
    let new_matrix_path = tmp.path().join("new-matrix.json");
    std::fs::write(&new_matrix_path, serde_json::to_vec(&new_matrix).unwrap()).unwrap();
    let out = run(ftaudit()
        .arg("diff")
        .arg(&old_matrix_path)
        .arg(&new_matrix_path));
    assert_eq!(out.status.code(), Some(0), "nothing regressed");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("since "));
    // A package that was ready and is gone from the new matrix is listed as gone.
    let without = merge(
        &[&save(&tmp.path().join("empty.json"), &{
            let mut r = changed.clone();
            r.files.retain(|f| !owned_by(f, "markupsafe"));
            r
        })],
        Some(&old_matrix_path),
    );
    let gone: Vec<&str> = without
        .changes
        .as_ref()
        .unwrap()
        .columns
        .iter()
        .flat_map(|c| c.gone.iter().map(|g| g.distribution.as_str()))
        .collect();
    assert_eq!(gone, ["MarkupSafe"], "{:?}", without.changes);
}
