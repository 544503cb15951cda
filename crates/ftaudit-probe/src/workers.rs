//! Which worker runs where. A worker is a library built once per CPython ABI
//! (`ftaudit-worker-3.14t.so`, `-3.13t.so`, `-3.14.so`) that links no libpython; ftaudit runs it
//! inside the environment's own interpreter, so one installed ftaudit probes any interpreter of
//! an ABI it has a worker for, wherever that interpreter came from:
//!
//! - **embedded** where libpython is shared: `ftaudit-embed` loads that library by its path
//!   (found by asking the interpreter, see `host.rs`), then the worker;
//! - **hosted** where libpython is static: the interpreter, started isolated, loads the worker
//!   as an extension module. Same protocol, containment and checks.
//!
//! What a worker serves is read from its file (a marker the build writes), and what the
//! started worker reports is checked against the environment before any module is probed.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ftaudit_model::{EmbeddedInterpreter, ProbeWorker, WorkerMode};

#[cfg(target_os = "linux")]
use crate::batch::{run_batch, BatchSpec};
#[cfg(target_os = "linux")]
use crate::cancel::Cancel;
use crate::host::HostInterpreter;
use crate::ProbeError;

const WORKER_PREFIX: &str = "ftaudit-worker-";
const WORKER_SUFFIX: &str = ".so";
const LOADER: &str = "ftaudit-embed";
const ABI_MARKER: &[u8] = b"ftaudit-worker-abi=";

/// How to start the worker, as `--worker-mode` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerModeChoice {
    /// Embedded where the interpreter's libpython is shared, hosted otherwise.
    #[default]
    Auto,
    Embedded,
    Hosted,
}

/// A worker ready to start: what it is (for the report) and the command that starts it.
#[derive(Debug, Clone)]
pub struct Worker {
    pub info: ProbeWorker,
    /// `ftaudit-embed`, or the interpreter itself.
    pub program: PathBuf,
    /// Arguments before the protocol's own (`--request`, `--result-fd`, `--markers`).
    pub leading_args: Vec<OsString>,
    /// `sys.base_prefix`: its standard library must stay readable in the box.
    pub base_prefix: PathBuf,
}

impl Worker {
    /// Files beyond the interpreter's prefix the box must let the worker read.
    pub fn read_roots(&self) -> Vec<PathBuf> {
        let mut roots = vec![self.info.library.clone(), self.info.python.clone()];
        roots.extend(self.info.libpython.clone());
        roots
    }
}

/// The bootstrap a hosted worker runs: the GIL state is read before anything is loaded, the
/// worker is loaded with `_imp` alone (importlib.util would import more of the standard library
/// before the first probed module), and `hosted_main` ends the process itself.
const HOSTED_BOOTSTRAP: &str = "import sys, _imp
gil = sys._is_gil_enabled()
class Spec:
    name = '_ftaudit_worker'
    origin = sys.argv[1]
worker = _imp.create_dynamic(Spec)
_imp.exec_dynamic(worker)
sys.exit(worker.hosted_main(sys.argv[2:], gil))
";

/// The folders searched for workers and `ftaudit-embed`: `$FTAUDIT_WORKER_DIR` alone when set,
/// else ftaudit's own folder, `../lib/ftaudit` beside it (where the wheel installs them) and
/// the folder above (test binaries in target/debug/deps).
fn search_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("FTAUDIT_WORKER_DIR").filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let mut dirs = vec![dir.clone(), dir.join("../lib/ftaudit")];
    if let Some(parent) = dir.parent() {
        dirs.push(parent.to_path_buf());
    }
    // Reports name the files plainly (`.../lib/ftaudit/...`, not `.../bin/../lib/...`).
    dirs.into_iter()
        .map(|d| d.canonicalize().unwrap_or(d))
        .collect()
}

