//! Bakes the embedded interpreter's location into the worker so it runs with no environment:
//! an rpath to libpython (no LD_LIBRARY_PATH) and `sys.base_prefix` for `PyConfig.home` (so the
//! standard library is found wherever the worker binary is copied).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=build.rs");

    let config = pyo3_build_config::get();
    if !config.is_free_threaded() {
        panic!(
            "ftaudit-worker must embed a free-threaded CPython (Py_GIL_DISABLED=1), but PYO3_PYTHON={} \
             is a default (GIL) build. Point PYO3_PYTHON at a free-threaded interpreter, e.g. the one \
             scripts/provision-python.sh prints.",
            std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "<unset>".into())
        );
    }
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
        .expect("pyo3-build-config found no Python executable; set PYO3_PYTHON to a free-threaded python3.Xt");
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
