//! The binary as users run it: arguments, exit statuses, static scans, and running without
//! libpython.

mod support;

use std::process::Command;

use ftaudit_model::{GilDeclaration, TargetKind};
use support::*;

#[test]
fn version_and_usage_errors() {
    // The version names the commit it was built from (this checkout's HEAD), as ruff's does.
    let out = run(ftaudit().arg("--version"));
    assert!(out.status.success());
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo_root())
        .output()
        .expect("git runs");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(
        version.starts_with(&format!("ftaudit {} ({head} ", env!("CARGO_PKG_VERSION")))
            && head.len() == 12,
        "{version} (HEAD {head})"
    );

    let out = run(&mut ftaudit());
    assert_eq!(out.status.code(), Some(3), "no subcommand is a usage error");
    let out = run(ftaudit().args(["scan", "--format", "yaml", "."]));
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn a_missing_target_is_fatal_and_named() {
    let out = run(ftaudit().args(["scan", "/nonexistent/venv"]));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/venv"));
}

#[test]
fn the_main_binary_does_not_link_libpython() {
    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_ftaudit")])
        .output()
        .expect("readelf runs");
    assert!(out.status.success());
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(
        dynamic.contains("(NEEDED)"),
        "readelf printed no dynamic section: {dynamic}"
    );
    assert!(
        !dynamic.contains("libpython"),
        "ftaudit must not need libpython:\n{dynamic}"
    );
}

/// Hides the provisioned interpreter's lib folder (libpython, the standard library) behind an
/// empty tmpfs in a private mount namespace: the static scan still works.
#[test]
fn static_scan_works_with_libpython_hidden_from_the_loader() {
    let python = std::env::var("FTAUDIT_PYTHON").unwrap_or_else(|_| {
        std::fs::read_to_string(dirs_cache().join("interpreter"))
            .expect("provisioned interpreter")
            .trim()
            .to_string()
    });
    let libdir = String::from_utf8(
        Command::new(&python)
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))",
            ])
            .output()
            .expect("interpreter runs")
            .stdout,
    )
    .unwrap();
    let libdir = libdir.trim();
    let script = format!(
        "mount -t tmpfs none '{libdir}' || exit 97; \
         [ -n \"$(ls -A '{libdir}')\" ] && exit 98; \
         exec '{bin}' scan --static-only --format json '{venv}'",
        bin = env!("CARGO_BIN_EXE_ftaudit"),
        venv = fixtures_venv().display(),
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    let code = out.status.code();
    assert_ne!(
        code,
        Some(97),
        "could not hide {libdir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(code, Some(98), "the lib folder was not hidden");
    let report: ftaudit_model::Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(report.summary.extension_modules > 10);
    assert_eq!(
        code,
        Some(2),
        "the fixture venv holds unreadable files: incomplete"
    );
}

fn dirs_cache() -> std::path::PathBuf {
    std::env::var_os("FTAUDIT_CACHE")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/ftaudit")
        })
}

#[test]
fn static_scan_of_the_fixture_venv() {
    let (code, report) = scan_json(&["--static-only"], fixtures_venv());
    assert_eq!(report.target.kind, TargetKind::Venv);
    let interpreter = report.target.interpreter.as_ref().expect("pyvenv.cfg read");
    assert!(interpreter.free_threaded, "{interpreter:?}");
    assert!(report.stages.dynamic.is_none() && report.stages.dynamic_skipped.is_none());

    let gil_free = file(&report, "ftfix_mp_gil_not_used");
    assert_eq!(
        gil_free.distribution.as_deref(),
        Some("ftaudit-fixtures"),
        "owner from METADATA Name"
    );
    assert_eq!(
        gil_free.static_facts.as_ref().unwrap().modules[0].gil.value,
        GilDeclaration::NotUsed
    );
    assert!(!codes(gil_free).contains(&"gil-required"));

    let plain = file(&report, "ftfix_sp_plain");
    assert!(
        codes(plain).contains(&"gil-required"),
        "{:?}",
        plain.findings
    );
    assert!(codes(plain).contains(&"subinterpreters-not-supported"));
    let fix = plain
        .findings
        .iter()
        .find(|f| f.code.as_str() == "gil-required")
        .unwrap()
        .fix
        .clone();
    assert!(
        fix.is_some_and(|f| !f.is_empty()),
        "a GIL finding says how to fix it"
    );

    assert!(codes(file(&report, "ftfix_unowned")).contains(&"unowned-file"));
    assert!(codes(file(&report, "ftfix_claims_stable._core")).contains(&"classifier-contradicted"));
    assert!(codes(file(&report, "ftfix_gil_build")).contains(&"abi-mismatch"));
    let renamed = file(&report, "ftfix_gil_build_renamed");
    assert!(
        codes(renamed).contains(&"suffix-contradicts-binary"),
        "{:?}",
        renamed.findings
    );
    assert!(codes(renamed).contains(&"abi-mismatch"));

    for broken in ["ftfix_truncated", "ftfix_corrupt", "ftfix_textfile"] {
        let f = file(&report, broken);
        assert!(
            f.problem.is_some() && f.static_facts.is_none(),
            "{broken} should be unreadable"
        );
        assert!(codes(f).contains(&"unreadable-binary"));
    }
    assert!(report.summary.unchecked_files >= 3);
    assert!(report.summary.incomplete);
    assert_eq!(code, 2, "unreadable files make the scan incomplete");
}

