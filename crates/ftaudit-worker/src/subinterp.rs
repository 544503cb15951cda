//! Subinterpreters (Py_NewInterpreterFromConfig) to import modules in, each returning to the
//! main interpreter's thread state between imports and when ended. Raw C API only: PyO3's safe
//! API assumes the main interpreter. Which module is imported in which interpreter is
//! checks.rs's decision.
//!
//! The worker imports every module of its batch in the main interpreter before any
//! subinterpreter check (see main.rs), because that is how programs use
//! them (the main interpreter always has the module loaded already), and because some
//! modules only fail there: Cython modules without module state raise "Interpreter change
//! detected" only when a second interpreter loads them after the main one, and single-phase
//! modules are then served from CPython's extension cache, where the subinterpreter check
//! applies (Python/import.c, import_find_extension).

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::{self, NonNull};

use ftaudit_model::protocol::ProbeStage;

use ftaudit_model::ImportOutcome;
use pyo3::{ffi, Python};

use crate::interp::check;

const IMPORT_CODE: &CStr = c"
import sys
_ftaudit_error = None
# Ancestors one by one, as `import a.b.c` itself does, so a failure names the package it came from.
_ftaudit_failed_at = None
# A reused interpreter (see warm.rs) may have loaded the module already, as a side effect of a
# sibling's import: then this is no test of it, and the caller starts a fresh interpreter.
_ftaudit_preloaded = 'yes' if _ftaudit_module in sys.modules else None
try:
    if '_ftaudit_ready' not in globals():
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
        import site
        for _d in _ftaudit_site_dirs:
            site.addsitedir(_d)
        _ftaudit_ready = True
    if _ftaudit_preloaded is None:
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
        // Py_NewInterpreter's settings (_PyInterpreterConfig_LEGACY_INIT), except
        // check_multi_interp_extensions on free-threaded builds: they refuse to create a
        // subinterpreter without it (Python/pylifecycle.c, init_interp_settings: "The
        // free-threaded build does not support single-phase init extension modules in
        // subinterpreters"). The standard build keeps the legacy 0, so single-phase modules load.
        _ => ffi::PyInterpreterConfig {
            use_main_obmalloc: 1,
            allow_fork: 1,
            allow_exec: 1,
            allow_threads: 1,
            allow_daemon_threads: 1,
            check_multi_interp_extensions: if cfg!(Py_GIL_DISABLED) { 1 } else { 0 },
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

/// A live subinterpreter of one kind, detached from this thread between imports: the main
/// interpreter's thread state is the attached one whenever no method of this runs.
pub struct Subinterpreter {
    stage: ProbeStage,
    state: NonNull<ffi::PyThreadState>,
    main: NonNull<ffi::PyThreadState>,
}

impl Subinterpreter {
    /// Creates a subinterpreter of the kind `stage` names. `py` is the proof that the main
    /// interpreter's thread state is attached; it is attached again when this returns.
    pub fn create(_py: Python<'_>, stage: ProbeStage) -> Result<Self, String> {
        let config = interpreter_config(stage);
        // SAFETY: `_py` proves this thread has the main interpreter's thread state attached, so PyThreadState_Get returns it (it never returns NULL: it aborts instead).
        let main = unsafe { ffi::PyThreadState_Get() };
        let main = NonNull::new(main).ok_or("no main thread state")?;
        let mut sub: *mut ffi::PyThreadState = ptr::null_mut();
        // Creating and ending an interpreter prints PyConfig.verbose chatter straight to fd 2
        // before its sys.stderr exists; none of it is the module's output.
        let status = with_fd2_silenced(|| {
            // On success the call detaches `main` and attaches the new interpreter's thread
            // state, stored in `sub`; on failure it sets `sub` to NULL and re-attaches `main`.
            // SAFETY: a thread state is attached (`_py`); `sub` and `config` are live locals the call only writes / reads.
            unsafe { ffi::Py_NewInterpreterFromConfig(&mut sub, &config) }
        });
        // SAFETY: `status` was just returned by CPython.
        if let Err(message) = unsafe { check("Py_NewInterpreterFromConfig", status) } {
            // CPython has re-attached `main` already: this swap of the same state is a no-op
            // that keeps "returns with `main` attached" independent of that detail.
            // SAFETY: `main` is the main interpreter's live thread state, owned by this thread.
            unsafe { ffi::PyThreadState_Swap(main.as_ptr()) };
            return Err(format!("could not create the subinterpreter: {message}"));
        }
        let Some(state) = NonNull::new(sub) else {
            // SAFETY: as above; whatever state this thread is in, `main` ends up attached.
            unsafe { ffi::PyThreadState_Swap(main.as_ptr()) };
            return Err("Py_NewInterpreterFromConfig returned no thread state".into());
        };
        // SAFETY: `main` is the main interpreter's live thread state, owned by this thread; swapping detaches the new interpreter's (which stays alive) and attaches `main`.
        unsafe { ffi::PyThreadState_Swap(main.as_ptr()) };
        Ok(Self { stage, state, main })
    }

    pub fn stage(&self) -> ProbeStage {
        self.stage
    }

    /// Imports `module` (parents first) in this interpreter. `preloaded` in the result: the
    /// module was in its `sys.modules` already, so nothing was imported.
    pub fn import(
        &mut self,
        _py: Python<'_>,
        module: &str,
        site_dirs: &[PathBuf],
    ) -> (SubinterpreterImport, bool) {
        // SAFETY: `_py` proves `main` is attached; the swap detaches it and attaches this interpreter's live thread state, owned by this thread.
        unsafe { ffi::PyThreadState_Swap(self.state.as_ptr()) };
        // SAFETY: this interpreter's thread state is attached on this thread.
        let outcome = unsafe { run_import(module, site_dirs) };
        // SAFETY: still attached (run_import neither swaps nor ends it).
        let preloaded = unsafe { global_text(c"_ftaudit_preloaded") }.is_some();
        let failed_at = match outcome {
            // SAFETY: as above.
            ImportOutcome::Error { .. } => unsafe { global_text(c"_ftaudit_failed_at") },
            _ => None,
        };
        // SAFETY: fflush(NULL) flushes every open stdio stream; libc locks each one itself.
        unsafe { libc::fflush(ptr::null_mut()) };
        // SAFETY: `main` is the main interpreter's live thread state; this detaches ours.
        unsafe { ffi::PyThreadState_Swap(self.main.as_ptr()) };
        (SubinterpreterImport { outcome, failed_at }, preloaded)
    }

    /// Ends the interpreter and returns to the main one (attached again on return).
    pub fn end(self, _py: Python<'_>) {
        // No Python frame is running and no exception is pending (run_import and global_text
        // clear theirs).
        // SAFETY: `_py` proves `main` is attached; the swap attaches this interpreter's live thread state.
        unsafe { ffi::PyThreadState_Swap(self.state.as_ptr()) };
        with_fd2_silenced(|| {
            // On return no thread state is attached; `state` is freed and never used again.
            // SAFETY: `state` is the attached thread state of the interpreter being ended, every reference taken in it is released, and `self` is consumed.
            unsafe { ffi::Py_EndInterpreter(self.state.as_ptr()) }
        });
        // SAFETY: no thread state is attached (Py_EndInterpreter left none); `main` is the main interpreter's live thread state, owned by this thread, and becomes attached again.
        unsafe { ffi::PyThreadState_Swap(self.main.as_ptr()) };
    }
}

/// A strong reference to a Python object, released when dropped.
///
/// Only ever held within `run_import` / `global_text` (and the helpers they call), that is
/// while the subinterpreter that owns the object has its thread state attached: none survives
/// into Py_EndInterpreter.
struct Owned(NonNull<ffi::PyObject>);

impl Owned {
    /// Takes over the new reference a C API call returned, or `None` if it returned NULL
    /// (then an exception is pending).
    ///
    /// # Safety
    ///
    /// `ptr` is NULL or a strong reference the caller owns and gives up, and the result is
    /// dropped while the interpreter owning the object is still attached to this thread.
    unsafe fn new(ptr: *mut ffi::PyObject) -> Option<Self> {
        NonNull::new(ptr).map(Self)
    }

    fn as_ptr(&self) -> *mut ffi::PyObject {
        self.0.as_ptr()
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: this is the one strong reference Owned::new was given (never duplicated), released once, with the owning interpreter attached (Owned::new's contract).
        unsafe { ffi::Py_DECREF(self.as_ptr()) }
    }
}

/// A strong reference to the current interpreter's `__main__` module: held rather than
/// borrowed, so that it and its dict stay alive even if the code run there removes
/// `sys.modules['__main__']`. On failure the exception is left pending.
///
/// # Safety
///
/// A thread state must be attached; the result is dropped while it still is.
unsafe fn main_module_ref() -> Option<Owned> {
    // SAFETY: a thread state is attached (contract); the name is a NUL-terminated literal, and PyImport_AddModuleRef returns a new reference or NULL, which Owned takes over.
    unsafe { Owned::new(ffi::PyImport_AddModuleRef(c"__main__".as_ptr())) }
}

/// `name` in the `__main__` dict, as a new reference, or `None` if absent. Err if the lookup
/// raised (the exception is left pending).
///
/// # Safety
///
/// A thread state must be attached and `globals` must be a dict kept alive by the caller; the
/// result is dropped while the thread state is still attached.
unsafe fn dict_get(globals: *mut ffi::PyObject, name: &CStr) -> Result<Option<Owned>, ()> {
    let mut value: *mut ffi::PyObject = ptr::null_mut();
    // It stores a new reference (not a borrowed one, which a thread the module started could
    // invalidate by changing the dict) or NULL.
    // SAFETY: attached, `globals` is a live dict (contract), `name` is NUL-terminated and `value` a live out-pointer.
    let found = unsafe { ffi::PyDict_GetItemStringRef(globals, name.as_ptr(), &mut value) };
    if found < 0 {
        return Err(());
    }
    // SAFETY: `value` is the new reference stored above, or NULL when absent (found == 0).
    Ok(unsafe { Owned::new(value) })
}

/// A str global of the current interpreter's `__main__`, if set. Leaves no exception pending.
///
/// # Safety
///
/// A thread state must be attached.
unsafe fn global_text(name: &CStr) -> Option<String> {
    // SAFETY: attached (contract); the module is dropped before returning.
    let Some(main_module) = (unsafe { main_module_ref() }) else {
        // SAFETY: attached; the failed call left an exception, which must not reach Py_EndInterpreter.
        unsafe { ffi::PyErr_Clear() };
        return None;
    };
    // SAFETY: `main_module` is a live module (PyImport_AddModuleRef only returns modules); the dict is borrowed from it, and it is held until this function returns.
    let globals = unsafe { ffi::PyModule_GetDict(main_module.as_ptr()) };
    if globals.is_null() {
        // SAFETY: attached; clears the SystemError PyModule_GetDict set, if any.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    // SAFETY: attached, `globals` is a live dict kept alive by `main_module`; `value` is dropped before returning.
    let value = match unsafe { dict_get(globals, name) } {
        Ok(value) => value?,
        Err(()) => {
            // SAFETY: attached; clears the exception the failed lookup left.
            unsafe { ffi::PyErr_Clear() };
            return None;
        }
    };
    // SAFETY: attached; `value` is a live object we hold a reference to.
    if unsafe { ffi::PyUnicode_Check(value.as_ptr()) } == 0 {
        return None;
    }
    // SAFETY: `value` is a live str we hold a reference to.
    unsafe { str_text(value.as_ptr()) }
}

/// A copy of the text of `obj` if it is a str. Leaves no exception pending.
///
/// # Safety
///
/// A thread state must be attached and `obj` must be a live object the caller keeps alive
/// for the call.
unsafe fn str_text(obj: *mut ffi::PyObject) -> Option<String> {
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: attached, `obj` live (contract), `len` a live out-pointer. Returns NULL (with TypeError / UnicodeEncodeError set) if it is not a str or has lone surrogates.
    let data = unsafe { ffi::PyUnicode_AsUTF8AndSize(obj, &mut len) };
    if data.is_null() {
        // SAFETY: attached; clears the exception just set.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    // The bytes are copied into an owned String before returning.
    // SAFETY: on success `data` points to `len` (>= 0) bytes of UTF-8 cached in the str, valid as long as `obj` lives, which the caller guarantees for this call.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len as usize) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// Runs IMPORT_CODE in the current (sub)interpreter's `__main__` and reads `_ftaudit_error`.
/// Every reference it takes is released, and no exception is left pending, on every path.
///
/// # Safety
///
/// A thread state must be attached: that of the subinterpreter the import runs in.
unsafe fn run_import(module: &str, site_dirs: &[PathBuf]) -> ImportOutcome {
    // Throughout: the subinterpreter's thread state is attached (this function's contract),
    // and every `Owned` below is dropped before it returns, so while it still is.
    // SAFETY: attached; the module is dropped before returning.
    let Some(main_module) = (unsafe { main_module_ref() }) else {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("no __main__ module") };
    };
    // SAFETY: `main_module` is a live module; the dict is borrowed from it, and it is held until this function returns (the script run below cannot free it).
    let globals = unsafe { ffi::PyModule_GetDict(main_module.as_ptr()) };
    if globals.is_null() {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("__main__ has no dict") };
    }

    // SAFETY: attached; the pointer and length describe the live UTF-8 `module` (a `str` fits in Py_ssize_t); a new reference or NULL, which Owned takes over.
    let name = unsafe {
        Owned::new(ffi::PyUnicode_FromStringAndSize(
            module.as_ptr().cast(),
            module.len() as ffi::Py_ssize_t,
        ))
    };
    let Some(name) = name else {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("could not pass the module name") };
    };
    let key = c"_ftaudit_module".as_ptr();
    // SAFETY: attached, `globals` a live dict, `key` NUL-terminated, `name` a live str; SetItem takes its own reference, ours is released when `name` drops.
    let set = unsafe { ffi::PyDict_SetItemString(globals, key, name.as_ptr()) };
    if set < 0 {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("could not pass the module name") };
    }
    drop(name);

    // SAFETY: attached; a new (empty) list or NULL, which Owned takes over.
    let Some(dirs) = (unsafe { Owned::new(ffi::PyList_New(0)) }) else {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("could not pass the site folders") };
    };
    for dir in site_dirs {
        let bytes = dir.as_os_str().as_bytes();
        // SAFETY: attached; the pointer and length describe the live `bytes`; a new reference or NULL, which Owned takes over.
        let item = unsafe {
            Owned::new(ffi::PyUnicode_DecodeFSDefaultAndSize(
                bytes.as_ptr().cast(),
                bytes.len() as ffi::Py_ssize_t,
            ))
        };
        let Some(item) = item else {
            // SAFETY: attached (contract), all internal_error needs to read and clear the error.
            return unsafe { internal_error("could not pass the site folders") };
        };
        // SAFETY: attached, `dirs` a live list, `item` a live str; Append takes its own reference, ours is released when `item` drops.
        if unsafe { ffi::PyList_Append(dirs.as_ptr(), item.as_ptr()) } < 0 {
            // SAFETY: attached (contract), all internal_error needs to read and clear the error.
            return unsafe { internal_error("could not pass the site folders") };
        }
    }
    // SAFETY: attached, `globals` a live dict, `dirs` a live list; SetItem takes its own reference, ours is released when `dirs` drops.
    let set = unsafe {
        ffi::PyDict_SetItemString(globals, c"_ftaudit_site_dirs".as_ptr(), dirs.as_ptr())
    };
    if set < 0 {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("could not pass the site folders") };
    }
    drop(dirs);

    // `globals` is held through `main_module` even if the script drops sys.modules['__main__'];
    // the result is a new reference or NULL, which Owned takes over.
    // SAFETY: attached; IMPORT_CODE is NUL-terminated and `globals` a live dict.
    let result = unsafe {
        Owned::new(ffi::PyRun_String(
            IMPORT_CODE.as_ptr(),
            ffi::Py_file_input,
            globals,
            globals,
        ))
    };
    if result.is_none() {
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        return unsafe { internal_error("the subinterpreter import script failed") };
    }
    drop(result);

    // SAFETY: attached, `globals` a live dict kept alive by `main_module`; `error` is dropped before returning.
    let error = match unsafe { dict_get(globals, c"_ftaudit_error") } {
        Ok(Some(error)) => error,
        Ok(None) => return ImportOutcome::Ok,
        // SAFETY: attached (contract), all internal_error needs to read and clear the error.
        Err(()) => return unsafe { internal_error("could not read the import's outcome") },
    };
    // SAFETY: attached; Py_IsNone only compares the pointer of the live `error`.
    if unsafe { ffi::Py_IsNone(error.as_ptr()) } != 0 {
        return ImportOutcome::Ok;
    }
    // SAFETY: attached; `error` is a live object we hold a reference to.
    let exception = unsafe { tuple_text(error.as_ptr(), 0) }.unwrap_or_else(|| "<unknown>".into());
    // SAFETY: as above.
    let message = unsafe { tuple_text(error.as_ptr(), 1) }.unwrap_or_default();
    ImportOutcome::Error { exception, message }
}

