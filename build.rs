//! Bakes the commit ftaudit was built from into `ftaudit --version` (as ruff and uv do), so a
//! report can be traced to its source. Outside a git checkout (a source archive) it says so.

use std::process::Command;

fn main() {
    let commit = std::env::var("FTAUDIT_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .filter(|c| !c.is_empty())
    });
    let date = Command::new("git")
        .args(["log", "-1", "--format=%cs"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|d| !d.is_empty());
    let described = match (commit, date) {
        (Some(c), Some(d)) => format!("{c} {d}"),
        (Some(c), None) => c,
        _ => "commit unknown: not built from a git checkout".into(),
    };
    println!("cargo:rustc-env=FTAUDIT_COMMIT={described}");
    println!("cargo:rerun-if-env-changed=FTAUDIT_COMMIT");
    // A new commit moves HEAD or the branch it names.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
