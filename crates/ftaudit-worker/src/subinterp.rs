//! Imports one module in a fresh subinterpreter (Py_NewInterpreterFromConfig), then tears it
//! down and returns to the main interpreter's thread state. Raw C API only: PyO3's safe API
//! assumes the main interpreter.
//!
//! The worker imports every module of its batch in the main interpreter before any
//! subinterpreter check (see main.rs), because that is how programs use
//! them (the main interpreter always has the module loaded already), and because some
//! modules only fail there: Cython modules without module state raise "Interpreter change
//! detected" only when a second interpreter loads them after the main one, and single-phase
//! modules are then served from CPython's extension cache, where the subinterpreter check
//! applies (Python/import.c, import_find_extension).

use std::ffi::{c_int, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr;

use ftaudit_model::protocol::ProbeStage;
use std::collections::HashMap;

use ftaudit_model::ImportOutcome;
use pyo3::ffi;

use crate::interp::check;

const IMPORT_CODE: &CStr = c"
import sys

class _FtauditSink:
    encoding = 'utf-8'
    errors = 'replace'
    def write(self, text):
        return len(text)
    def flush(self):
        pass
    def isatty(self):
        return False

# Python-level output here repeats the main import's; verbose chatter is noise.
sys.stdout = sys.stderr = _FtauditSink()
_ftaudit_error = None
# Ancestors one by one, as `import a.b.c` itself does, so a failure names the package it came from.
_ftaudit_failed_at = None
try:
    import site
    for _d in _ftaudit_site_dirs:
        site.addsitedir(_d)
    from importlib import import_module
    _parts = _ftaudit_module.split('.')
    for _i in range(1, len(_parts) + 1):
        _ftaudit_failed_at = '.'.join(_parts[:_i])
        import_module(_ftaudit_failed_at)
    _ftaudit_failed_at = None
except BaseException as _e:
    _c = type(_e)
    _ftaudit_error = (
        _c.__qualname__ if _c.__module__ == 'builtins' else _c.__module__ + '.' + _c.__qualname__,
        str(_e),
    )
# What the module wrote to the real streams belongs to this stage, not the next.
for _s in (sys.__stdout__, sys.__stderr__):
    try:
        _s.flush()
    except Exception:
        pass
";

fn interpreter_config(stage: ProbeStage) -> ffi::PyInterpreterConfig {
    match stage {
        // What concurrent.interpreters (3.14) and _interpreters.create('isolated') make.
        ProbeStage::IsolatedSubinterpreter => ffi::PyInterpreterConfig {
            use_main_obmalloc: 0,
            allow_fork: 0,
            allow_exec: 0,
            allow_threads: 1,
            allow_daemon_threads: 0,
            check_multi_interp_extensions: 1,
            gil: ffi::PyInterpreterConfig_OWN_GIL,
        },
        // Py_NewInterpreter's settings, except check_multi_interp_extensions: free-threaded
        // builds refuse to create a subinterpreter without it (Python/pylifecycle.c,
        // init_interp_settings: "The free-threaded build does not support single-phase init
        // extension modules in subinterpreters").
        _ => ffi::PyInterpreterConfig {
            use_main_obmalloc: 1,
            allow_fork: 1,
            allow_exec: 1,
            allow_threads: 1,
            allow_daemon_threads: 1,
            check_multi_interp_extensions: 1,
            gil: ffi::PyInterpreterConfig_SHARED_GIL,
        },
    }
}

/// The outcome of one subinterpreter import, and the dotted name whose import raised (the
/// module itself or one of its parent packages).
pub struct SubinterpreterImport {
    pub outcome: ImportOutcome,
    pub failed_at: Option<String>,
}

/// Must be called with the main interpreter's thread state attached; returns with it attached.
pub fn import_in_subinterpreter(
    stage: ProbeStage,
    module: &str,
    site_dirs: &[PathBuf],
) -> SubinterpreterImport {
    let not_attempted = |reason: String| SubinterpreterImport {
        outcome: ImportOutcome::NotAttempted { reason },
        failed_at: None,
    };
    let config = interpreter_config(stage);
    unsafe {
        let main = ffi::PyThreadState_Get();
        let mut sub: *mut ffi::PyThreadState = ptr::null_mut();
        // Creating and ending an interpreter prints PyConfig.verbose chatter straight to fd 2
        // before its sys.stderr exists; none of it is the module's output.
        let status = with_fd2_silenced(|| ffi::Py_NewInterpreterFromConfig(&mut sub, &config));
        if let Err(message) = check("Py_NewInterpreterFromConfig", status) {
            ffi::PyThreadState_Swap(main);
            return not_attempted(format!("could not create the subinterpreter: {message}"));
        }
        if sub.is_null() {
            ffi::PyThreadState_Swap(main);
            return not_attempted("Py_NewInterpreterFromConfig returned no thread state".into());
        }

        let outcome = run_import(module, site_dirs);
        let failed_at = match outcome {
            ImportOutcome::Error { .. } => global_text(c"_ftaudit_failed_at"),
            _ => None,
        };

        libc::fflush(ptr::null_mut());
        with_fd2_silenced(|| ffi::Py_EndInterpreter(sub));
        ffi::PyThreadState_Swap(main);
        SubinterpreterImport { outcome, failed_at }
    }
}

/// A str global of the current interpreter's `__main__`, if set.
unsafe fn global_text(name: &CStr) -> Option<String> {
    let main_module = ffi::PyImport_AddModule(c"__main__".as_ptr());
    if main_module.is_null() {
        return None;
    }
    let value = ffi::PyDict_GetItemString(ffi::PyModule_GetDict(main_module), name.as_ptr());
    if value.is_null() || ffi::PyUnicode_Check(value) == 0 {
        return None;
    }
    let mut len: ffi::Py_ssize_t = 0;
    let data = ffi::PyUnicode_AsUTF8AndSize(value, &mut len);
    if data.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    let bytes = std::slice::from_raw_parts(data.cast::<u8>(), len as usize);
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Runs IMPORT_CODE in the current (sub)interpreter's `__main__` and reads `_ftaudit_error`.
unsafe fn run_import(module: &str, site_dirs: &[PathBuf]) -> ImportOutcome {
    let main_module = ffi::PyImport_AddModule(c"__main__".as_ptr());
    if main_module.is_null() {
        return internal_error("no __main__ module");
    }
    let globals = ffi::PyModule_GetDict(main_module);

    let name =
        ffi::PyUnicode_FromStringAndSize(module.as_ptr().cast(), module.len() as ffi::Py_ssize_t);
    if name.is_null() || ffi::PyDict_SetItemString(globals, c"_ftaudit_module".as_ptr(), name) < 0 {
        return internal_error("could not pass the module name");
    }
    ffi::Py_DECREF(name);

    let dirs = ffi::PyList_New(0);
    for dir in site_dirs {
        let bytes = dir.as_os_str().as_bytes();
        let item = ffi::PyUnicode_DecodeFSDefaultAndSize(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
        );
        if item.is_null() || ffi::PyList_Append(dirs, item) < 0 {
            return internal_error("could not pass the site folders");
        }
        ffi::Py_DECREF(item);
    }
    if ffi::PyDict_SetItemString(globals, c"_ftaudit_site_dirs".as_ptr(), dirs) < 0 {
        return internal_error("could not pass the site folders");
    }
    ffi::Py_DECREF(dirs);

    let result = ffi::PyRun_String(IMPORT_CODE.as_ptr(), ffi::Py_file_input, globals, globals);
    if result.is_null() {
        return internal_error("the subinterpreter import script failed");
    }
    ffi::Py_DECREF(result);

    let error = ffi::PyDict_GetItemString(globals, c"_ftaudit_error".as_ptr());
    if error.is_null() || error == ffi::Py_None() {
        return ImportOutcome::Ok;
    }
    let exception = tuple_text(error, 0).unwrap_or_else(|| "<unknown>".into());
    let message = tuple_text(error, 1).unwrap_or_default();
    ImportOutcome::Error { exception, message }
}

unsafe fn tuple_text(tuple: *mut ffi::PyObject, index: ffi::Py_ssize_t) -> Option<String> {
    let item = ffi::PyTuple_GetItem(tuple, index);
    if item.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    let mut size: ffi::Py_ssize_t = 0;
    let data = ffi::PyUnicode_AsUTF8AndSize(item, &mut size);
    if data.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    let bytes = std::slice::from_raw_parts(data.cast::<u8>(), size as usize);
    Some(String::from_utf8_lossy(bytes).into_owned())
}

unsafe fn internal_error(what: &str) -> ImportOutcome {
    let detail = if ffi::PyErr_Occurred().is_null() {
        String::new()
    } else {
        ffi::PyErr_Clear();
        " (Python raised)".to_string()
    };
    ImportOutcome::NotAttempted {
        reason: format!("ftaudit-worker: {what}{detail}"),
    }
}

fn with_fd2_silenced<T>(f: impl FnOnce() -> T) -> T {
    unsafe {
        libc::fflush(ptr::null_mut());
        let saved = libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3);
        let devnull = CString::new("/dev/null").unwrap();
        let null = libc::open(devnull.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if saved >= 0 && null >= 0 {
            libc::dup2(null, 2);
        }
        let result = f();
        libc::fflush(ptr::null_mut());
        if saved >= 0 && null >= 0 {
            libc::dup2(saved, 2);
        }
        for fd in [saved, null] {
            if fd >= 0 {
                libc::close(fd as c_int);
            }
        }
        result
    }
}

/// Parent packages whose import failed in a fresh subinterpreter of one kind. `import a.b.c`
/// imports `a` and `a.b` first, so once `a` fails in a fresh isolated interpreter, every later
/// `a.*` check of that kind fails the same way; re-running it would only re-import the package's
/// Python layers (numpy, scipy: ~100 ms each) to hit the same error.
#[derive(Default)]
pub struct ParentFailures {
    failed: HashMap<(ProbeStage, String), (String, String)>,
}

impl ParentFailures {
    pub fn known(&self, stage: ProbeStage, module: &str) -> Option<ImportOutcome> {
        let mut parent = String::new();
        for part in module.split('.').take(module.matches('.').count()) {
            if !parent.is_empty() {
                parent.push('.');
            }
            parent.push_str(part);
            if let Some((exception, message)) = self.failed.get(&(stage, parent.clone())) {
                return Some(ImportOutcome::Error {
                    exception: exception.clone(),
                    message: format!(
                        "{message} (raised while importing the parent package '{parent}', which fails \
                         the same way for every submodule; checked once per worker)"
                    ),
                });
            }
        }
        None
    }

    pub fn remember(&mut self, stage: ProbeStage, module: &str, attempt: &SubinterpreterImport) {
        let (Some(failed_at), ImportOutcome::Error { exception, message }) =
            (&attempt.failed_at, &attempt.outcome)
        else {
            return;
        };
        // Only a strict parent package says something about other modules.
        if failed_at != module && module.starts_with(&format!("{failed_at}.")) {
            self.failed.insert(
                (stage, failed_at.clone()),
                (exception.clone(), message.clone()),
            );
        }
    }
}