/// A copy of the str at `index` of `tuple`. Leaves no exception pending.
///
/// # Safety
///
/// A thread state must be attached and `tuple` must be a live object (of any type) the caller
/// keeps alive for the call.
unsafe fn tuple_text(tuple: *mut ffi::PyObject, index: ffi::Py_ssize_t) -> Option<String> {
    // NULL (SystemError / IndexError set) if it is not a tuple or too short.
    // SAFETY: attached, `tuple` live (contract); the item is borrowed from the immutable tuple, which the caller keeps alive for the rest of this call.
    let item = unsafe { ffi::PyTuple_GetItem(tuple, index) };
    if item.is_null() {
        // SAFETY: attached; clears the exception just set.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    // SAFETY: attached; `item` is live for the call (owned by the tuple, see above).
    unsafe { str_text(item) }
}

/// A NotAttempted outcome for a failed C API call; clears the exception it left, if any.
///
/// # Safety
///
/// A thread state must be attached.
unsafe fn internal_error(what: &str) -> ImportOutcome {
    // SAFETY: attached (contract); PyErr_Occurred only reads the thread state's exception.
    let detail = if unsafe { ffi::PyErr_Occurred() }.is_null() {
        String::new()
    } else {
        // SAFETY: attached (contract).
        unsafe { ffi::PyErr_Clear() };
        " (Python raised)".to_string()
    };
    ImportOutcome::NotAttempted {
        reason: format!("ftaudit-worker: {what}{detail}"),
    }
}

/// Runs `f` with fd 2 pointing at /dev/null, then puts the original fd 2 back.
fn with_fd2_silenced<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: fflush(NULL) flushes every open stdio stream; libc locks each one itself.
    unsafe { libc::fflush(ptr::null_mut()) };
    // SAFETY: F_DUPFD_CLOEXEC only duplicates fd 2 (to a new fd >= 3 we own); -1 if fd 2 is not open.
    let saved = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
    // SAFETY: the path is a NUL-terminated literal; a new fd we own, or -1.
    let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    let redirected = saved >= 0 && null >= 0;
    if redirected {
        // SAFETY: both fds are open (checked); dup2 only replaces what fd 2 refers to.
        unsafe { libc::dup2(null, 2) };
    }
    let result = f();
    // SAFETY: as above.
    unsafe { libc::fflush(ptr::null_mut()) };
    if redirected {
        // SAFETY: `saved` is open (checked) and still ours; restores the original fd 2.
        unsafe { libc::dup2(saved, 2) };
    }
    for fd in [saved, null] {
        if fd >= 0 {
            // SAFETY: `fd` was opened above, is owned by nothing else, and is closed once.
            unsafe { libc::close(fd) };
        }
    }
    result
}
