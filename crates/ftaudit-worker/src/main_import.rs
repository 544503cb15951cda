//! The main-interpreter side: the helper module (probe.py) and the per-module import.

use std::ffi::CString;
use std::path::PathBuf;

use ftaudit_model::protocol::ImportRecord;
use ftaudit_model::{EmbeddedInterpreter, ImportOutcome};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyModule};
use std::os::unix::ffi::OsStrExt;

const HELPER_SOURCE: &str = include_str!("probe.py");

pub struct Helper<'py> {
    module: Bound<'py, PyModule>,
}

type ProbeTuple = (
    Option<String>,
    Option<String>,
    bool,
    Option<String>,
    f64,
    Vec<String>,
    Vec<String>,
    bool,
    Option<String>,
);

impl<'py> Helper<'py> {
    pub fn load(py: Python<'py>) -> PyResult<Self> {
        let source = CString::new(HELPER_SOURCE).expect("probe.py has no NUL bytes");
        let module =
            PyModule::from_code(py, &source, c"<ftaudit-worker probe.py>", c"_ftaudit_probe")?;
        Ok(Self { module })
    }

    pub fn install_capture(&self) -> PyResult<()> {
        self.module.call_method0("install_capture")?;
        Ok(())
    }

    pub fn facts(&self, gil_enabled_at_startup: bool) -> PyResult<EmbeddedInterpreter> {
        let (
            version,
            abiflags,
            py_gil_disabled,
            gil_enabled_at_startup,
            ext_suffix,
            cache_tag,
            base_prefix,
        ) = self
            .module
            .call_method1("facts", (gil_enabled_at_startup,))?
            .extract::<(String, String, bool, bool, String, String, String)>()?;
        Ok(EmbeddedInterpreter {
            version,
            abiflags,
            py_gil_disabled,
            gil_enabled_at_startup,
            ext_suffix,
            cache_tag,
            base_prefix,
        })
    }

    /// Returns what .pth files printed while the folders were added.
    pub fn add_site_dirs(&self, dirs: &[PathBuf]) -> PyResult<String> {
        // As bytes, decoded with os.fsdecode: PyO3 would hand over pathlib.Path objects, and
        // importing pathlib drags in extension modules (grp) before anything is probed.
        let py = self.module.py();
        let dirs: Vec<Bound<'py, PyBytes>> = dirs
            .iter()
            .map(|d| PyBytes::new(py, d.as_os_str().as_bytes()))
            .collect();
        self.module
            .call_method1("add_site_dirs", (dirs,))?
            .extract()
    }

    pub fn import(&self, module: &str) -> ImportRecord {
        match self
            .module
            .call_method1("probe", (module,))
            .and_then(|r| r.extract::<ProbeTuple>())
        {
            Ok((
                exc,
                message,
                gil_enabled_after,
                gil_warning,
                import_seconds,
                pulled_in,
                gil_required_by,
                already_loaded,
                python_output,
            )) => {
                let outcome = match exc {
                    None => ImportOutcome::Ok,
                    Some(exception) => ImportOutcome::Error {
                        exception,
                        message: message.unwrap_or_default(),
                    },
                };
                ImportRecord {
                    module: module.to_string(),
                    outcome,
                    gil_enabled_after,
                    gil_warning,
                    import_seconds,
                    pulled_in,
                    gil_required_by,
                    already_loaded,
                    python_output,
                }
            }
            // The helper itself failed: say so rather than invent a verdict.
            Err(err) => ImportRecord {
                module: module.to_string(),
                outcome: ImportOutcome::Error {
                    exception: "ftaudit-worker internal error".into(),
                    message: err.to_string(),
                },
                gil_enabled_after: gil_enabled(self.module.py()).unwrap_or(true),
                gil_warning: None,
                import_seconds: 0.0,
                pulled_in: Vec::new(),
                gil_required_by: Vec::new(),
                already_loaded: false,
                python_output: None,
            },
        }
    }
}

pub fn gil_enabled(py: Python<'_>) -> PyResult<bool> {
    py.import("sys")?.call_method0("_is_gil_enabled")?.extract()
}
