//! The worker links no libpython (scripts/build.sh gives pyo3 a configuration file with
//! `suppress_build_script_link_lines`): the user's interpreter supplies the C API at run time,
//! either as a shared library `ftaudit-embed` loads first, or as the running `python` itself.
//! What this build needs is only which ABI it is for, which it records in the library.

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_CONFIG_FILE");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=build.rs");

    // Free-threaded and standard (GIL) builds alike: `cfg(Py_GIL_DISABLED)` tells the code
    // which one it serves (the legacy subinterpreter's settings differ).
    pyo3_build_config::use_pyo3_cfgs();
    let config = pyo3_build_config::get();
    if !config.suppress_build_script_link_lines {
        println!(
            "cargo:warning=pyo3 links this worker to libpython {}; the worker then serves only that library. scripts/build.sh builds it unlinked",
            config.lib_name.as_deref().unwrap_or("(unnamed)")
        );
    }
    let free_threaded = config
        .build_flags
        .0
        .contains(&pyo3_build_config::BuildFlag::Py_GIL_DISABLED);
    // "3.14t": what ftaudit matches against an interpreter's `X.Y` + `sys.abiflags`.
    println!(
        "cargo:rustc-env=FTAUDIT_WORKER_ABI={}.{}{}",
        config.version.major,
        config.version.minor,
        if free_threaded { "t" } else { "" }
    );
}
