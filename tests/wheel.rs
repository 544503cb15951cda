//! The wheel, as a user installs it: built the standard way (`pip wheel .`, by scripts/test.sh,
//! which passes its path in $FTAUDIT_WHEEL), installed with pip into a tool environment of its
//! own, run with a fresh HOME and a PATH without cargo or rustc, against venvs of free-threaded
//! interpreters with a shared libpython (embedded worker) and without one (hosted worker). Every
//! module's verdicts must equal those of the source-built ftaudit and workers on the same venv.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ftaudit_model::{Report, WorkerMode};
use support::*;

fn built_wheel() -> PathBuf {
    let wheel = std::env::var_os("FTAUDIT_WHEEL").map(PathBuf::from).expect(
        "FTAUDIT_WHEEL is not set: scripts/test.sh builds the wheel with `pip wheel .` and names it",
    );
    assert!(wheel.is_file(), "{} is missing", wheel.display());
    wheel
}

/// The venvs to scan ($FTAUDIT_WHEEL_VENVS): the demo set on 3.14t and 3.13t, each with a
/// shared and a static libpython.
fn venvs() -> Vec<PathBuf> {
    std::env::var("FTAUDIT_WHEEL_VENVS")
        .expect("FTAUDIT_WHEEL_VENVS is not set (scripts/test.sh)")
        .split_whitespace()
        .map(PathBuf::from)
        .collect()
}

struct Installed {
    _home: tempfile::TempDir,
    tool_env: PathBuf,
    home: PathBuf,
}

/// The wheel installed once (pip, no index, no dependencies) into a venv of the machine's
/// standard 3.14, as `pipx` or `uv tool` would make one.
fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let home = tempfile::tempdir().unwrap();
        let tool_env = home.path().join("tools/ftaudit");
        let python = std::env::var_os("FTAUDIT_TOOL_PYTHON")
            .map(PathBuf::from)
            .expect("FTAUDIT_TOOL_PYTHON is not set (scripts/test.sh: any python with pip)");
        let made = Command::new(&python)
            .args(["-m", "venv"])
            .arg(&tool_env)
            .output()
            .unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let pip = Command::new(tool_env.join("bin/python"))
            .args(["-m", "pip", "install", "--no-index", "--no-deps", "--quiet"])
            .arg(built_wheel())
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(
            pip.status.success(),
            "{}",
            String::from_utf8_lossy(&pip.stderr)
        );
        Installed {
            home: home.path().to_path_buf(),
            _home: home,
            tool_env,
        }
    })
}

/// The installed `ftaudit`, with nothing of this machine's build set-up: a fresh HOME, a PATH
/// of the tool environment and the system's own folders, no FTAUDIT_* or CARGO* variable.
fn installed_ftaudit() -> Command {
    let installed = installed();
    let mut command = Command::new(installed.tool_env.join("bin/ftaudit"));
    command
        .env_clear()
        .env("HOME", &installed.home)
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", installed.tool_env.join("bin").display()),
        )
        .env("LANG", "C.UTF-8");
    command
}

