//! Verdicts from a trace of the init code: the Py_MOD_GIL_* value passed to
//! `PyUnstable_Module_SetGIL`, and slot arrays that code fills in before `PyModuleDef_Init`.
//! A verdict is decided only from values the trace knows; an absence ("no Py_mod_gil slot")
//! only when the array's end was seen being written, or the trace left nothing unfollowed.

use ftaudit_model::{CodeSite, GilDeclaration, ModuleSlot, MultiInterpDeclaration, Verdict};

use super::{ApiCall, Trace};
use crate::image::{Api, Backing, Image};
use crate::moddef::{is_gil_slot, is_multi_interp_slot, slot_name};

/// Names functions in evidence: the entry point by its symbol, others by symbol or address.
pub(crate) struct Names<'s> {
    pub entry: u64,
    pub entry_symbol: &'s str,
}

impl Names<'_> {
    pub fn of(&self, image: &Image<'_>, function: u64) -> String {
        if function == self.entry {
            return self.entry_symbol.to_string();
        }
        match image.object_at(function) {
            Some((name, _)) if !name.is_empty() => name,
            _ => format!("{function:#x}"),
        }
    }
}

fn verdict<T>(value: T, evidence: impl Into<String>, code: Vec<CodeSite>) -> Verdict<T> {
    Verdict {
        value,
        evidence: evidence.into(),
        code,
    }
}

/// Why a trace that found nothing cannot rule anything out.
pub(crate) fn trace_limits(trace: &Trace) -> String {
    let mut parts = Vec::new();
    if trace.budget_exhausted {
        parts.push(format!(
            "the budget of {} instructions ran out",
            trace.instructions
        ));
    }
    if let Some(g) = trace.gaps.first() {
        let more = trace.gaps.len() - 1;
        parts.push(format!(
            "{} at {:#x}{}",
            g.what,
            g.at,
            if more > 0 {
                format!(" (and {more} more places not followed)")
            } else {
                String::new()
            }
        ));
    }
    if parts.is_empty() {
        format!(
            "{} instructions in {} functions followed",
            trace.instructions, trace.functions
        )
    } else {
        parts.join("; ")
    }
}

/// The GIL declaration of a single-phase module from its calls to PyUnstable_Module_SetGIL.
pub(crate) fn set_gil(
    image: &Image<'_>,
    trace: &Trace,
    names: &Names<'_>,
) -> Verdict<GilDeclaration> {
    let calls: Vec<&ApiCall> = trace
        .calls
        .iter()
        .filter(|c| c.api == Api::SetGil)
        .collect();
    let undecided = |why: String| verdict(GilDeclaration::Undeterminable, why, Vec::new());
    if calls.is_empty() {
        return undecided(format!(
            "single-phase init that imports PyUnstable_Module_SetGIL, but no call to it was found from {} ({})",
            names.entry_symbol,
            trace_limits(trace)
        ));
    }
    let mut sites = Vec::new();
    for c in &calls {
        let arg = &c.args[1];
        let Some(value) = arg.value else {
            return undecided(format!(
                "PyUnstable_Module_SetGIL is called at {:#x} in {} with a value in {} that is not a constant of the code",
                c.at,
                names.of(image, c.function),
                arg.register
            ));
        };
        sites.push(CodeSite {
            function: names.of(image, c.function),
            address: c.at,
            action: "call PyUnstable_Module_SetGIL".to_string(),
            register: Some(arg.register.to_string()),
            value_set_at: arg.set_at,
            value: value & 0xffff_ffff,
        });
    }
    let first = sites[0].value;
    if sites.iter().any(|s| s.value != first) {
        let values: Vec<String> = sites
            .iter()
            .map(|s| format!("{} at {:#x}", s.value, s.address))
            .collect();
        return undecided(format!(
            "PyUnstable_Module_SetGIL is called with different values ({}): which one runs is decided at run time",
            values.join(", ")
        ));
    }
    let at: Vec<String> = sites
        .iter()
        .map(|s| {
            format!(
                "{:#x} in {} ({} = {})",
                s.address,
                s.function,
                s.register.as_deref().unwrap_or("?"),
                s.value
            )
        })
        .collect();
    let where_ = at.join(", ");
    // 3.13/3.14 (PyUnstable_Module_SetGIL) store the value and test `!= Py_MOD_GIL_USED`.
    let (value, meaning) = match first {
        0 => (GilDeclaration::Used, "Py_MOD_GIL_USED".to_string()),
        1 => (GilDeclaration::NotUsed, "Py_MOD_GIL_NOT_USED".to_string()),
        other => (
            GilDeclaration::NotUsed,
            format!("{other:#x}, an unusual value read as NOT_USED by 3.13/3.14"),
        ),
    };
    verdict(
        value,
        format!("single-phase init calls PyUnstable_Module_SetGIL(module, {meaning}) at {where_}"),
        sites,
    )
}

/// A slot array as code leaves it: entries read from traced stores where they cover the
/// bytes, else from the file.
pub(crate) struct BuiltSlots {
    pub slots: Vec<ModuleSlot>,
    /// Entries' ids and values that came from stores (for evidence).
    pub sites: Vec<CodeSite>,
    /// The terminator was seen being written, or the trace missed nothing.
    pub closed: bool,
    pub terminator_at: u64,
}

fn memory(image: &Image<'_>, trace: &Trace, at: u64, size: u8) -> Result<(Option<u64>, bool), ()> {
    match trace.stored(at, size) {
        Some(Some(v)) => Ok((Some(v as u64), true)),
        Some(None) => Err(()),
        None => Ok((
            match image.backing(at) {
                Backing::Zero => Some(0),
                Backing::File(_) if size == 8 => image.loaded_u64(at),
                Backing::File(_) => image.bytes_at(at, usize::from(size)).map(|b| {
                    b.iter()
                        .rev()
                        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
                }),
                Backing::Unmapped => None,
            },
            false,
        )),
    }
}

