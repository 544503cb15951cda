//! .pre-commit-hooks.yaml: each hook's `files` pattern picks its lock file (and only it), and its
//! `entry`, run as pre-commit runs it (no file names appended), audits that lock from the index
//! (the ftaudit-lock tests' server on 127.0.0.1, named by PIP_INDEX_URL as a user's pip config
//! would) and exits as the gate says.

#[path = "../crates/ftaudit-lock/tests/support/mod.rs"]
mod lock_support;
mod support;

use serde::Deserialize;
use support::*;

#[derive(Deserialize)]
struct Hook {
    id: String,
    entry: String,
    language: String,
    files: String,
    pass_filenames: bool,
}

fn hooks() -> Vec<Hook> {
    let text = std::fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    serde_norway::from_str(&text).expect(".pre-commit-hooks.yaml parses")
}

#[test]
fn each_hook_matches_its_lock_file_only() {
    let hooks = hooks();
    assert_eq!(hooks.len(), 3);
    for (hook, lock) in hooks
        .iter()
        .zip(["uv.lock", "pylock.toml", "requirements.txt"])
    {
        let files = regex::Regex::new(&hook.files).unwrap();
        assert!(files.is_match(lock), "{}: {lock}", hook.id);
        for other in [
            "uv.lock",
            "pylock.toml",
            "requirements.txt",
            "src/uv.lock.bak",
            "README.md",
        ] {
            assert_eq!(files.is_match(other), other == lock, "{}: {other}", hook.id);
        }
        assert_eq!(
            hook.language, "python",
            "installs the wheel, no toolchain at run time"
        );
        assert!(!hook.pass_filenames, "the entry names its lock itself");
        let words: Vec<&str> = hook.entry.split_whitespace().collect();
        assert_eq!(&words[..3], ["ftaudit", "scan", lock], "{}", hook.entry);
        assert!(hook.entry.contains("--python 3.14t"));
    }
}

#[test]
fn the_requirements_hook_gates_a_lock_before_install() {
    let hook = hooks()
        .into_iter()
        .find(|h| h.id == "ftaudit-requirements")
        .unwrap();
    let repo = tempfile::tempdir().unwrap();
    let (world, site) = lock_support::world::world(true, true);
    let server = lock_support::Server::start(site);
    std::fs::write(
        repo.path().join("requirements.txt"),
        lock_support::world::requirements(&world),
    )
    .unwrap();
    let words: Vec<&str> = hook.entry.split_whitespace().collect();
    let out = ftaudit()
        .args(&words[1..])
        .current_dir(repo.path())
        .env("PIP_INDEX_URL", server.index())
        .env("FTAUDIT_CACHE", repo.path().join(".cache"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The lock pins wheels with no free-threaded build (gilonly), an sdist only and one the
    // index does not have: nothing is installed, and the commit is held back.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("gilonly"), "{text}");
    assert!(!repo.path().join(".venv").exists());
}