/// Every worker library ftaudit can use: `$FTAUDIT_WORKER` alone when set, else the
/// `ftaudit-worker-*.so` files of the first search folder that has any, sorted by name.
pub fn worker_files() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("FTAUDIT_WORKER").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    for dir in search_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(WORKER_PREFIX) && name.ends_with(WORKER_SUFFIX)
            })
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        if !found.is_empty() {
            found.sort();
            return found;
        }
    }
    Vec::new()
}

/// `ftaudit-embed`, from the same folders as the workers.
pub fn loader() -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|d| d.join(LOADER))
        .find(|p| p.is_file())
}

/// The ABI a worker library serves, read from its bytes (loading it would need that very ABI).
pub fn worker_abi(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let start = bytes
        .windows(ABI_MARKER.len())
        .position(|w| w == ABI_MARKER)
        .ok_or_else(|| {
            format!(
                "{} is not an ftaudit worker (no ABI marker)",
                path.display()
            )
        })?
        + ABI_MARKER.len();
    let end = bytes[start..]
        .iter()
        .take(16)
        .position(|b| *b == b';')
        .ok_or_else(|| format!("{} has a truncated ABI marker", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes[start..start + end]).into_owned())
}

/// The worker library for an ABI, or why there is none (naming what there is).
pub fn find_worker(abi: &str) -> Result<PathBuf, String> {
    let files = worker_files();
    let mut available = Vec::new();
    for path in files {
        match worker_abi(&path) {
            Ok(serves) if serves == abi => return Ok(path),
            Ok(serves) => available.push(serves),
            Err(e) => available.push(format!("unreadable: {e}")),
        }
    }
    Err(if available.is_empty() {
        "this ftaudit has no worker library (ftaudit-worker-*.so next to it or in ../lib/ftaudit; build them with scripts/build.sh)".to_string()
    } else {
        format!("this ftaudit has workers for {} only", available.join(", "))
    })
}

/// Asks `python` about itself and plans its worker (see [`plan`]).
pub fn worker_for(
    python: &Path,
    choice: WorkerModeChoice,
    library: Option<&Path>,
    timeout: Duration,
) -> Result<Worker, String> {
    plan(&HostInterpreter::inspect(python, timeout)?, choice, library)
}