/// Reads the slot array at `array` through the trace's stores.
pub(crate) fn built_slots(
    image: &Image<'_>,
    trace: &Trace,
    names: &Names<'_>,
    array: u64,
) -> Result<BuiltSlots, String> {
    let mut slots = Vec::new();
    let mut sites = Vec::new();
    for i in 0..64u64 {
        let at = array.wrapping_add(16 * i);
        let (id, id_stored) = memory(image, trace, at, 4).map_err(|()| {
            format!("entry {i} of the slot array at {array:#x} gets an id not known statically")
        })?;
        let id = id.ok_or_else(|| {
            format!("entry {i} of the slot array at {array:#x} lies outside the file")
        })? as u32 as i32;
        // The store that wrote the byte at `addr`, as evidence.
        let site = |addr: u64, action: String, value: u64| {
            let store = trace
                .stores
                .iter()
                .find(|s| addr.wrapping_sub(s.address) < u64::from(s.size));
            store.map(|s| CodeSite {
                function: names.of(image, s.function),
                address: s.at,
                action,
                register: None,
                value_set_at: None,
                value,
            })
        };
        if id == 0 {
            return Ok(BuiltSlots {
                closed: id_stored || trace.complete(),
                slots,
                sites,
                terminator_at: at,
            });
        }
        let name = slot_name(id);
        let (value, value_stored) = match memory(image, trace, at.wrapping_add(8), 8) {
            Ok((v, stored)) => (v, stored),
            Err(()) if is_gil_slot(id) || is_multi_interp_slot(id) => {
                return Err(format!(
                    "the {name} entry at {at:#x} gets a value not known statically"
                ));
            }
            Err(()) => (None, true),
        };
        if is_gil_slot(id) || is_multi_interp_slot(id) {
            let value = value
                .ok_or_else(|| format!("the {name} entry at {at:#x} has no readable value"))?;
            if id_stored {
                sites.extend(site(at, format!("store {name} id"), id as u64));
            }
            if value_stored {
                sites.extend(site(
                    at.wrapping_add(8),
                    format!("store {name} value"),
                    value,
                ));
            }
        }
        slots.push(ModuleSlot {
            id,
            name: name.to_string(),
            value: value.unwrap_or(0),
            address: at,
        });
    }
    Err(format!(
        "the slot array at {array:#x} has no terminator within 64 entries"
    ))
}

/// The GIL and subinterpreter declarations of a slot array built by code.
pub(crate) fn from_built(
    built: &BuiltSlots,
    array: u64,
    trace: &Trace,
) -> (Verdict<GilDeclaration>, Verdict<MultiInterpDeclaration>) {
    let how = format!("slot array at {array:#x} filled in by the init code");
    let open = || {
        format!(
            "no {{0, NULL}} terminator was seen written after its {} entries and the trace could not rule out other stores ({})",
            built.slots.len(),
            trace_limits(trace)
        )
    };
    let sites_for = |slot: &str| -> Vec<CodeSite> {
        built
            .sites
            .iter()
            .filter(|s| s.action.contains(slot))
            .cloned()
            .collect()
    };
    let gil = match built.slots.iter().find(|s| is_gil_slot(s.id)) {
        Some(s) => {
            let value = match s.value {
                0 => GilDeclaration::Used,
                _ => GilDeclaration::NotUsed,
            };
            let meaning = match s.value {
                0 => "Py_MOD_GIL_USED".to_string(),
                1 => "Py_MOD_GIL_NOT_USED".to_string(),
                v => format!("{v:#x}, read as NOT_USED by 3.13/3.14 but as USED by 3.15"),
            };
            verdict(
                value,
                format!(
                    "Py_mod_gil = {meaning} in the {how} (entry at {:#x})",
                    s.address
                ),
                sites_for("Py_mod_gil "),
            )
        }
        None if built.closed => verdict(
            GilDeclaration::Used,
            format!(
                "no Py_mod_gil entry in the {how}: {} entries, terminator at {:#x}",
                built.slots.len(),
                built.terminator_at
            ),
            Vec::new(),
        ),
        None => verdict(
            GilDeclaration::Undeterminable,
            format!("no Py_mod_gil entry seen in the {how}, but {}", open()),
            Vec::new(),
        ),
    };
    let multi = match built.slots.iter().find(|s| is_multi_interp_slot(s.id)) {
        Some(s) => {
            let (value, meaning) = match s.value {
                0 => (MultiInterpDeclaration::NotSupported, "NOT_SUPPORTED"),
                1 => (MultiInterpDeclaration::Supported, "SUPPORTED"),
                2 => (MultiInterpDeclaration::PerInterpreterGil, "PER_INTERPRETER_GIL_SUPPORTED"),
                _ => (MultiInterpDeclaration::Undeterminable, "not a value CPython defines"),
            };
            verdict(
                value,
                format!("Py_mod_multiple_interpreters = {} ({meaning}) in the {how} (entry at {:#x})", s.value, s.address),
                sites_for("Py_mod_multiple_interpreters"),
            )
        }
        None if built.closed => verdict(
            MultiInterpDeclaration::Supported,
            format!(
                "no Py_mod_multiple_interpreters entry in the {how} ({} entries, terminator at {:#x}): shared-GIL subinterpreters only",
                built.slots.len(),
                built.terminator_at
            ),
            Vec::new(),
        ),
        None => verdict(
            MultiInterpDeclaration::Undeterminable,
            format!("no Py_mod_multiple_interpreters entry seen in the {how}, but {}", open()),
            Vec::new(),
        ),
    };
    (gil, multi)
}
