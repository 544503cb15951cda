//! Shared helpers for the binary-level tests: run the real `ftaudit`, find the real fixtures.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ftaudit_model::{NativeFile, Report};

pub fn ftaudit() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ftaudit"));
    cmd.env_remove("COLUMNS");
    cmd
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The last stdout line of one of the project's set-up scripts, which prints the path it made.
fn script_output(script: &str) -> PathBuf {
    script_output_with_args(script, &[])
}

fn script_output_with_args(script: &str, args: &[&str]) -> PathBuf {
    let output = Command::new(repo_root().join("scripts").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/{script}: {e}"));
    assert!(
        output.status.success(),
        "scripts/{script} failed (run scripts/test.sh, which sets everything up):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
}

/// The provisioned free-threaded interpreter: $FTAUDIT_PYTHON, else scripts/provision-python.sh.
pub fn python() -> PathBuf {
    match std::env::var_os("FTAUDIT_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => script_output("provision-python.sh"),
    }
}

/// The fixture venv built by scripts/build-fixtures.sh (real modules compiled for the provisioned interpreter).
pub fn fixtures_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| match std::env::var_os("FTAUDIT_FIXTURES_VENV") {
        Some(path) => PathBuf::from(path),
        None => script_output("build-fixtures.sh"),
    })
}

/// The folder holding every pinned wheel set (`linux-cp313t/`, `macos-arm64/`, ...) fetched by
/// scripts/fetch-wheels.sh.
pub fn wheel_sets_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| match std::env::var_os("FTAUDIT_WHEELS_DIR") {
        Some(path) => PathBuf::from(path),
        None => {
            let last_set = script_output_with_args("fetch-wheels.sh", &["--all"]);
            last_set
                .parent()
                .expect("a wheel set folder has a parent")
                .to_path_buf()
        }
    })
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("ftaudit runs")
}

/// Runs a scan with `--format json` and parses the report into the model's own types, so any
/// drift between the output and the contract fails here.
pub fn scan_json(args: &[&str], path: &Path) -> (i32, Report) {
    scan_json_with(&mut ftaudit(), args, path)
}

pub fn scan_json_with(cmd: &mut Command, args: &[&str], path: &Path) -> (i32, Report) {
    let output = run(cmd
        .arg("scan")
        .arg(path)
        .args(["--format", "json"])
        .args(args));
    let code = output.status.code().expect("exited normally");
    let report: Report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}); exit {code}\nstderr:\n{}\nstdout:\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (code, report)
}

pub fn file<'a>(report: &'a Report, module: &str) -> &'a NativeFile {
    report
        .files
        .iter()
        .find(|f| f.module_name.as_deref() == Some(module))
        .unwrap_or_else(|| panic!("no file for module {module} in the report"))
}

pub fn codes(file: &NativeFile) -> Vec<&'static str> {
    file.findings.iter().map(|f| f.code.as_str()).collect()
}

/// A venv of popular packages' real wheels, made by `scripts/make-venv.sh demo`.
pub fn demo_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| match std::env::var_os("FTAUDIT_DEMO_VENV") {
        Some(path) => PathBuf::from(path),
        None => script_output_with_args("make-venv.sh", &["demo"]),
    })
}

/// The venv of the standard (GIL) 3.14 build with the linux-cp314 set: $FTAUDIT_STANDARD_VENV
/// (set by scripts/test.sh), else provisioned and made by the scripts.
pub fn standard_venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| match std::env::var_os("FTAUDIT_STANDARD_VENV") {
        Some(path) => PathBuf::from(path),
        None => {
            let python = script_output_with_args("provision-python.sh", &["--standard", "3.14"]);
            let output = Command::new(repo_root().join("scripts/make-venv.sh"))
                .arg("linux-cp314")
                .env("FTAUDIT_PYTHON", &python)
                .output()
                .expect("scripts/make-venv.sh runs");
            assert!(
                output.status.success(),
                "scripts/make-venv.sh linux-cp314 failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8_lossy(&output.stdout);
            PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
        }
    })
}

