//! Binding-generator fingerprints (reference section 6): one multi-pattern pass over the
//! file's string-bearing sections (data, symbol names), then a priority order for files that match
//! more than one generator.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use ftaudit_model::{Generator, GeneratorFacts};

use crate::image::Image;

/// (pattern, generator). Strings chosen from each generator's runtime: names it registers,
/// capsules, and (for Rust crates) the cargo registry paths panics embed.
const PATTERNS: &[(&str, Generator)] = &[
    ("pyo3_runtime", Generator::Pyo3),
    ("/pyo3-0.", Generator::Pyo3),
    ("\\pyo3-0.", Generator::Pyo3),
    ("__pybind11_internals_v", Generator::Pybind11),
    ("pybind11_object", Generator::Pybind11),
    ("__nb_signature__", Generator::Nanobind),
    ("nb_func", Generator::Nanobind),
    ("nanobind", Generator::Nanobind),
    ("CPyInit_", Generator::Mypyc),
    ("mypyc", Generator::Mypyc),
    ("_init_cffi_1_0_external_module", Generator::Cffi),
    ("_cffi_backend", Generator::Cffi),
    ("swig_runtime_data", Generator::Swig),
    ("SwigPyObject", Generator::Swig),
    ("__pyx_capi__", Generator::Cython),
    ("cython_runtime", Generator::Cython),
    ("_cython_", Generator::Cython),
];

/// When strings of several generators appear (a Cython module mentioning cffi, a PyO3 crate
/// embedding a C library), the generator earlier here wins.
const PRIORITY: &[Generator] = &[
    Generator::Pyo3,
    Generator::Nanobind,
    Generator::Pybind11,
    Generator::Mypyc,
    Generator::Cython,
    Generator::Swig,
    Generator::Cffi,
];

fn automaton() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(PATTERNS.iter().map(|p| p.0))
            .expect("fixed fingerprint patterns compile")
    })
}

#[derive(Default)]
struct Hits {
    evidence: Vec<String>,
    version: Option<String>,
}

pub(crate) fn detect(image: &Image<'_>) -> GeneratorFacts {
    let ac = automaton();
    let mut hits: Vec<Hits> = PRIORITY.iter().map(|_| Hits::default()).collect();
    let mut seen = vec![false; PATTERNS.len()];
    for &(start, end) in &image.string_ranges {
        let hay = &image.data[start..end];
        for m in ac.find_iter(hay) {
            let (pattern, generator) = PATTERNS[m.pattern().as_usize()];
            let Some(slot) = PRIORITY.iter().position(|g| *g == generator) else {
                continue;
            };
            let h = &mut hits[slot];
            let after = &hay[m.end()..hay.len().min(m.end() + 64)];
            if h.version.is_none() {
                h.version = version_after(pattern, after);
            }
            if !seen[m.pattern().as_usize()] {
                seen[m.pattern().as_usize()] = true;
                h.evidence.push(describe(pattern, after));
            }
        }
    }
    for (slot, generator) in PRIORITY.iter().enumerate() {
        if !hits[slot].evidence.is_empty() {
            let h = std::mem::take(&mut hits[slot]);
            return GeneratorFacts {
                generator: *generator,
                version: h.version,
                evidence: h.evidence,
            };
        }
    }
    GeneratorFacts {
        generator: Generator::PlainC,
        version: None,
        evidence: vec!["no binding-generator strings found".into()],
    }
}

/// Evidence text: the pattern plus the identifier characters that follow it
/// (`__pybind11_internals_v11_gcc_libstdcpp_cxxabi1018`, `_cython_3_1_2`).
fn describe(pattern: &str, after: &[u8]) -> String {
    let tail: String = after
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.')
        .map(|&b| b as char)
        .collect();
    format!("{}{}", pattern.trim_start_matches(['/', '\\']), tail)
}

fn version_after(pattern: &str, after: &[u8]) -> Option<String> {
    match pattern {
        // `_cython_3_1_2` (the shared-type module name).
        "_cython_" => {
            let v: String = after
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'_')
                .map(|&b| b as char)
                .collect();
            let v = v.trim_end_matches('_').replace('_', ".");
            (v.contains('.') && v.starts_with(|c: char| c.is_ascii_digit())).then_some(v)
        }
        // `.../pyo3-0.26.0/src/...` in a cargo registry path.
        "/pyo3-0." | "\\pyo3-0." => {
            let v: String = after
                .iter()
                .take_while(|b| b.is_ascii_digit() || **b == b'.')
                .map(|&b| b as char)
                .collect();
            let v = v.trim_end_matches('.');
            (!v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit())).then(|| format!("0.{v}"))
        }
        _ => None,
    }
}