#[test]
fn the_wheel_holds_both_binaries_and_one_unlinked_worker_per_abi() {
    let wheel = built_wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("ftaudit-"), "{name}");
    assert!(
        name.contains("-py3-none-"),
        "a binary wheel for any Python: {name}"
    );
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&wheel).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(String::from).collect();
    // ftaudit on the user's PATH; what the probe runs beside it, off the PATH.
    assert!(
        names.iter().any(|n| n.ends_with(".data/scripts/ftaudit")),
        "no ftaudit in {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with(".data/data/lib/ftaudit/ftaudit-embed")),
        "no ftaudit-embed in {names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.contains(".data/scripts/"))
            .count(),
        1,
        "only ftaudit goes on the PATH: {names:?}"
    );
    let abis: Vec<String> = std::fs::read_to_string(repo_root().join("crates/ftaudit-worker/abis"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    for abi in &abis {
        let member = names
            .iter()
            .find(|n| n.ends_with(&format!(".data/data/lib/ftaudit/ftaudit-worker-{abi}.so")))
            .unwrap_or_else(|| panic!("no worker for {abi} in {names:?}"))
            .clone();
        let mut bytes = Vec::new();
        archive
            .by_name(&member)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker.so");
        std::fs::write(&path, &bytes).unwrap();
        let dynamic = Command::new("readelf")
            .arg("-d")
            .arg(&path)
            .output()
            .unwrap();
        let dynamic = String::from_utf8_lossy(&dynamic.stdout);
        assert!(dynamic.contains("NEEDED"), "{dynamic}");
        assert!(
            !dynamic.contains("libpython"),
            "the {abi} worker links a libpython: {dynamic}"
        );
        let marker = format!("ftaudit-worker-abi={abi};");
        assert!(
            bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{member} does not say it serves {abi}"
        );
    }
    let size_mb = std::fs::metadata(&wheel).unwrap().len() as f64 / 1e6;
    eprintln!("{name}: {size_mb:.1} MB");
}

#[test]
fn the_installed_ftaudit_needs_no_toolchain() {
    use std::os::unix::fs::PermissionsExt;
    let embed = installed().tool_env.join("lib/ftaudit/ftaudit-embed");
    let mode = std::fs::metadata(&embed).unwrap().permissions().mode();
    assert!(
        mode & 0o111 != 0,
        "{} is not executable: {mode:o}",
        embed.display()
    );
    let which = installed_ftaudit().args(["--version"]).output().unwrap();
    assert!(
        which.status.success(),
        "{}",
        String::from_utf8_lossy(&which.stderr)
    );
    let version = String::from_utf8_lossy(&which.stdout);
    assert!(version.starts_with("ftaudit "), "{version}");
    // The PATH the installed ftaudit runs with has no Rust toolchain on it.
    for tool in ["cargo", "rustc"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/bin:/bin",
                    installed().tool_env.join("bin").display()
                ),
            )
            .output()
            .unwrap();
        assert!(!found.status.success(), "{tool} is on the test PATH");
    }
    let workers = installed_ftaudit().args(["workers"]).output().unwrap();
    let text = String::from_utf8_lossy(&workers.stdout);
    assert!(
        text.contains(
            &installed()
                .tool_env
                .join("lib/ftaudit")
                .display()
                .to_string()
        ),
        "the workers come from the wheel's lib/ftaudit: {text}"
    );
}

fn report_of(output: &Output, path: &Path) -> Report {
    let text = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "no report at {} ({e}): {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn the_installed_ftaudit_gives_the_source_builds_verdicts_in_both_modes() {
    let out = tempfile::tempdir().unwrap();
    let mut modes_seen = Vec::new();
    for (i, venv) in venvs().iter().enumerate() {
        let wheel_json = out.path().join(format!("wheel-{i}.json"));
        let source_json = out.path().join(format!("source-{i}.json"));
        let from_wheel = installed_ftaudit()
            .args(["scan", "--format", "json", "--output"])
            .arg(&wheel_json)
            .arg(venv)
            .output()
            .unwrap();
        let from_source = run(ftaudit()
            .args(["scan", "--format", "json", "--output"])
            .arg(&source_json)
            .arg(venv));
        let wheel_report = report_of(&from_wheel, &wheel_json);
        let source_report = report_of(&from_source, &source_json);
        let run = wheel_report.stages.dynamic.as_ref().unwrap_or_else(|| {
            panic!(
                "{}: not probed: {:?}",
                venv.display(),
                wheel_report.stages.dynamic_skipped
            )
        });
        let worker = run
            .worker
            .as_ref()
            .expect("the report says how the worker ran");
        let static_build = venv.to_string_lossy().ends_with("-static");
        let expected = if static_build {
            WorkerMode::Hosted
        } else {
            WorkerMode::Embedded
        };
        assert_eq!(
            worker.mode,
            expected,
            "{}: {}",
            venv.display(),
            worker.reason
        );
        assert!(
            worker.library.starts_with(&installed().tool_env),
            "{} ran the source tree's worker",
            worker.library.display()
        );
        eprintln!(
            "{}: {} modules, {} mode ({}), exit {:?} / {:?}",
            venv.display(),
            wheel_report.summary.extension_modules,
            worker.mode.as_str(),
            worker.reason,
            from_wheel.status.code(),
            from_source.status.code()
        );
        let (wheel_verdicts, source_verdicts) = (verdicts(&wheel_report), verdicts(&source_report));
        assert!(
            wheel_verdicts.len() > 20,
            "{}: {wheel_verdicts:?}",
            venv.display()
        );
        for (path, verdict) in &source_verdicts {
            assert_eq!(
                wheel_verdicts.get(path),
                Some(verdict),
                "{}: {path} differs between the wheel and the source build",
                venv.display()
            );
        }
        assert_eq!(wheel_verdicts.len(), source_verdicts.len());
        assert_eq!(from_wheel.status.code(), from_source.status.code());
        modes_seen.push(worker.mode);
    }
    assert!(modes_seen.contains(&WorkerMode::Embedded) && modes_seen.contains(&WorkerMode::Hosted));
}
