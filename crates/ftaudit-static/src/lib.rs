//! Static analysis of native Python extension modules: which CPython ABI they target, which
//! binding generator made them, and what each module declares about the GIL and
//! subinterpreters — read from ELF, Mach-O and PE files without running them.
//!
//! The method (reference doc section 3): map pointer slots to their targets from the loader's
//! relocation tables, find the PyModuleDef through its m_name string, and decode m_slots.

mod abi;
mod code;
mod elf;
mod generator;
mod headers;
mod hints;
mod image;
mod macho;
mod moddef;
mod pe;
mod problem;
mod runtime;
mod verdict;

use ftaudit_model::{
    Architecture, BinaryFormat, FileKind, FileProblem, FileProblemKind, Generator, StaticFacts,
    StaticModule,
};
use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};

// For the fuzz target in fuzz/ and its regression test (not API).
#[doc(hidden)]
pub mod fuzzing;

pub use abi::abi_from_file_name;
pub use headers::{identify_library, HEADER_BYTES};
pub use hints::gil_fix_hint;

use image::Image;
use problem::{Problem, ProblemResult};

/// `file_name` is the file's base name (for the ABI suffix); `bytes` the whole file
/// (memory-mapped or decompressed).
pub fn analyze(file_name: &str, bytes: &[u8]) -> Result<StaticFacts, FileProblem> {
    analyze_inner(file_name, bytes).map_err(|p| p.into_file_problem(file_name))
}

fn analyze_inner(file_name: &str, bytes: &[u8]) -> ProblemResult<StaticFacts> {
    let (format, architectures, image) = match sniff(bytes)? {
        Sniffed::Elf => {
            let image = elf::parse(bytes)?;
            (BinaryFormat::Elf, vec![image.arch.clone()], image)
        }
        Sniffed::MachO => {
            let image = macho::parse(bytes)?;
            (BinaryFormat::MachO, vec![image.arch.clone()], image)
        }
        Sniffed::Pe => {
            let image = pe::parse(bytes)?;
            (BinaryFormat::Pe, vec![image.arch.clone()], image)
        }
        Sniffed::Fat => {
            let (arches, image) = fat(bytes)?;
            (BinaryFormat::MachOFat, arches, image)
        }
    };

    let mut seen = Vec::new();
    let entries: Vec<_> = image
        .entries
        .iter()
        .filter(|e| {
            let first = !seen.contains(&e.name);
            seen.push(e.name.clone());
            first
        })
        .filter_map(|e| {
            let mut entry = verdict::parse_entry(&e.name)?;
            entry.address = e.address;
            Some(entry)
        })
        .collect();
    // Only extension modules have a generator to speak of; bundled libraries are often the
    // largest files (BLAS, Arrow), so they are not searched for fingerprints at all.
    let (kind, generator) = if entries.is_empty() {
        (FileKind::SharedLibrary, None)
    } else {
        (FileKind::ExtensionModule, Some(generator::detect(&image)))
    };
    let note = generator
        .as_ref()
        .and_then(|g| generator_note(g.generator, image.imports.set_gil));
    let mut modules: Vec<_> = entries
        .into_iter()
        .map(|entry| verdict::module_facts(&image, entry, note))
        .collect();
    if generator.as_ref().map(|g| g.generator) == Some(Generator::Mypyc) {
        mark_mypyc_init_alias(&mut modules);
    }
    let abi = abi::abi_facts(file_name, &image, &modules);
    Ok(StaticFacts {
        format,
        architectures,
        kind,
        abi,
        generator,
        modules,
    })
}

/// mypyc's shim for module `x` exports `PyInit_x` and `PyInit___init__`, whose body is
/// `return PyInit_x();` ("distutils sometimes spuriously tells cl to export CPyInit___init__").
/// The alias is the same module, so it is marked rather than judged on its own.
fn mark_mypyc_init_alias(modules: &mut [StaticModule]) {
    let others: Vec<String> = modules
        .iter()
        .filter(|m| m.name != "__init__")
        .map(|m| m.name.clone())
        .collect();
    if let [only] = others.as_slice() {
        for module in modules.iter_mut().filter(|m| m.name == "__init__") {
            module.alias_of = Some(only.clone());
        }
    }
}

pub(crate) enum Sniffed {
    Elf,
    MachO,
    Fat,
    Pe,
}

