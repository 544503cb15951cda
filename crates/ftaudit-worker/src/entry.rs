//! The two entries' shared body: read the arguments and the request, open the result pipe,
//! then (interpreter running) import every module and run the subinterpreter checks.

use std::ffi::OsString;
use std::path::PathBuf;

use ftaudit_model::protocol::{ProbeRequest, ProbeStage, WorkerEvent};
use pyo3::Python;

use crate::channel::{write_all_fd, ResultChannel, StageMarkers};
use crate::main_import::{self, Helper};
use crate::{checks, interp};

struct Args {
    request: PathBuf,
    result_fd: i32,
    markers: Option<String>,
    /// `sys.base_prefix` of the interpreter whose libpython was loaded (embedded only).
    home: Option<String>,
}

const USAGE: &str =
    "usage: ftaudit-worker [--home <base_prefix>] --request <file.json> --result-fd <fd> [--markers <token>]";

/// Exit statuses before the first result (the parent reports them with the worker's stderr).
const BAD_ARGUMENTS: i32 = 2;
const NO_INTERPRETER: i32 = 3;
const INTERNAL: i32 = 4;

fn parse_args(args: Vec<OsString>) -> Result<Args, String> {
    let mut request = None;
    let mut result_fd = None;
    let mut markers = None;
    let mut home = None;
    let mut args = args.into_iter();
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
            Some("--home") => home = Some(value("--home")?.to_string_lossy().into_owned()),
            _ => return Err(format!("unexpected argument {arg:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        request: request.ok_or_else(|| format!("--request is required\n{USAGE}"))?,
        result_fd: result_fd.ok_or_else(|| format!("--result-fd is required\n{USAGE}"))?,
        markers,
        home,
    })
}

fn read_request(path: &PathBuf) -> Result<ProbeRequest, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read request {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("invalid request {}: {e}", path.display()))
}

/// Arguments, request and result pipe: everything that needs no interpreter.
fn prepare(args: Vec<OsString>) -> Result<(Args, ProbeRequest, ResultChannel), String> {
    let args = parse_args(args)?;
    let request = read_request(&args.request)?;
    // read_request's file was closed again before this point.
    // SAFETY: the parent passed this descriptor down (above 2, parse_args checks) and nothing in this process has opened or wrapped it, so the channel becomes its only owner.
    let results = unsafe { ResultChannel::from_fd(args.result_fd) }?;
    Ok((args, request, results))
}

/// Embedded: initialise CPython ourselves, then run.
///
/// # Safety
///
/// No Python API has been called in this process yet (libpython is loaded, not initialised).
pub unsafe fn embedded(args: Vec<OsString>) -> i32 {
    let (args, request, mut results) = match prepare(args) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("ftaudit-worker: {e}");
            return BAD_ARGUMENTS;
        }
    };
    let Some(home) = args.home.as_deref() else {
        eprintln!("ftaudit-worker: --home is required when embedded\n{USAGE}");
        return BAD_ARGUMENTS;
    };
    // SAFETY: called once, from the main thread, before any other Python API call (this function's contract) and before this process starts any thread.
    if let Err(e) = unsafe { interp::initialize(home) } {
        eprintln!("ftaudit-worker: cannot start the embedded interpreter (home {home}): {e}");
        return NO_INTERPRETER;
    }
    // Initialisation left this thread attached to the main interpreter, and it stays attached
    // for the life of the process (subinterpreter stages swap back before returning).
    // Python::attach sees that (PyGILState_Ensure on an already attached thread state only
    // counts) and gives PyO3 a token bounded by the closure, with PyO3's attach count set so
    // references dropped in `run` are released at once rather than queued.
    let outcome = Python::attach(|py| {
        // Read before anything is imported: the helper's own imports could not change it,
        // but a module loaded from a .pth file could.
        let gil_at_startup = main_import::gil_enabled(py)
            .map_err(|e| format!("sys._is_gil_enabled() failed: {e}"))?;
        run(py, &request, &mut results, args.markers, gil_at_startup)
    });
    finish(outcome)
}

/// Hosted: the interpreter that loaded us is already running, with this thread attached.
pub fn hosted(py: Python<'_>, args: Vec<OsString>, gil_at_startup: bool) -> i32 {
    let (args, request, mut results) = match prepare(args) {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("ftaudit-worker: {e}");
            return BAD_ARGUMENTS;
        }
    };
    if args.home.is_some() {
        eprintln!("ftaudit-worker: --home is for the embedded worker; a hosted one runs in its own interpreter");
        return BAD_ARGUMENTS;
    }
    finish(run(
        py,
        &request,
        &mut results,
        args.markers,
        gil_at_startup,
    ))
}

fn finish(outcome: Result<(), String>) -> i32 {
    if let Err(e) = outcome {
        eprintln!("ftaudit-worker: {e}");
        return INTERNAL;
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
    markers: Option<String>,
    gil_at_startup: bool,
) -> Result<(), String> {
    let markers = StageMarkers::new(markers);
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
