//! Starts the embedded interpreter through the PyConfig API, so every setting that decides
//! what an import shows is ours, not the environment's.

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;

use pyo3::ffi;

/// `sys.base_prefix` of the interpreter the worker was built against (see build.rs).
pub const PYTHON_HOME: &str = env!("FTAUDIT_PYTHON_HOME");

/// Initialises CPython in isolated mode. On return the calling thread holds an attached
/// thread state of the main interpreter, for the rest of the process.
pub fn initialize() -> Result<(), String> {
    let home = CString::new(PYTHON_HOME)
        .map_err(|_| "interpreter home contains a NUL byte".to_string())?;
    unsafe {
        let mut pre = MaybeUninit::<ffi::PyPreConfig>::zeroed();
        ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr());
        let mut pre = pre.assume_init();
        // The isolated pre-config leaves the C locale alone; UTF-8 mode keeps non-ASCII
        // site-packages paths and module names decodable whatever LANG the parent had.
        pre.utf8_mode = 1;
        check("Py_PreInitialize", ffi::Py_PreInitialize(&pre))?;

        let mut config = MaybeUninit::<ffi::PyConfig>::zeroed();
        // Isolated: ignores PYTHON* variables (PYTHON_GIL above all), no user site, safe_path.
        ffi::PyConfig_InitIsolatedConfig(config.as_mut_ptr());
        let mut config = config.assume_init();
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
        let status = ffi::PyConfig_SetBytesString(&mut config, &mut config.home, home.as_ptr());
        if let Err(e) = check("PyConfig.home", status) {
            ffi::PyConfig_Clear(&mut config);
            return Err(e);
        }
        let status = ffi::Py_InitializeFromConfig(&config);
        ffi::PyConfig_Clear(&mut config);
        check("Py_InitializeFromConfig", status)
    }
}

/// Turns a failed PyStatus into its message.
pub fn check(what: &str, status: ffi::PyStatus) -> Result<(), String> {
    unsafe {
        if ffi::PyStatus_Exception(status) == 0 {
            return Ok(());
        }
        if ffi::PyStatus_IsExit(status) != 0 {
            return Err(format!(
                "{what}: interpreter asked to exit with status {}",
                status.exitcode
            ));
        }
        let message = c_text(status.err_msg).unwrap_or_else(|| "unknown error".into());
        match c_text(status.func) {
            Some(func) => Err(format!("{what}: {func}: {message}")),
            None => Err(format!("{what}: {message}")),
        }
    }
}

unsafe fn c_text(ptr: *const std::ffi::c_char) -> Option<String> {
    if ptr.is_null() {
        None
    } else {
        Some(CStr::from_ptr(ptr).to_string_lossy().into_owned())
    }
}
