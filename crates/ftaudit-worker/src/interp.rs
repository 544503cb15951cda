//! Starts the embedded interpreter through the PyConfig API, so every setting that decides
//! what an import shows is ours, not the environment's.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::ptr;

use pyo3::ffi;

/// Initialises CPython in isolated mode, with `home` (the loaded library's `sys.base_prefix`,
/// which ftaudit read from the interpreter itself) as where its standard library lives. On return the calling thread holds an attached
/// thread state of the main interpreter, for the rest of the process.
///
/// # Safety
///
/// Call once per process, before any other Python C API call, while no other thread uses
/// Python: pre-initialisation and initialisation configure process-wide runtime state.
pub unsafe fn initialize(home: &str) -> Result<(), String> {
    let home =
        CString::new(home).map_err(|_| "interpreter home contains a NUL byte".to_string())?;

    let mut pre = MaybeUninit::<ffi::PyPreConfig>::zeroed();
    // SAFETY: `pre.as_mut_ptr()` points to writable storage for a PyPreConfig; the function only fills it in and needs no runtime state.
    unsafe { ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr()) };
    // SAFETY: PyPreConfig_InitIsolatedConfig set every field, and PyPreConfig holds only integers, so even the zeroed bytes were a valid value.
    let mut pre = unsafe { pre.assume_init() };
    // The isolated pre-config leaves the C locale alone; UTF-8 mode keeps non-ASCII
    // site-packages paths and module names decodable whatever LANG the parent had.
    pre.utf8_mode = 1;
    // SAFETY: `pre` is an initialised PyPreConfig that outlives the call (CPython copies it); per this function's contract nothing else has touched the runtime yet.
    let status = unsafe { ffi::Py_PreInitialize(&pre) };
    // SAFETY: `status` was just returned by CPython.
    unsafe { check("Py_PreInitialize", status) }?;

    let mut config = MaybeUninit::<ffi::PyConfig>::zeroed();
    // Isolated: ignores PYTHON* variables (PYTHON_GIL above all), no user site, safe_path.
    // SAFETY: `config.as_mut_ptr()` points to writable storage for a PyConfig; the function only fills it in (defaults, no allocation) and needs no runtime state.
    unsafe { ffi::PyConfig_InitIsolatedConfig(config.as_mut_ptr()) };
    // From here `config` owns heap strings CPython allocates into it, freed by PyConfig_Clear
    // on every path below.
    // SAFETY: PyConfig_InitIsolatedConfig set every field (integers, NULL pointers and empty wide-string lists), so `config` is a valid PyConfig.
    let mut config = unsafe { config.assume_init() };
    // site.addsitedir runs later, for the requested folders only, so the base
    // interpreter's own site-packages never leaks in.
    config.site_import = 0;
    // Verbose is what makes _PyImport_CheckGILForModule name every GIL-requiring module,
    // not just the first one (the RuntimeWarning is issued once per process).
    config.verbose = 1;
    config.user_site_directory = 0;
    config.safe_path = 1;
    config.write_bytecode = 0;
    // A crash then leaves a Python traceback on fd 2, which the parent attributes to the stage.
    config.faulthandler = 1;
    // enable_gil stays at its default: forcing it either way hides what modules declare.
    let config_ptr: *mut ffi::PyConfig = &mut config;
    // The field pointer is derived from `config_ptr` itself, so no second `&mut` to the struct
    // is live while C writes through both; CPython copies `home` into `config.home`.
    // SAFETY: `config_ptr` points to the initialised `config`; `home` is NUL-terminated and outlives the call.
    let status = unsafe {
        ffi::PyConfig_SetBytesString(
            config_ptr,
            ptr::addr_of_mut!((*config_ptr).home),
            home.as_ptr(),
        )
    };
    // SAFETY: `status` was just returned by CPython.
    if let Err(e) = unsafe { check("PyConfig.home", status) } {
        // SAFETY: `config` was initialised by PyConfig_InitIsolatedConfig and is cleared once.
        unsafe { ffi::PyConfig_Clear(&mut config) };
        return Err(e);
    }
    // On success this thread is left attached to the main interpreter.
    // SAFETY: `config` is a valid PyConfig that outlives the call (CPython copies it); the runtime is pre-initialised and not yet initialised (this function's contract).
    let status = unsafe { ffi::Py_InitializeFromConfig(&config) };
    // SAFETY: `config` is still the initialised PyConfig, cleared once; Py_InitializeFromConfig kept its own copy, so freeing ours is what the PyConfig API asks for.
    unsafe { ffi::PyConfig_Clear(&mut config) };
    // SAFETY: `status` was just returned by CPython.
    unsafe { check("Py_InitializeFromConfig", status) }
}

/// Turns a failed PyStatus into its message.
///
/// # Safety
///
/// `status` must be a PyStatus CPython returned: its `err_msg` and `func` are then NULL or
/// NUL-terminated static strings (PyStatus's fields are public, so a forged one could hold
/// any pointer).
pub unsafe fn check(what: &str, status: ffi::PyStatus) -> Result<(), String> {
    // SAFETY: PyStatus_Exception only reads the struct passed by value; it needs no runtime state and no attached thread.
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    // SAFETY: as above, a pure function of the value passed.
    if unsafe { ffi::PyStatus_IsExit(status) } != 0 {
        return Err(format!(
            "{what}: interpreter asked to exit with status {}",
            status.exitcode
        ));
    }
    // SAFETY: per this function's contract `err_msg` is NULL or a static C string.
    let message = unsafe { c_text(status.err_msg) }.unwrap_or_else(|| "unknown error".into());
    // SAFETY: per this function's contract `func` is NULL or a static C string.
    match unsafe { c_text(status.func) } {
        Some(func) => Err(format!("{what}: {func}: {message}")),
        None => Err(format!("{what}: {message}")),
    }
}

/// # Safety
///
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid for the call.
unsafe fn c_text(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: non-NULL (checked) and NUL-terminated, valid for the call (contract); the borrowed CStr does not outlive the call, its text is copied into an owned String.
        let text = unsafe { CStr::from_ptr(ptr) };
        Some(text.to_string_lossy().into_owned())
    }
}
