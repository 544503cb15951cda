//! Names and one-line descriptions shared by every human format: binding generators as their
//! projects spell them, and what `scan --reuse` took over.

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

/// `scan --reuse`: what was taken from the earlier report and what ran again, in one line.
pub fn reused_line(reused: &ftaudit_model::Reused) -> String {
    match &reused.refused {
        Some(why) => format!(
            "reuse: nothing taken from {} ({why}); everything ran again",
            reused.from
        ),
        None => format!(
            "reuse: {} distribution(s), {} module(s) unchanged since {} ({}): their probe and stress results are taken from it; {} ran again{}",
            reused.distributions,
            reused.modules,
            reused.from,
            reused.generated_at,
            reused.rescanned.len(),
            if reused.rescanned.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    reused
                        .rescanned
                        .iter()
                        .map(|r| format!("{}: {}", r.distribution, r.reason))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        ),
    }
}
