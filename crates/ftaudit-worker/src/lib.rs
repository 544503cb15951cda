//! ftaudit-worker: imports the modules a ProbeRequest names inside the user's own CPython and
//! reports each stage on the result pipe. It is a library built once per CPython ABI (`3.14t`,
//! `3.13t`, `3.14`) and linked to no libpython, so one build serves every interpreter of that
//! ABI, wherever it was installed from. Two ways in, same protocol, same code:
//!
//! - **embedded** (the interpreter has a shared libpython): `ftaudit-embed` loads that library
//!   by path, then this one, and calls [`ftaudit_worker_embedded`], which initialises CPython
//!   with our own PyConfig (`interp.rs`);
//! - **hosted** (libpython is linked into `python` itself): the interpreter, started isolated,
//!   loads this library as the extension module `_ftaudit_worker` and calls `hosted_main`.
//!
//! Arguments either way: `--request <file.json> --result-fd 3 [--markers <token>]`, plus
//! `--home <base_prefix>` when embedded. stdout and stderr belong to the modules being
//! imported; the worker never writes its results there.

// Every `unsafe` block says why it is sound; inside an `unsafe fn`, each unsafe operation
// still needs a block of its own (and so a comment of its own).
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod channel;
mod checks;
mod entry;
mod interp;
mod main_import;
mod subinterp;

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStringExt;

use pyo3::prelude::*;

/// The ABI this build serves, e.g. "3.14t" (build.rs).
const ABI: &str = env!("FTAUDIT_WORKER_ABI");

/// The same, findable in the file without loading it: `ftaudit workers` reads it from the
/// bytes, since loading the library needs an interpreter of that very ABI.
#[used]
static ABI_MARKER: &str = concat!("ftaudit-worker-abi=", env!("FTAUDIT_WORKER_ABI"), ";");

/// The ABI this build serves, NUL-terminated, for `ftaudit-embed` to compare with the
/// library it loaded before handing over.
#[no_mangle]
pub extern "C" fn ftaudit_worker_abi() -> *const c_char {
    const TEXT: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("FTAUDIT_WORKER_ABI"), "\0").as_bytes()) {
            Ok(text) => text,
            Err(_) => panic!("the ABI tag has no NUL byte"),
        };
    TEXT.as_ptr()
}

/// The embedded entry: libpython is loaded (by `ftaudit-embed`) but not initialised.
/// Returns an exit status on failure; on success the process ends inside (`_exit`).
///
/// # Safety
///
/// `argv` holds `argc` pointers to NUL-terminated strings (the caller's own `argv`), and
/// no Python API has been called in this process yet.
#[no_mangle]
pub unsafe extern "C" fn ftaudit_worker_embedded(argc: c_int, argv: *const *const c_char) -> c_int {
    let count = usize::try_from(argc).unwrap_or(0);
    let mut args = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: `i < argc` and the caller promises `argc` valid entries.
        let arg = unsafe { *argv.add(i) };
        if arg.is_null() {
            break;
        }
        // SAFETY: non-NULL and NUL-terminated (the caller's contract); copied at once.
        let bytes = unsafe { CStr::from_ptr(arg) }.to_bytes().to_vec();
        args.push(OsString::from_vec(bytes));
    }
    // SAFETY: forwarded contract: no Python API call has been made in this process.
    unsafe { entry::embedded(args) }
}

/// The hosted entry: `python -I -S ... -c <bootstrap>` loads this module and calls
/// `hosted_main(args, gil_enabled_at_startup)`; it reads the GIL state before loading us, since
/// loading any extension could change it.
#[pymodule(gil_used = false)]
#[pyo3(name = "_ftaudit_worker")]
fn hosted_module(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(hosted_main, module)?)?;
    module.add("ABI", ABI)?;
    Ok(())
}

#[pyfunction]
fn hosted_main(py: Python<'_>, args: Vec<OsString>, gil_enabled_at_startup: bool) -> i32 {
    entry::hosted(py, args, gil_enabled_at_startup)
}