/// The worker for `host`, in the mode asked for, or why none can run there.
pub fn plan(
    host: &HostInterpreter,
    choice: WorkerModeChoice,
    library: Option<&Path>,
) -> Result<Worker, String> {
    let abi = host.abi();
    let found = format!(
        "{} is CPython {}{} ({})",
        host.python.display(),
        host.version,
        host.abiflags,
        describe_build(host)
    );
    let library = match library {
        Some(path) => path.to_path_buf(),
        None => find_worker(&abi).map_err(|available| {
            let serve = if host.debug {
                format!(
                    "a debug build has an ABI of its own ({abi}); a release build of {}{} would serve",
                    host.minor(),
                    if host.gil_disabled { "t" } else { "" }
                )
            } else {
                format!("an ftaudit with a {abi} worker would serve")
            };
            format!("{found}: {available}; {serve}")
        })?,
    };
    let serves = worker_abi(&library)?;
    if serves != abi {
        return Err(format!(
            "{found}, but the worker {} serves {serves}",
            library.display()
        ));
    }
    let embeddable = host.library.clone();
    let loader = loader();
    let mode = match (choice, &embeddable, &loader) {
        (WorkerModeChoice::Hosted, _, _) => WorkerMode::Hosted,
        (_, Some(_), Some(_)) => WorkerMode::Embedded,
        (WorkerModeChoice::Auto, _, _) => WorkerMode::Hosted,
        (WorkerModeChoice::Embedded, None, _) => {
            return Err(format!(
                "{found}: the embedded worker needs a shared libpython, and {}",
                host.library_evidence
            ))
        }
        (WorkerModeChoice::Embedded, Some(_), None) => {
            return Err(format!(
                "the embedded worker needs {LOADER} (next to ftaudit or in ../lib/ftaudit), and there is none"
            ))
        }
    };
    let reason = match (mode, choice) {
        (WorkerMode::Hosted, WorkerModeChoice::Hosted) => {
            "asked for (--worker-mode hosted)".to_string()
        }
        (WorkerMode::Embedded, WorkerModeChoice::Embedded) => format!(
            "asked for (--worker-mode embedded); libpython {}",
            host.library_evidence
        ),
        (WorkerMode::Embedded, _) => format!(
            "the interpreter's libpython is shared: {}",
            host.library_evidence
        ),
        (WorkerMode::Hosted, _) if embeddable.is_some() => {
            format!("there is no {LOADER} beside ftaudit; the interpreter hosts the worker instead")
        }
        (WorkerMode::Hosted, _) => format!(
            "libpython is linked into the interpreter ({}): the interpreter hosts the worker",
            host.library_evidence
        ),
    };
    let (program, leading_args): (PathBuf, Vec<OsString>) = match mode {
        WorkerMode::Embedded => (
            loader.expect("embedded needs the loader (matched above)"),
            vec![
                "--libpython".into(),
                embeddable.clone().expect("matched above").into(),
                "--worker".into(),
                library.clone().into(),
                "--".into(),
                "--home".into(),
                host.base_prefix.clone().into(),
            ],
        ),
        // The same settings the embedded worker's PyConfig makes (interp.rs): isolated, no
        // site, no bytecode written, verbose imports (each GIL-requiring module named), UTF-8
        // mode, faulthandler.
        WorkerMode::Hosted => (
            host.python.clone(),
            [
                "-I",
                "-S",
                "-B",
                "-v",
                "-X",
                "utf8",
                "-X",
                "faulthandler",
                "-c",
                HOSTED_BOOTSTRAP,
            ]
            .into_iter()
            .map(OsString::from)
            .chain([library.clone().into()])
            .collect(),
        ),
    };
    Ok(Worker {
        info: ProbeWorker {
            mode,
            reason,
            library,
            abi,
            python: host.python.clone(),
            libpython: if mode == WorkerMode::Embedded {
                embeddable
            } else {
                None
            },
        },
        program,
        leading_args,
        base_prefix: host.base_prefix.clone(),
    })
}

fn describe_build(host: &HostInterpreter) -> String {
    let build = if host.gil_disabled {
        "free-threaded"
    } else {
        "standard (GIL)"
    };
    let debug = if host.debug { ", debug" } else { "" };
    let library = if host.shared {
        "shared libpython"
    } else {
        "static libpython"
    };
    format!("{build}{debug}, {library}")
}

/// Starts the worker with nothing to import and returns what it reports from inside the
/// interpreter.
#[cfg(not(target_os = "linux"))]
pub fn describe(_worker: &Worker, _timeout: Duration) -> Result<EmbeddedInterpreter, ProbeError> {
    Err(ProbeError::Unsupported)
}

/// Starts the worker with nothing to import and returns what it reports from inside the
/// interpreter.
#[cfg(target_os = "linux")]
pub fn describe(worker: &Worker, timeout: Duration) -> Result<EmbeddedInterpreter, ProbeError> {
    let never = Cancel::default();
    let mut sandbox = crate::SandboxSpec::for_interpreter(&worker.base_prefix);
    sandbox.read_roots.extend(worker.read_roots());
    let spec = BatchSpec {
        worker,
        site_dirs: &[],
        subinterpreters: false,
        timeout,
        memory_limit_mb: None,
        // The worker's start-up runs no package code, only the interpreter's own.
        sandbox: &sandbox,
        cancel: &never,
    };
    Ok(run_batch(&spec, &[], &mut |_| {})?.interpreter)
}

/// What the probe needs of an interpreter to probe an environment made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedInterpreter {
    /// "3.14" (major.minor); a longer version is cut to that.
    pub minor: String,
    pub free_threaded: bool,
}

