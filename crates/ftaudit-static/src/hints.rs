//! One-line fixes per generator for modules that do not declare Py_MOD_GIL_NOT_USED.

use ftaudit_model::Generator;

pub fn gil_fix_hint(generator: Option<Generator>) -> &'static str {
    match generator {
        Some(Generator::Cython) => {
            "Cython >= 3.1: add `# cython: freethreading_compatible = True` (or pass \
             -Xfreethreading_compatible=True) once the module is thread-safe"
        }
        Some(Generator::Pyo3) => {
            "PyO3: upgrade to 0.28+ (modules declare Py_MOD_GIL_NOT_USED by default) and do not set \
             `#[pymodule(gil_used = true)]`; on 0.23-0.27 use `#[pymodule(gil_used = false)]`"
        }
        Some(Generator::Pybind11) => {
            "pybind11 >= 2.13: pass `py::mod_gil_not_used()` to PYBIND11_MODULE"
        }
        Some(Generator::Nanobind) => "nanobind >= 2.2: add `FREE_THREADED` to nanobind_add_module()",
        Some(Generator::Mypyc) => "mypyc >= 1.17 declares it on free-threaded builds: rebuild with a newer mypy",
        Some(Generator::Cffi) => "cffi >= 2.0 declares it: rebuild the module with cffi 2.0 or later",
        Some(Generator::Swig) => "SWIG >= 4.4: generate the wrapper with `-nogil`",
        Some(Generator::PlainC) | None => {
            "add a `{Py_mod_gil, Py_MOD_GIL_NOT_USED}` slot to the module's m_slots (multi-phase init), \
             or call `PyUnstable_Module_SetGIL(module, Py_MOD_GIL_NOT_USED)` in PyInit (single-phase)"
        }
    }
}
