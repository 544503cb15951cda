//! ftaudit-embed: runs the probe worker inside the shared libpython of the user.
//!
//!     ftaudit-embed --libpython <libpythonX.Y[t].so> --worker <ftaudit-worker-X.Y[t].so> -- <worker arguments>
//!
//! The worker library links no libpython. This loads the interpreter's library by its absolute
//! path with RTLD_GLOBAL, so its symbols satisfy those of the worker, then the worker, checks that the
//! two are of the same Python version, and hands over. No `LD_LIBRARY_PATH` is set: nothing the
//! imported modules start inherits a library path that could pick the library of another interpreter,
//! and an extension that names libpython itself gets the one already loaded (same soname).

// Every `unsafe` block says why it is sound, in a one-line `// SAFETY:` comment right above it
// (as in crates/ftaudit-worker); the workspace lint denies one without.
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(unix)]
fn main() {
    std::process::exit(unix::main());
}

#[cfg(not(unix))]
fn main() {
    eprintln!("ftaudit-embed: the probe runs on Linux only");
    std::process::exit(2);
}

#[cfg(unix)]
mod unix {
    use std::ffi::{c_char, c_int, c_void, CStr, CString, OsString};
    use std::os::unix::ffi::{OsStrExt, OsStringExt};

    const USAGE: &str =
        "usage: ftaudit-embed --libpython <library> --worker <worker library> -- <worker arguments>";
    /// Exit status for a library that cannot be loaded or does not fit (as the no-interpreter
    /// status of the worker itself).
    const CANNOT_LOAD: i32 = 3;

    type Entry = unsafe extern "C" fn(c_int, *const *const c_char) -> c_int;
    type AbiTag = extern "C" fn() -> *const c_char;

    pub fn main() -> i32 {
        let mut libpython = None;
        let mut worker = None;
        let mut args = std::env::args_os().skip(1);
        let mut rest: Vec<OsString> = Vec::new();
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--libpython") => libpython = args.next(),
                Some("--worker") => worker = args.next(),
                Some("--") => {
                    rest.extend(args.by_ref());
                    break;
                }
                _ => {
                    eprintln!("ftaudit-embed: unexpected argument {arg:?}\n{USAGE}");
                    return 2;
                }
            }
        }
        let (Some(libpython), Some(worker)) = (libpython, worker) else {
            eprintln!("ftaudit-embed: --libpython and --worker are required\n{USAGE}");
            return 2;
        };
        match start(&libpython, &worker, rest) {
            Ok(status) => status,
            Err(e) => {
                eprintln!("ftaudit-embed: {e}");
                CANNOT_LOAD
            }
        }
    }

    fn start(libpython: &OsString, worker: &OsString, args: Vec<OsString>) -> Result<i32, String> {
        let python_lib = open(libpython, libc::RTLD_NOW | libc::RTLD_GLOBAL)?;
        let worker_lib = open(worker, libc::RTLD_NOW | libc::RTLD_LOCAL)?;
        let python_version = symbol(python_lib, c"Py_Version", libpython)?;
        // SAFETY: `Py_Version` is a `const unsigned long` exported by CPython 3.11+, found above.
        let hex_version = unsafe { *(python_version as *const std::ffi::c_ulong) };
        let abi_fn = symbol(worker_lib, c"ftaudit_worker_abi", worker)?;
        // SAFETY: the worker exports `ftaudit_worker_abi` with this exact signature (its lib.rs).
        let abi_fn: AbiTag = unsafe { std::mem::transmute::<*mut c_void, AbiTag>(abi_fn) };
        // SAFETY: the function returns a pointer to a static NUL-terminated string.
        let abi = unsafe { CStr::from_ptr(abi_fn()) }
            .to_string_lossy()
            .into_owned();
        let library_minor = format!(
            "{}.{}",
            (hex_version >> 24) & 0xff,
            (hex_version >> 16) & 0xff
        );
        if abi.trim_end_matches('t') != library_minor {
            return Err(format!(
                "{} is Python {library_minor}, but the worker {} serves {abi}",
                show(libpython),
                show(worker)
            ));
        }
        let entry = symbol(worker_lib, c"ftaudit_worker_embedded", worker)?;
        // SAFETY: the worker exports `ftaudit_worker_embedded` with the `Entry` signature.
        let entry: Entry = unsafe { std::mem::transmute::<*mut c_void, Entry>(entry) };
        let owned: Vec<CString> = args
            .into_iter()
            .map(|a| {
                CString::new(a.into_vec()).map_err(|_| "an argument holds a NUL byte".to_string())
            })
            .collect::<Result<_, _>>()?;
        let mut argv: Vec<*const c_char> = owned.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let argc = c_int::try_from(owned.len()).map_err(|_| "too many arguments".to_string())?;
        // SAFETY: `argv` holds `argc` live C strings then NULL; libpython is loaded, no Python call made.
        Ok(unsafe { entry(argc, argv.as_ptr()) })
    }

    fn open(path: &OsString, flags: c_int) -> Result<*mut c_void, String> {
        let c_path = CString::new(path.as_bytes())
            .map_err(|_| format!("{} holds a NUL byte", show(path)))?;
        // SAFETY: `c_path` is NUL-terminated and alive for the call; dlopen copies what it keeps.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), flags) };
        if handle.is_null() {
            return Err(format!("cannot load {}: {}", show(path), last_error()));
        }
        Ok(handle)
    }

    fn symbol(handle: *mut c_void, name: &CStr, path: &OsString) -> Result<*mut c_void, String> {
        // SAFETY: `handle` is from a successful dlopen, never closed; `name` is NUL-terminated.
        let found = unsafe { libc::dlsym(handle, name.as_ptr()) };
        if found.is_null() {
            return Err(format!(
                "{} has no symbol {}: {}",
                show(path),
                name.to_string_lossy(),
                last_error()
            ));
        }
        Ok(found)
    }

    fn last_error() -> String {
        // SAFETY: dlerror gives NULL or a C string valid until the next dl* call; copied at once.
        let message = unsafe { libc::dlerror() };
        if message.is_null() {
            "no detail".into()
        } else {
            // SAFETY: non-NULL (checked), NUL-terminated (the dlerror contract), copied at once.
            unsafe { CStr::from_ptr(message) }
                .to_string_lossy()
                .into_owned()
        }
    }

    fn show(path: &OsString) -> String {
        std::path::Path::new(path).display().to_string()
    }
}