impl WantedInterpreter {
    pub fn new(version: &str, free_threaded: bool) -> Self {
        WantedInterpreter {
            minor: minor_of(version),
            free_threaded,
        }
    }

    /// The worker's interpreter can import this environment's modules: same minor version and
    /// the same build (a free-threaded one must start with the GIL off; the ABIs differ, so a
    /// standard build's modules never load in a free-threaded one, nor the other way round).
    pub fn matches(&self, embedded: &EmbeddedInterpreter) -> bool {
        let same_build = if self.free_threaded {
            embedded.py_gil_disabled && !embedded.gil_enabled_at_startup
        } else {
            !embedded.py_gil_disabled
        };
        same_build && minor_of(&embedded.version) == self.minor
    }

    /// "3.14t" or "3.14": how scripts and messages name this interpreter.
    pub fn label(&self) -> String {
        format!(
            "{}{}",
            self.minor,
            if self.free_threaded { "t" } else { "" }
        )
    }
}

/// "3.14.7" -> "3.14".
pub fn minor_of(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(
        version: &str,
        gil_disabled: bool,
        debug: bool,
        library: Option<&str>,
    ) -> HostInterpreter {
        HostInterpreter {
            python: PathBuf::from("/opt/py/bin/python3"),
            version: version.into(),
            abiflags: format!(
                "{}{}",
                if gil_disabled { "t" } else { "" },
                if debug { "d" } else { "" }
            ),
            gil_disabled,
            debug,
            shared: library.is_some(),
            library: library.map(PathBuf::from),
            library_evidence: "as the test says".into(),
            base_prefix: PathBuf::from("/opt/py"),
            executable: PathBuf::from("/opt/py/bin/python3"),
        }
    }

    /// A debug build's ABI is its own: the message says so and names the release build that
    /// would serve, whatever workers this machine has.
    #[test]
    fn a_debug_build_is_told_what_would_serve() {
        let err = plan(
            &host("3.14.7", true, true, Some("/opt/py/lib/libpython3.14td.so")),
            WorkerModeChoice::Auto,
            None,
        )
        .unwrap_err();
        assert!(err.contains("CPython 3.14.7td"), "{err}");
        assert!(err.contains("debug"), "{err}");
        assert!(
            err.contains("a release build of 3.14t would serve"),
            "{err}"
        );
    }

    /// A minor version no worker is built for (3.15t) names the worker that would serve.
    #[test]
    fn another_minor_version_is_told_what_would_serve() {
        let err = plan(
            &host("3.15.0", true, false, None),
            WorkerModeChoice::Auto,
            None,
        )
        .unwrap_err();
        assert!(
            err.contains("an ftaudit with a 3.15t worker would serve"),
            "{err}"
        );
    }

    /// Embedded needs a shared library; asked for on a static build, it is refused with why.
    #[test]
    fn embedded_mode_is_refused_without_a_shared_library() {
        let dir = std::env::temp_dir().join(format!("ftaudit-worker-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("ftaudit-worker-3.14t.so");
        std::fs::write(&fake, b"\x7fELF...ftaudit-worker-abi=3.14t;...").unwrap();
        let err = plan(
            &host("3.14.7", true, false, None),
            WorkerModeChoice::Embedded,
            Some(&fake),
        )
        .unwrap_err();
        assert!(err.contains("needs a shared libpython"), "{err}");
        let hosted = plan(
            &host("3.14.7", true, false, None),
            WorkerModeChoice::Auto,
            Some(&fake),
        )
        .unwrap();
        assert_eq!(hosted.info.mode, WorkerMode::Hosted);
        assert_eq!(hosted.program, PathBuf::from("/opt/py/bin/python3"));
        assert!(
            hosted.leading_args.iter().any(|a| a == "-I")
                && hosted.leading_args.iter().any(|a| a == "-S")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
