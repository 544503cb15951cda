//! Bakes the embedded interpreter's location into the worker so it runs with no environment:
//! an rpath to libpython (no LD_LIBRARY_PATH) and `sys.base_prefix` for `PyConfig.home` (so the
//! standard library is found wherever the worker binary is copied).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=build.rs");

    // Free-threaded and standard (GIL) builds alike: `cfg(Py_GIL_DISABLED)` tells the code
    // which one it embeds (the legacy subinterpreter's settings differ).
    pyo3_build_config::use_pyo3_cfgs();
    let config = pyo3_build_config::get();
    if config.shared {
        match &config.lib_dir {
            Some(lib_dir) => println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{lib_dir}"),
            None => println!("cargo:warning=pyo3 reported no lib_dir; the worker will need libpython on the loader path"),
        }
    }

    let python = config
        .executable
        .clone()
        .or_else(|| std::env::var("PYO3_PYTHON").ok())
        .expect("pyo3-build-config found no Python executable; set PYO3_PYTHON to a python3.X(t)");
    let output = Command::new(&python)
        .args(["-I", "-c", "import sys; sys.stdout.write(sys.base_prefix)"])
        .output()
        .unwrap_or_else(|e| panic!("could not run {python} to read sys.base_prefix: {e}"));
    if !output.status.success() {
        panic!(
            "{python} failed to report sys.base_prefix: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let base_prefix = String::from_utf8(output.stdout).expect("sys.base_prefix is not UTF-8");
    println!("cargo:rustc-env=FTAUDIT_PYTHON_HOME={base_prefix}");
}
