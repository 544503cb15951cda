//! Turns an entry point, the def found for it and the file's imports into the model's verdicts.
//! Semantics follow Python/import.c (_PyImport_CheckGILForModule) and Objects/moduleobject.c
//! (PyModule_FromDefAndSpec2) of CPython 3.13/3.14.

use ftaudit_model::{
    EntryPointKind, GilDeclaration, InitStyle, MultiInterpDeclaration, StaticModule, Verdict,
};

use crate::image::Image;
use crate::moddef::{find_defs, is_gil_slot, is_multi_interp_slot, FoundDef, SlotsState};
use crate::runtime;

pub(crate) struct Entry {
    pub symbol: String,
    pub kind: EntryPointKind,
    pub name: String,
    /// Where the entry function's code starts, when the symbol table says.
    pub address: Option<u64>,
}

/// Splits an exported symbol into its entry kind and module name; None for non-entry symbols
/// and undecodable punycode.
pub(crate) fn parse_entry(symbol: &str) -> Option<Entry> {
    let (kind, name) = if let Some(rest) = symbol.strip_prefix("PyInitU_") {
        (EntryPointKind::PyInitU, decode_punycode_name(rest)?)
    } else if let Some(rest) = symbol.strip_prefix("PyInit_") {
        (EntryPointKind::PyInit, rest.to_string())
    } else if let Some(rest) = symbol.strip_prefix("PyModExport_") {
        (EntryPointKind::PyModExport, rest.to_string())
    } else {
        return None;
    };
    if name.is_empty() {
        return None;
    }
    Some(Entry {
        symbol: symbol.to_string(),
        kind,
        name,
        address: None,
    })
}

/// CPython (Python/importdl.c) names the hook `PyInitU_` + punycode(name) with '-' replaced by
/// '_'. Punycode digits are [a-z0-9] only, so the delimiter is the last '_' (absent when the
/// name has no ASCII part).
fn decode_punycode_name(encoded: &str) -> Option<String> {
    let restored = match encoded.rfind('_') {
        Some(i) => format!("{}-{}", &encoded[..i], &encoded[i + 1..]),
        None => encoded.to_string(),
    };
    idna::punycode::decode_to_string(&restored)
}

pub(crate) fn v<T>(value: T, evidence: impl Into<String>) -> Verdict<T> {
    Verdict {
        value,
        evidence: evidence.into(),
        code: Vec::new(),
    }
}

