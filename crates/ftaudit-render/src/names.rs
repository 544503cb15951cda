//! Binding generators as their projects spell them, for every human format.

use ftaudit_model::{Generator, GeneratorFacts};

pub fn generator_label(generator: Generator) -> &'static str {
    match generator {
        Generator::Cython => "Cython",
        Generator::Pybind11 => "pybind11",
        Generator::Pyo3 => "PyO3",
        Generator::Nanobind => "nanobind",
        Generator::Mypyc => "mypyc",
        Generator::Cffi => "cffi",
        Generator::Swig => "SWIG",
        Generator::PlainC => "plain C",
    }
}

/// "PyO3 0.28.3", "pybind11", "plain C".
pub fn generator_name(facts: &GeneratorFacts) -> String {
    match &facts.version {
        Some(v) => format!("{} {v}", generator_label(facts.generator)),
        None => generator_label(facts.generator).to_string(),
    }
}