/// Every entry under `root`: type, size, mode, modification time, link target and, for files,
/// a CRC-32 of the contents.
pub fn fingerprint(root: &Path) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let relative = path.strip_prefix(root).unwrap().display().to_string();
            let detail = if meta.is_dir() {
                pending.push(path.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file crc {:08x}", crc32fast::hash(&bytes))
            };
            entries.insert(
                relative,
                format!(
                    "{detail} size {} mode {:o} mtime {}.{}",
                    meta.len(),
                    meta.mode(),
                    meta.mtime(),
                    meta.mtime_nsec()
                ),
            );
        }
    }
    entries
}

/// A `sysconfig` expression evaluated by `python` (`sysconfig.get_path('include')`...).
pub fn sysconfig(python: &Path, expr: &str) -> String {
    let out = Command::new(python)
        .args(["-I", "-c", &format!("import sysconfig; print({expr})")])
        .env_remove("PYTHON_GIL")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Per module: the import, CPython's GIL verdict, both subinterpreter outcomes and the findings.
pub fn verdicts(report: &Report) -> BTreeMap<String, String> {
    let outcome = |o: Option<&ftaudit_model::ImportOutcome>| match o {
        None => "-".to_string(),
        Some(ftaudit_model::ImportOutcome::Ok) => "ok".into(),
        Some(ftaudit_model::ImportOutcome::Error { exception, .. }) => format!("error {exception}"),
        Some(other) => format!("{other:?}")
            .split_whitespace()
            .next()
            .unwrap()
            .to_string(),
    };
    report
        .files
        .iter()
        .map(|f| {
            let d = f.dynamic.as_ref();
            let mut codes: Vec<String> = f
                .findings
                .iter()
                .map(|x| format!("{}:{:?}", x.code.as_str(), x.severity))
                .collect();
            codes.sort();
            (
                f.path.clone(),
                format!(
                    "import {} | gil {:?} | isolated {} | legacy {} | {}",
                    outcome(d.map(|d| &d.import)),
                    d.and_then(|d| d.requires_gil),
                    outcome(d.and_then(|d| d.isolated_subinterpreter.as_ref())),
                    outcome(d.and_then(|d| d.legacy_subinterpreter.as_ref())),
                    codes.join(" ")
                ),
            )
        })
        .collect()
}

/// A fresh venv of the provisioned interpreter with nothing in it (`dir/venv`), and its
/// site-packages folder.
pub fn empty_venv(dir: &Path) -> (PathBuf, PathBuf) {
    let venv = dir.join("venv");
    let status = Command::new(python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .env_remove("PYTHON_GIL")
        .status()
        .unwrap();
    assert!(status.success(), "venv");
    let site = sysconfig(&venv.join("bin/python"), "sysconfig.get_path('purelib')");
    (venv, PathBuf::from(site))
}

/// A fresh venv of the provisioned interpreter holding the wheels of its linux set whose file
/// names start with `prefixes` (installed with --no-deps).
pub fn venv_of(dir: &Path, prefixes: &[&str]) -> PathBuf {
    let python = python();
    let (venv, site) = empty_venv(dir);
    let tag = sysconfig(&python, "sysconfig.get_config_var('EXT_SUFFIX')");
    let set = wheel_sets_dir().join(if tag.contains("313t") {
        "linux-cp313t"
    } else {
        "linux-cp314t"
    });
    let wheels: Vec<PathBuf> = prefixes
        .iter()
        .map(|prefix| {
            std::fs::read_dir(&set)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} wheel in {}", set.display()))
        })
        .collect();
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--no-deps", "--no-index"])
        .args(["--disable-pip-version-check", "--target"])
        .arg(&site)
        .args(&wheels)
        .env_remove("PYTHON_GIL")
        .status()
        .unwrap();
    assert!(status.success(), "pip install --target");
    venv
}

/// `ftaudit merge PATHS... EXTRA...`, parsed into the matrix model.
pub fn merge_matrix(paths: &[&Path], extra: &[&std::ffi::OsStr]) -> ftaudit_model::Matrix {
    let out = run(ftaudit().arg("merge").args(paths).args(extra));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a matrix")
}
