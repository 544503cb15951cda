//! The user's interpreter, as it describes itself: version and ABI, and above all whether its
//! libpython is a shared library the worker can be loaded next to (embedded mode) or is linked
//! into `python` itself (hosted mode).
//!
//! Asked of the interpreter, never guessed from paths: `python -I -S` runs no package code
//! (no site, no `.pth` file), and the library it names is the one its own process mapped
//! (`/proc/self/maps`), which is right even where `sysconfig`'s LIBDIR is a build machine's path
//! (relocated builds such as python-build-standalone).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// What the interpreter said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HostInterpreter {
    /// The executable asked (as given, not resolved).
    #[serde(skip)]
    pub python: PathBuf,
    /// "3.14.7".
    pub version: String,
    /// `sys.abiflags`: "t", "td", "".
    pub abiflags: String,
    /// `Py_GIL_DISABLED`.
    pub gil_disabled: bool,
    /// `Py_DEBUG` (a debug build has an ABI of its own).
    pub debug: bool,
    /// `Py_ENABLE_SHARED`: libpython is a shared library.
    pub shared: bool,
    /// The shared libpython this interpreter's process has mapped, else `LIBDIR/INSTSONAME`
    /// when that file exists; None for a static build.
    pub library: Option<PathBuf>,
    /// How `library` was found.
    pub library_evidence: String,
    /// `sys.base_prefix`: the home an embedded interpreter is given.
    pub base_prefix: PathBuf,
    /// `sys.executable` as the interpreter resolved it.
    pub executable: PathBuf,
}

/// Run with `-I -S`: reads only the interpreter's own configuration.
const INSPECT: &str = r#"
import json, os, sys, sysconfig
var = sysconfig.get_config_var
library, evidence = None, "static: Py_ENABLE_SHARED is 0"
if var("Py_ENABLE_SHARED"):
    soname = var("INSTSONAME") or var("LDLIBRARY") or ""
    maps_read = False
    try:
        with open("/proc/self/maps") as maps:
            maps_read = True
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) == 6 and os.path.basename(fields[5].strip()).startswith("libpython"):
                    library = fields[5].strip()
                    evidence = "%s, mapped by the interpreter's own process" % library
                    break
    except OSError:
        pass
    if maps_read and library is None:
        # Debian-style: a shared library is installed, but python itself links libpython
        # statically; that library is another binary than the one the environment runs.
        evidence = "static: python maps no libpython (Py_ENABLE_SHARED is 1, but %s is not what it runs)" % soname
    elif library is None and soname:
        for folder in (var("LIBDIR"), os.path.join(sys.base_prefix, "lib")):
            candidate = os.path.join(folder or "", soname)
            if os.path.isfile(candidate):
                library, evidence = candidate, "sysconfig LIBDIR/INSTSONAME"
                break
    if library is None and not maps_read:
        evidence = "shared (Py_ENABLE_SHARED is 1), but %s was found neither mapped nor in LIBDIR %s" % (soname, var("LIBDIR"))
print(json.dumps({
    "version": "%d.%d.%d" % sys.version_info[:3],
    "abiflags": getattr(sys, "abiflags", ""),
    "gil_disabled": bool(var("Py_GIL_DISABLED")),
    "debug": bool(var("Py_DEBUG")),
    "shared": bool(var("Py_ENABLE_SHARED")),
    "library": library,
    "library_evidence": evidence,
    "base_prefix": sys.base_prefix,
    "executable": sys.executable,
}))
"#;

impl HostInterpreter {
    /// Asks `python` about itself, with no `PYTHON*` variable and a deadline.
    pub fn inspect(python: &Path, timeout: Duration) -> Result<HostInterpreter, String> {
        let mut command = Command::new(python);
        command
            .args(["-I", "-S", "-c", INSPECT])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PYTHON") {
                command.env_remove(key);
            }
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let output = wait_with_deadline(child, timeout)
            .map_err(|e| format!("{} did not describe itself: {e}", python.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed to describe itself ({}): {}",
                python.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let mut host: HostInterpreter = serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "{} printed no interpreter description ({e}): {}",
                python.display(),
                String::from_utf8_lossy(&output.stdout).trim()
            )
        })?;
        host.python = python.to_path_buf();
        Ok(host)
    }

    /// "3.14".
    pub fn minor(&self) -> String {
        crate::minor_of(&self.version)
    }

    /// The ABI a worker must be built for: "3.14t", "3.14", "3.14td".
    pub fn abi(&self) -> String {
        format!(
            "{}{}{}",
            self.minor(),
            if self.gil_disabled { "t" } else { "" },
            if self.debug { "d" } else { "" }
        )
    }
}

/// `Child::wait_with_output` with a deadline (kills the child on expiry).
fn wait_with_deadline(
    mut child: std::process::Child,
    timeout: Duration,
) -> Result<std::process::Output, String> {
    use std::io::Read;
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", timeout.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    Ok(std::process::Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}