pub(crate) fn sniff(bytes: &[u8]) -> ProblemResult<Sniffed> {
    let unknown = || {
        Problem::new(
            FileProblemKind::UnknownFormat,
            "not an ELF, Mach-O or PE file",
        )
    };
    if bytes.len() < 4 {
        return Err(unknown());
    }
    let head = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if head == *b"\x7fELF" {
        return Ok(Sniffed::Elf);
    }
    if head[..2] == *b"MZ" {
        return Ok(Sniffed::Pe);
    }
    let le = u32::from_le_bytes(head);
    if matches!(le, 0xfeed_facf | 0xfeed_face)
        || matches!(u32::from_be_bytes(head), 0xfeed_facf | 0xfeed_face)
    {
        return Ok(Sniffed::MachO);
    }
    if matches!(u32::from_be_bytes(head), 0xcafe_babe | 0xcafe_babf) {
        return Ok(Sniffed::Fat);
    }
    Err(unknown())
}

/// Universal file: every slice's architecture, facts from the first slice with an entry point.
fn fat(bytes: &[u8]) -> ProblemResult<(Vec<Architecture>, Image<'_>)> {
    let slices: Vec<&[u8]> =
        if u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) == 0xcafe_babe {
            let fat = MachOFatFile32::parse(bytes).map_err(|e| fat_problem(bytes, e))?;
            fat.arches()
                .iter()
                .map(|a| a.data(bytes))
                .collect::<Result<_, _>>()
                .map_err(|e| fat_problem(bytes, e))?
        } else {
            let fat = MachOFatFile64::parse(bytes).map_err(|e| fat_problem(bytes, e))?;
            fat.arches()
                .iter()
                .map(|a| a.data(bytes))
                .collect::<Result<_, _>>()
                .map_err(|e| fat_problem(bytes, e))?
        };
    if slices.is_empty() {
        return Err(Problem::new(
            FileProblemKind::Malformed,
            "universal Mach-O file with no slices",
        ));
    }
    let mut arches = Vec::new();
    let mut chosen: Option<Image<'_>> = None;
    let mut first: Option<Image<'_>> = None;
    for slice in slices {
        let image = macho::parse(slice)?;
        arches.push(image.arch.clone());
        if chosen.is_none() && !image.entries.is_empty() {
            chosen = Some(image);
        } else if first.is_none() {
            first = Some(image);
        }
    }
    let image = chosen
        .or(first)
        .ok_or_else(|| Problem::new(FileProblemKind::Malformed, "no readable slice"))?;
    Ok((arches, image))
}

fn fat_problem(bytes: &[u8], e: object::Error) -> Problem {
    // Slices that end past the end of the file are how a universal file shows it was cut short.
    let be32 = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64)
    };
    let be64 = |at: usize| Some((be32(at)? << 32) | be32(at + 4)?);
    let fat64 = be32(0) == Some(0xcafe_babf);
    let count = be32(4).unwrap_or(0).min(64) as usize;
    let (entry, header_end) = if fat64 {
        (32, 8 + 32 * count)
    } else {
        (20, 8 + 20 * count)
    };
    let len = bytes.len() as u64;
    let past_end = header_end as u64 > len
        || (0..count).any(|i| {
            let at = 8 + entry * i;
            let extent = if fat64 {
                be64(at + 8).zip(be64(at + 16))
            } else {
                be32(at + 8).zip(be32(at + 12))
            };
            extent.is_some_and(|(off, size)| off < 1 << 34 && off.saturating_add(size) > len)
        });
    let kind = if past_end {
        FileProblemKind::Truncated
    } else {
        FileProblemKind::Malformed
    };
    Problem::new(kind, format!("universal Mach-O: {e}"))
}

/// What a generator is known to pass to PyUnstable_Module_SetGIL: context for an
/// undeterminable verdict, never a verdict itself.
fn generator_note(generator: Generator, set_gil: bool) -> Option<&'static str> {
    if !set_gil {
        return None;
    }
    match generator {
        Generator::Pyo3 => Some(
            "PyO3 0.23-0.27 call it with Py_MOD_GIL_NOT_USED only for #[pymodule(gil_used = false)]",
        ),
        Generator::Pybind11 => {
            Some("pybind11 2.13 calls it (with Py_MOD_GIL_NOT_USED) only when py::mod_gil_not_used() is given")
        }
        Generator::Cffi => Some("cffi >= 2.0 calls it with Py_MOD_GIL_NOT_USED"),
        _ => None,
    }
}
