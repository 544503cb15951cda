//! A publication against the previous one (`ftaudit merge --previous OLD`, `ftaudit diff` of two
//! matrices): per column, the packages whose verdict moved, and those that appeared or went.
//! Verdicts are compared as `merge` decided them in each matrix; nothing is re-derived.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use ftaudit_model::{
    ColumnChanges, Matrix, MatrixChanges, PackageChange, PackageState, PackageVerdict,
};

/// Column -> distribution (lower case) -> (name as written, state).
fn states(matrix: &Matrix) -> BTreeMap<&str, BTreeMap<String, (&str, PackageState)>> {
    let mut out: BTreeMap<&str, BTreeMap<String, (&str, PackageState)>> = BTreeMap::new();
    for package in &matrix.packages {
        for cell in &package.cells {
            out.entry(cell.column.as_str()).or_default().insert(
                package.distribution.to_lowercase(),
                (
                    package.distribution.as_str(),
                    PackageState {
                        version: cell.version.clone(),
                        verdict: cell.verdict,
                    },
                ),
            );
        }
    }
    out
}

/// How far a verdict is from ready: a move down this scale is a regression.
fn rank(verdict: PackageVerdict) -> u8 {
    match verdict {
        PackageVerdict::Ready => 0,
        PackageVerdict::CouldNotCheck => 1,
        PackageVerdict::NotReady => 2,
    }
}

pub fn matrix_changes(previous: &str, old: &Matrix, new: &Matrix) -> MatrixChanges {
    let (before, after) = (states(old), states(new));
    let columns: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let empty = BTreeMap::new();
    let mut out = MatrixChanges {
        previous: previous.to_string(),
        previous_generated_at: old.provenance.generated_at.clone(),
        columns: Vec::new(),
    };
    for column in columns {
        let (was, now) = (
            before.get(column).unwrap_or(&empty),
            after.get(column).unwrap_or(&empty),
        );
        let mut changes = ColumnChanges {
            column: column.to_string(),
            ..ColumnChanges::default()
        };
        let names: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
        for key in names {
            let (old_state, new_state) = (was.get(key), now.get(key));
            let distribution = new_state.or(old_state).map(|(n, _)| n.to_string());
            let change = PackageChange {
                distribution: distribution.unwrap_or_default(),
                before: old_state.map(|(_, s)| s.clone()),
                after: new_state.map(|(_, s)| s.clone()),
            };
            let list = match (old_state, new_state) {
                (None, Some(_)) => &mut changes.new,
                (Some(_), None) => &mut changes.gone,
                (Some((_, a)), Some((_, b))) if rank(b.verdict) < rank(a.verdict) => {
                    if b.verdict == PackageVerdict::Ready {
                        &mut changes.became_ready
                    } else {
                        // Not ready before, not checkable now: better, not ready.
                        &mut changes.updated
                    }
                }
                (Some((_, a)), Some((_, b))) if rank(b.verdict) > rank(a.verdict) => {
                    &mut changes.regressed
                }
                (Some((_, a)), Some((_, b))) if a.version != b.version => &mut changes.updated,
                _ => continue,
            };
            list.push(change);
        }
        let moved = changes.became_ready.len()
            + changes.regressed.len()
            + changes.new.len()
            + changes.gone.len()
            + changes.updated.len();
        if moved > 0 {
            out.columns.push(changes);
        }
    }
    out
}

/// Whether any package regressed: what `ftaudit diff` of two matrices exits 1 on.
pub fn any_regressed(changes: &MatrixChanges) -> bool {
    changes.columns.iter().any(|c| !c.regressed.is_empty())
}

fn state(s: &Option<PackageState>) -> String {
    s.as_ref().map_or("-".into(), |s| {
        format!("{} {}", s.version, s.verdict.as_str().replace('_', " "))
    })
}

/// The changes as text: per column, each kind of move with before -> after.
pub fn changes_text(changes: &MatrixChanges) -> String {
    let mut out = format!(
        "since {} ({}):\n",
        changes.previous, changes.previous_generated_at
    );
    if changes.columns.is_empty() {
        out.push_str("  no package changed\n");
    }
    for c in &changes.columns {
        let _ = writeln!(out, "{}:", c.column);
        for (title, items) in [
            ("became ready", &c.became_ready),
            ("regressed", &c.regressed),
            ("new", &c.new),
            ("gone", &c.gone),
            ("updated", &c.updated),
        ] {
            if items.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  {title}: {}", items.len());
            for i in items {
                let _ = writeln!(
                    out,
                    "    {}: {} -> {}",
                    i.distribution,
                    state(&i.before),
                    state(&i.after)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftaudit_model::{MatrixPackage, MatrixPackageCell};

    fn matrix(packages: &[(&str, &str, &str, PackageVerdict)]) -> Matrix {
        let mut m: Matrix = serde_json::from_str(
            r#"{"schema_version":"1.8","tool":{"name":"ftaudit","version":"0"},
                "provenance":{"generated_at":"2026-12-01T00:00:00Z","host":"h"},
                "sources":[],"columns":[],"rows":[]}"#,
        )
        .unwrap();
        for (name, column, version, verdict) in packages {
            m.packages.push(MatrixPackage {
                distribution: name.to_string(),
                cells: vec![MatrixPackageCell {
                    column: column.to_string(),
                    version: version.to_string(),
                    verdict: *verdict,
                    ..MatrixPackageCell::default()
                }],
            });
        }
        m
    }

    #[test]
    fn moves_are_sorted_by_direction_and_column() {
        use PackageVerdict::*;
        let old = matrix(&[
            ("a", "t", "1", NotReady),
            ("b", "t", "1", Ready),
            ("c", "t", "1", Ready),
            ("d", "t", "1", Ready),
            ("e", "t", "1", CouldNotCheck),
            ("a", "s", "1", Ready),
        ]);
        let new = matrix(&[
            ("a", "t", "2", Ready),
            ("B", "t", "2", NotReady),
            ("c", "t", "2", Ready),
            ("e", "t", "1", CouldNotCheck),
            ("f", "t", "1", Ready),
            ("a", "s", "1", Ready),
        ]);
        let changes = matrix_changes("old.json", &old, &new);
        assert_eq!(changes.previous_generated_at, "2026-12-01T00:00:00Z");
        // Column "s" did not move, so only "t" is listed.
        assert_eq!(changes.columns.len(), 1);
        let t = &changes.columns[0];
        let names = |v: &[PackageChange]| -> Vec<String> {
            v.iter().map(|c| c.distribution.clone()).collect()
        };
        assert_eq!(names(&t.became_ready), ["a"]);
        assert_eq!(names(&t.regressed), ["B"]);
        assert_eq!(names(&t.updated), ["c"]);
        assert_eq!(names(&t.gone), ["d"]);
        assert_eq!(names(&t.new), ["f"]);
        assert!(any_regressed(&changes));
        let text = changes_text(&changes);
        assert!(
            text.contains("regressed: 1\n    B: 1 ready -> 2 not ready"),
            "{text}"
        );
        assert!(!any_regressed(&matrix_changes("x", &new, &new)));
        assert!(changes_text(&matrix_changes("x", &new, &new)).contains("no package changed"));
    }
}