pub(crate) fn module_facts(
    image: &Image<'_>,
    entry: Entry,
    generator_note: Option<&str>,
) -> StaticModule {
    let imports = &image.imports;
    if !image.decodable {
        let why = format!(
            "{:?} binaries are not decoded (64-bit little-endian only)",
            image.arch
        );
        return StaticModule {
            entry_point: entry.symbol,
            entry_kind: entry.kind,
            name: entry.name,
            init_style: InitStyle::Undeterminable,
            init_style_evidence: why.clone(),
            def: None,
            gil: v(GilDeclaration::Undeterminable, why.clone()),
            multiple_interpreters: v(MultiInterpDeclaration::Undeterminable, why),
            alias_of: None,
        };
    }
    if entry.kind == EntryPointKind::PyModExport {
        let (gil, multiple_interpreters) = runtime::exported_slots(image, &entry);
        return StaticModule {
            entry_point: entry.symbol,
            entry_kind: entry.kind,
            name: entry.name,
            init_style: InitStyle::SlotExport,
            init_style_evidence: "exports a PyModExport_ entry point".to_string(),
            def: None,
            gil,
            multiple_interpreters,
            alias_of: None,
        };
    }

    let defs = find_defs(image, &entry.name);
    // Prefer a def whose slots fit the way the file initialises modules.
    let chosen: Option<&FoundDef> = if imports.module_def_init {
        defs.iter()
            .find(|d| d.slots_state != SlotsState::Null)
            .or(defs.first())
    } else {
        defs.iter()
            .find(|d| d.slots_state == SlotsState::Null)
            .or(defs.first())
    };
    let extra = if defs.len() > 1 {
        format!(
            " ({} candidate defs named '{}' found)",
            defs.len(),
            entry.name
        )
    } else {
        String::new()
    };
    let (init_style, init_evidence) =
        init_style(imports.module_def_init, imports.module_create2, chosen);
    let init_evidence = format!("{init_evidence}{extra}");

    let (gil, multi) = match (init_style, chosen) {
        (InitStyle::MultiPhase, Some(found)) => match found.slots_state {
            SlotsState::Static | SlotsState::ZeroTerminatorOnly | SlotsState::Unmapped => {
                multi_phase_verdicts(found)
            }
            SlotsState::RunTime | SlotsState::Empty | SlotsState::Null => {
                runtime::built_def_slots(image, &entry, found)
                    .unwrap_or_else(|| multi_phase_verdicts(found))
            }
        },
        (InitStyle::MultiPhase, None) => {
            let why = format!(
                "multi-phase init but no static PyModuleDef named '{}' found: the def is built at run time",
                entry.name
            );
            (
                v(GilDeclaration::Undeterminable, why.clone()),
                v(MultiInterpDeclaration::Undeterminable, why),
            )
        }
        (InitStyle::SinglePhase, _) => {
            let multi = v(
                MultiInterpDeclaration::NotSupported,
                "single-phase init (PyModule_Create2)",
            );
            let gil = if imports.set_gil {
                let mut gil = runtime::set_gil_call(image, &entry);
                if gil.value == GilDeclaration::Undeterminable {
                    if let Some(note) = generator_note {
                        gil.evidence.push_str("; ");
                        gil.evidence.push_str(note);
                    }
                }
                gil
            } else {
                v(
                    GilDeclaration::Used,
                    "single-phase init with no PyUnstable_Module_SetGIL import",
                )
            };
            (gil, multi)
        }
        _ => {
            let why = "neither PyModuleDef_Init nor PyModule_Create2 is imported and no static def was found";
            (
                v(GilDeclaration::Undeterminable, why),
                v(MultiInterpDeclaration::Undeterminable, why),
            )
        }
    };
    StaticModule {
        entry_point: entry.symbol,
        entry_kind: entry.kind,
        name: entry.name,
        init_style,
        init_style_evidence: init_evidence,
        def: chosen.map(|f| f.def.clone()),
        gil,
        multiple_interpreters: multi,
        alias_of: None,
    }
}

fn init_style(def_init: bool, create2: bool, def: Option<&FoundDef>) -> (InitStyle, String) {
    match def {
        // PyModule_Create2 rejects a def with m_slots, so slots mean multi-phase.
        Some(d) if d.slots_state != SlotsState::Null => (
            InitStyle::MultiPhase,
            format!("PyModuleDef at {:#x} has m_slots{}", d.def.address, import_note(def_init, create2)),
        ),
        Some(d) => match (def_init, create2) {
            (true, false) => (
                InitStyle::MultiPhase,
                format!("imports PyModuleDef_Init; PyModuleDef at {:#x} has no m_slots", d.def.address),
            ),
            (false, true) => (
                InitStyle::SinglePhase,
                format!("imports PyModule_Create2; PyModuleDef at {:#x} has no m_slots", d.def.address),
            ),
            (true, true) => (
                InitStyle::Undeterminable,
                format!(
                    "imports both PyModuleDef_Init and PyModule_Create2 and PyModuleDef at {:#x} has no m_slots",
                    d.def.address
                ),
            ),
            (false, false) => (
                InitStyle::Undeterminable,
                format!(
                    "PyModuleDef at {:#x} has no m_slots and neither PyModuleDef_Init nor PyModule_Create2 is imported",
                    d.def.address
                ),
            ),
        },
        None => match (def_init, create2) {
            (true, false) => (InitStyle::MultiPhase, "imports PyModuleDef_Init; no static PyModuleDef found".into()),
            (false, true) => (InitStyle::SinglePhase, "imports PyModule_Create2; no static PyModuleDef found".into()),
            (true, true) => (
                InitStyle::Undeterminable,
                "imports both PyModuleDef_Init and PyModule_Create2; no static PyModuleDef found".into(),
            ),
            (false, false) => (
                InitStyle::Undeterminable,
                "imports neither PyModuleDef_Init nor PyModule_Create2; no static PyModuleDef found".into(),
            ),
        },
    }
}

