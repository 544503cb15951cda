//! The declarations that code sets at run time, read from a trace of the entry function
//! (src/code/): the value passed to `PyUnstable_Module_SetGIL`, slot arrays filled in before
//! `PyModuleDef_Init`, a `m_slots` that code sets, and PEP 793 `PyModExport_` slot arrays.

use ftaudit_model::{CodeSite, DefLayout, GilDeclaration, MultiInterpDeclaration, Verdict};

use crate::code::{self, built_slots, from_built, trace_limits, Names, Trace};
use crate::image::Image;
use crate::moddef::{FoundDef, SlotsState};
use crate::verdict::{multi_phase_verdicts, v, Entry};

type Pair = (Verdict<GilDeclaration>, Verdict<MultiInterpDeclaration>);

fn both(why: String) -> Pair {
    (
        v(GilDeclaration::Undeterminable, why.clone()),
        v(MultiInterpDeclaration::Undeterminable, why),
    )
}

fn trace(image: &Image<'_>, entry: &Entry) -> Result<(Trace, u64), String> {
    let address = entry
        .address
        .ok_or_else(|| format!("the symbol table gives no address for {}", entry.symbol))?;
    code::trace_init(image, address).map(|t| (t, address))
}

pub(crate) fn set_gil_call(image: &Image<'_>, entry: &Entry) -> Verdict<GilDeclaration> {
    match trace(image, entry) {
        Ok((trace, address)) => {
            let names = Names {
                entry: address,
                entry_symbol: &entry.symbol,
            };
            code::set_gil(image, &trace, &names)
        }
        Err(why) => v(
            GilDeclaration::Undeterminable,
            format!("single-phase init that imports PyUnstable_Module_SetGIL; its argument is passed in code, which is not followed: {why}"),
        ),
    }
}

/// Where a def's m_slots field lives.
fn m_slots_field(found: &FoundDef) -> u64 {
    let header = match found.def.layout {
        DefLayout::Default => 16,
        DefLayout::FreeThreaded => 32,
    };
    // PyModuleDef_Base: header, m_init, m_index, m_copy; then m_name, m_doc, m_size, m_methods.
    found.def.address.wrapping_add(header + 24 + 32)
}

/// A multi-phase def whose slots are not all in the file: NULL m_slots, an empty array, or
/// an array in zero-filled memory. None keeps the data-only verdicts (only for arrays that
/// the file already shows to be filled at run time, which stay undeterminable).
pub(crate) fn built_def_slots(image: &Image<'_>, entry: &Entry, found: &FoundDef) -> Option<Pair> {
    let null = found.slots_state == SlotsState::Null;
    let (trace, address) = match trace(image, entry) {
        Ok(t) => t,
        Err(why) if null => {
            return Some(both(format!(
                "m_slots of def {:#x} is NULL in the file, and code could set it before PyModuleDef_Init; that code is not followed: {why}",
                found.def.address
            )))
        }
        Err(_) => return None,
    };
    let names = Names {
        entry: address,
        entry_symbol: &entry.symbol,
    };
    let field = m_slots_field(found);
    let mut m_slots_site = None;
    let array = match trace.stored(field, 8) {
        Some(Some(a)) => {
            m_slots_site = trace
                .stores
                .iter()
                .find(|s| s.address == field)
                .map(|s| CodeSite {
                    function: names.of(image, s.function),
                    address: s.at,
                    action: "store m_slots".to_string(),
                    register: None,
                    value_set_at: None,
                    value: a as u64,
                });
            a as u64
        }
        Some(None) => {
            return Some(both(format!(
                "the init code writes m_slots of def {:#x} with a value not known statically",
                found.def.address
            )))
        }
        None if null => {
            if trace.complete() {
                let (mut gil, mut multi) = multi_phase_verdicts(found);
                let note = format!(
                    "; m_slots is NULL and the init code never writes it ({})",
                    trace_limits(&trace)
                );
                gil.evidence.push_str(&note);
                multi.evidence.push_str(&note);
                return Some((gil, multi));
            }
            return Some(both(format!(
                "m_slots of def {:#x} is NULL in the file, and the init code could set it before PyModuleDef_Init: {}",
                found.def.address,
                trace_limits(&trace)
            )));
        }
        None => found.def.slots_address?,
    };
    match built_slots(image, &trace, &names, array) {
        Ok(built) if built.slots.is_empty() && built.sites.is_empty() && !built.closed => None,
        Ok(built) => {
            let (mut gil, mut multi) = from_built(&built, array, &trace);
            if let Some(site) = m_slots_site {
                let note = format!(
                    "; m_slots of def {:#x} set by code at {:#x}",
                    found.def.address, site.address
                );
                for (evidence, code) in [
                    (&mut gil.evidence, &mut gil.code),
                    (&mut multi.evidence, &mut multi.code),
                ] {
                    evidence.push_str(&note);
                    code.insert(0, site.clone());
                }
            }
            Some((gil, multi))
        }
        Err(why) => Some(both(why)),
    }
}

/// PEP 793 (CPython 3.15): `PyModExport_<name>` returns a slot array.
pub(crate) fn exported_slots(image: &Image<'_>, entry: &Entry) -> Pair {
    let (trace, address) = match trace(image, entry) {
        Ok(t) => t,
        Err(why) => {
            return both(format!(
                "{} returns a PEP 793 slot array; its code is not followed: {why}",
                entry.symbol
            ))
        }
    };
    let names = Names {
        entry: address,
        entry_symbol: &entry.symbol,
    };
    let returned: Vec<Option<u64>> = trace.returns.clone();
    let array = match returned.first() {
        Some(Some(a)) if returned.iter().all(|r| *r == Some(*a)) => *a,
        _ => {
            return both(format!(
                "{} returns a slot array whose address is not a constant of the code ({})",
                entry.symbol,
                trace_limits(&trace)
            ))
        }
    };
    match built_slots(image, &trace, &names, array) {
        Ok(built) => from_built(&built, array, &trace),
        Err(why) => both(why),
    }
}