#[test]
fn table_output_names_every_module_and_what_could_not_be_checked() {
    let out = run(ftaudit()
        .args(["scan", "--static-only"])
        .arg(fixtures_venv()));
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "ftfix_mp_gil_not_used",
        "ftfix_pkg._needs_gil",
        "ftfix_café",
        "could not check",
        "ftfix_truncated",
        "error[gil-required]",
        "INCOMPLETE",
    ] {
        assert!(text.contains(needle), "table lacks {needle:?}:\n{text}");
    }
}

/// A venv of a default-build interpreter cannot be probed by a free-threaded worker: the static
/// results stay, the reason is given, and the exit status says something was not checked.
#[test]
fn a_venv_of_another_interpreter_keeps_static_results_and_says_why_no_probe() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("python3");
    assert!(made.success());
    let site = std::fs::read_dir(venv.join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages");
    let module = fixtures_venv().join("lib");
    let fixture = std::fs::read_dir(&module)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages")
        .read_dir()
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ftfix_mp_gil_not_used.")
        })
        .expect("fixture module");
    std::fs::copy(&fixture, site.join(fixture.file_name().unwrap())).unwrap();

    let (code, report) = scan_json(&[], &venv);
    let interpreter = report.target.interpreter.as_ref().expect("pyvenv.cfg read");
    assert!(!interpreter.free_threaded);
    let reason = report
        .stages
        .dynamic_skipped
        .as_deref()
        .expect("the probe did not run");
    assert!(
        reason.contains("default build") && reason.contains(&interpreter.version),
        "{reason}"
    );
    assert!(report.stages.dynamic.is_none());
    let f = file(&report, "ftfix_mp_gil_not_used");
    assert!(f.static_facts.is_some(), "static results are kept");
    assert!(
        codes(f).contains(&"abi-mismatch"),
        "a free-threaded module in a GIL venv: {:?}",
        f.findings
    );
    assert!(report.summary.incomplete);
    assert_eq!(code, 2);
}

/// A file the scan may not open is reported with the operating system's reason, and the rest
/// is still read. Root reads anything, so the scan runs in a user namespace with no uid
/// mapping, where root's capabilities do not cover the files.
#[test]
fn a_file_that_cannot_be_opened_is_reported_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let (_, fixtures) = scan_json(&["--static-only"], fixtures_venv());
    let module = file(&fixtures, "ftfix_mp_gil_not_used");
    let dir = tempfile::tempdir().unwrap();
    let readable = dir.path().join("readable.cpython-313t-x86_64-linux-gnu.so");
    let locked = dir.path().join("locked.cpython-313t-x86_64-linux-gnu.so");
    std::fs::copy(&module.location, &readable).unwrap();
    std::fs::copy(&module.location, &locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

    let out = Command::new("unshare")
        .args([
            "--user",
            env!("CARGO_BIN_EXE_ftaudit"),
            "scan",
            "--static-only",
        ])
        .args(["--format", "json"])
        .arg(dir.path())
        .output()
        .expect("unshare runs");
    let report: ftaudit_model::Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let locked = report
        .files
        .iter()
        .find(|f| f.path.starts_with("locked."))
        .expect("listed");
    let problem = locked.problem.as_ref().expect("not readable");
    assert_eq!(problem.kind, ftaudit_model::FileProblemKind::Unreadable);
    assert!(
        problem.message.contains("Permission denied"),
        "{}",
        problem.message
    );
    assert!(problem.message.contains("locked."), "{}", problem.message);
    let readable = report
        .files
        .iter()
        .find(|f| f.path.starts_with("readable."))
        .expect("listed");
    assert!(readable.static_facts.is_some(), "{:?}", readable.problem);
    assert_eq!(report.summary.unchecked_files, 1);
    assert_eq!(out.status.code(), Some(2), "incomplete scan");
}

/// `ftaudit completions SHELL` prints a script the shell accepts, covering the subcommands.
#[test]
fn shell_completions_come_from_the_parser() {
    let out = run(ftaudit().args(["completions", "bash"]));
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8_lossy(&out.stdout).to_string();
    for word in ["scan", "stress", "merge", "--static-only", "--format"] {
        assert!(script.contains(word), "bash completion lacks {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ftaudit.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(ftaudit().args(["completions", shell]));
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("stress"),
            "{shell}"
        );
    }
    let out = run(ftaudit().args(["completions", "tcsh"]));
    assert_eq!(
        out.status.code(),
        Some(3),
        "an unknown shell is a usage error"
    );
}