fn import_note(def_init: bool, create2: bool) -> &'static str {
    match (def_init, create2) {
        (true, _) => " (imports PyModuleDef_Init)",
        (false, true) => " (imports PyModule_Create2 only)",
        (false, false) => "",
    }
}

pub(crate) fn multi_phase_verdicts(
    found: &FoundDef,
) -> (Verdict<GilDeclaration>, Verdict<MultiInterpDeclaration>) {
    let def = &found.def;
    match found.slots_state {
        SlotsState::RunTime => {
            let why = format!(
                "m_slots of def {:#x} points to zero-filled memory at {:#x} (.bss): slots built at run time",
                def.address,
                def.slots_address.unwrap_or(0)
            );
            return (
                v(GilDeclaration::Undeterminable, why.clone()),
                v(MultiInterpDeclaration::Undeterminable, why),
            );
        }
        SlotsState::Unmapped => {
            let why = format!(
                "m_slots of def {:#x} points outside the file's mapped data ({:#x})",
                def.address,
                def.slots_address.unwrap_or(0)
            );
            return (
                v(GilDeclaration::Undeterminable, why.clone()),
                v(MultiInterpDeclaration::Undeterminable, why),
            );
        }
        SlotsState::Empty => {
            let why = format!(
                "m_slots of def {:#x} points to an empty slot array at {:#x} in file data: filled at run time or declaring nothing",
                def.address,
                def.slots_address.unwrap_or(0)
            );
            return (
                v(GilDeclaration::Undeterminable, why.clone()),
                v(MultiInterpDeclaration::Undeterminable, why),
            );
        }
        SlotsState::Null | SlotsState::Static | SlotsState::ZeroTerminatorOnly => {}
    }
    let empty_note = if found.slots_state == SlotsState::ZeroTerminatorOnly {
        format!(
            " (m_slots at {:#x} is a 16-byte zero-filled object: only the {{0, NULL}} terminator)",
            def.slots_address.unwrap_or(0)
        )
    } else {
        String::new()
    };
    let gil = match def.slots.iter().find(|s| is_gil_slot(s.id)) {
        None => v(
            GilDeclaration::Used,
            format!("no Py_mod_gil slot in def {:#x}{empty_note}", def.address),
        ),
        Some(s) => {
            let at = format!("at {:#x} in def {:#x}", s.address, def.address);
            match s.value {
                0 => v(GilDeclaration::Used, format!("Py_mod_gil slot = 0 (Py_MOD_GIL_USED) {at}")),
                1 => v(GilDeclaration::NotUsed, format!("Py_mod_gil slot = 1 (Py_MOD_GIL_NOT_USED) {at}")),
                // 3.13/3.14 test `!= Py_MOD_GIL_USED`; 3.15 tests `== Py_MOD_GIL_NOT_USED`.
                other => v(
                    GilDeclaration::NotUsed,
                    format!(
                        "Py_mod_gil slot = {other:#x} {at}: unusual value, read as NOT_USED by 3.13/3.14 but as USED by 3.15"
                    ),
                ),
            }
        }
    };
    let multi = match def.slots.iter().find(|s| is_multi_interp_slot(s.id)) {
        None => v(
            MultiInterpDeclaration::Supported,
            format!(
                "no Py_mod_multiple_interpreters slot in def {:#x}{empty_note}: shared-GIL subinterpreters only",
                def.address
            ),
        ),
        Some(s) => {
            let at = format!("at {:#x} in def {:#x}", s.address, def.address);
            match s.value {
                0 => v(
                    MultiInterpDeclaration::NotSupported,
                    format!("Py_mod_multiple_interpreters slot = 0 (NOT_SUPPORTED) {at}"),
                ),
                1 => v(
                    MultiInterpDeclaration::Supported,
                    format!("Py_mod_multiple_interpreters slot = 1 (SUPPORTED) {at}"),
                ),
                2 => v(
                    MultiInterpDeclaration::PerInterpreterGil,
                    format!("Py_mod_multiple_interpreters slot = 2 (PER_INTERPRETER_GIL_SUPPORTED) {at}"),
                ),
                other => v(
                    MultiInterpDeclaration::Undeterminable,
                    format!("Py_mod_multiple_interpreters slot = {other:#x} {at}: not a value CPython defines"),
                ),
            }
        }
    };
    (gil, multi)
}
