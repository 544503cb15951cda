//! ftaudit-worker: embeds a free-threaded CPython, imports the modules a ProbeRequest names,
//! and reports each stage on the result pipe. Run by ftaudit-probe, one process per batch:
//!
//!     ftaudit-worker --request <file.json> --result-fd 3 [--markers <token>]
//!
//! stdout and stderr belong to the modules being imported; the worker never writes its
//! results there.

// Every `unsafe` block says why it is sound; inside an `unsafe fn`, each unsafe operation
// still needs a block of its own (and so a comment of its own).
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod channel;
mod checks;
mod interp;
mod main_import;
mod subinterp;

use std::path::PathBuf;
use std::process::ExitCode;

use ftaudit_model::protocol::{ProbeRequest, ProbeStage, WorkerEvent};
use pyo3::Python;

use channel::{write_all_fd, ResultChannel, StageMarkers};
use main_import::Helper;

struct Args {
    request: PathBuf,
    result_fd: i32,
    markers: Option<String>,
}

const USAGE: &str =
    "usage: ftaudit-worker --request <file.json> --result-fd <fd> [--markers <token>]";

fn parse_args() -> Result<Args, String> {
    let mut request = None;
    let mut result_fd = None;
    let mut markers = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.to_str() {
            Some("--request") => request = Some(PathBuf::from(value("--request")?)),
            Some("--result-fd") => {
                let v = value("--result-fd")?;
                let fd = v
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                    .filter(|fd| *fd > 2);
                result_fd = Some(fd.ok_or_else(|| {
                    format!("--result-fd must be a descriptor above 2, got {v:?}")
                })?);
            }
            Some("--markers") => markers = Some(value("--markers")?.to_string_lossy().into_owned()),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        request: request.ok_or_else(|| format!("--request is required\n{USAGE}"))?,
        result_fd: result_fd.ok_or_else(|| format!("--result-fd is required\n{USAGE}"))?,
        markers,
    })
}

fn read_request(path: &PathBuf) -> Result<ProbeRequest, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read request {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("invalid request {}: {e}", path.display()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ftaudit-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let request = match read_request(&args.request) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ftaudit-worker: {e}");
            return ExitCode::from(2);
        }
    };
    // read_request's file was closed again before this point.
    // SAFETY: the parent passed this descriptor down (above 2, parse_args checks) and nothing in this process has opened or wrapped it, so the channel becomes its only owner.
    let mut results = match unsafe { ResultChannel::from_fd(args.result_fd) } {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ftaudit-worker: {e}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: called once, from the main thread, before any other Python API call and before this process starts any thread.
    if let Err(e) = unsafe { interp::initialize() } {
        eprintln!(
            "ftaudit-worker: cannot start the embedded interpreter (home {}): {e}",
            interp::PYTHON_HOME
        );
        return ExitCode::from(3);
    }
    // Initialisation left this thread attached to the main interpreter, and it stays attached
    // for the life of the process (subinterpreter stages swap back before returning).
    // Python::attach sees that (PyGILState_Ensure on an already attached thread state only
    // counts) and gives PyO3 a token bounded by the closure, with PyO3's attach count set so
    // references dropped in `run` are released at once rather than queued.
    let markers = StageMarkers::new(args.markers);
    if let Err(e) = Python::attach(|py| run(py, &request, &mut results, markers)) {
        eprintln!("ftaudit-worker: {e}");
        return ExitCode::from(4);
    }
    // Skip finalisation: it is slow, and a module's teardown crash would otherwise be blamed
    // on whichever module happened to be imported last.
    // The result pipe is unbuffered (each event is one write); stdio was flushed in `run`.
    // SAFETY: _exit takes no pointers and never returns; skipping every destructor, atexit handler and Py_Finalize is the intent.
    unsafe { libc::_exit(0) }
}

fn run(
    py: Python<'_>,
    request: &ProbeRequest,
    results: &mut ResultChannel,
    markers: StageMarkers,
) -> Result<(), String> {
    // Read before anything is imported: the helper's own imports could not change it, but a
    // module loaded from a .pth file could.
    let gil_at_startup =
        main_import::gil_enabled(py).map_err(|e| format!("sys._is_gil_enabled() failed: {e}"))?;
    let helper = Helper::load(py).map_err(|e| format!("cannot load the probe helper: {e}"))?;
    helper
        .install_capture()
        .map_err(|e| format!("cannot capture sys.stdout/sys.stderr: {e}"))?;
    let interpreter = helper
        .facts(gil_at_startup)
        .map_err(|e| format!("cannot read interpreter facts: {e}"))?;
    let pth_output = helper
        .add_site_dirs(&request.site_dirs)
        .map_err(|e| format!("site.addsitedir failed for {:?}: {e}", request.site_dirs))?;
    write_all_fd(2, pth_output.as_bytes());
    results.send(&WorkerEvent::Ready { interpreter });

    let mut seq = 0u64;
    let mut begin = |results: &mut ResultChannel, module: &str, stage: ProbeStage| {
        seq += 1;
        results.send(&WorkerEvent::Begin {
            module: module.to_string(),
            stage,
        });
        markers.mark(seq);
    };
    // Every main import first, then the subinterpreter checks: a subinterpreter that loads a
    // module before the main interpreter does changes that module's main import (Cython modules
    // without module state then refuse the main interpreter), and importing one module's package
    // in a subinterpreter can load the batch's later modules.
    let mut imported = Vec::new();
    for module in &request.modules {
        begin(results, module, ProbeStage::Import);
        let record = helper.import(module);
        // A module that cannot even load in the main interpreter tells nothing more in a
        // subinterpreter; the parent records those stages as not attempted.
        if record.outcome.is_ok() {
            imported.push(module);
        }
        results.send(&WorkerEvent::Imported(record));
    }
    if request.subinterpreters {
        // Stage by stage, so that siblings checked one after another can share an interpreter
        // of the same kind (checks.rs).
        let mut checks = checks::SubinterpreterChecks::new(&request.site_dirs);
        for stage in [
            ProbeStage::IsolatedSubinterpreter,
            ProbeStage::LegacySubinterpreter,
        ] {
            for module in &imported {
                begin(results, module, stage);
                let outcome = checks.check(py, stage, module);
                results.send(&WorkerEvent::Subinterpreter {
                    module: (*module).clone(),
                    stage,
                    outcome,
                });
            }
        }
        checks.finish(py);
    }
    // Output written after the last marker (buffered printf) still belongs to the last stage.
    // SAFETY: fflush(NULL) flushes every open stdio stream; libc locks each one itself.
    unsafe { libc::fflush(std::ptr::null_mut()) };
    results.send(&WorkerEvent::Done);
    Ok(())
}
