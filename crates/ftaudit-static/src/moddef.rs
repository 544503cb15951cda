//! Locating a module's static PyModuleDef and decoding its slots (reference section 3):
//! m_name strings -> pointer slots that target them -> the def 40 (default) or 56
//! (free-threaded) bytes earlier -> header and field checks -> m_slots.

use ftaudit_model::{DefLayout, ModuleDef, ModuleSlot};
use memchr::memmem;

use crate::image::{Backing, Image};

/// More slots than this is not a real slot array (CPython defines fewer than ten kinds).
const MAX_SLOTS: usize = 64;
/// Cap on candidate strings, so a file full of the name cannot make the search quadratic.
const MAX_NAME_CANDIDATES: usize = 4096;

/// Where m_slots points when it is neither NULL nor file-backed data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotsState {
    Null,
    Static,
    /// Zero-filled memory: filled in by code at run time.
    RunTime,
    /// A 16-byte zero-filled object (per the symbol table): just the {0, NULL} terminator.
    ZeroTerminatorOnly,
    /// File-backed but the first entry is the terminator: filled at run time by code, or a
    /// static array that declares nothing; the bytes cannot tell which.
    Empty,
    /// Points outside every mapped range: the def is probably not a def.
    Unmapped,
}

#[derive(Debug, Clone)]
pub(crate) struct FoundDef {
    pub def: ModuleDef,
    pub slots_state: SlotsState,
}

pub(crate) fn find_defs(image: &Image<'_>, name: &str) -> Vec<FoundDef> {
    let targets = name_string_ranges(image, name);
    if targets.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<FoundDef> = Vec::new();
    for &(slot, target) in &image.pointers {
        if !in_ranges(&targets, target) {
            continue;
        }
        for layout in [DefLayout::FreeThreaded, DefLayout::Default] {
            let Some(start) = slot.checked_sub(name_offset(layout)) else {
                continue;
            };
            if found.iter().any(|f| f.def.address == start) {
                continue;
            }
            if let Some(def) = read_def(image, start, layout, name) {
                found.push(def);
                break;
            }
        }
    }
    found.sort_by_key(|f| f.def.address);
    found
}

fn name_offset(layout: DefLayout) -> u64 {
    match layout {
        DefLayout::Default => 40,
        DefLayout::FreeThreaded => 56,
    }
}

/// Address ranges where an m_name pointer may point: the exact `name` string, and for
/// `<pkg>.name` every position inside the dotted prefix (a merged string table may point m_name
/// into the tail of a longer string, and the bytes before a string need not be a NUL). Each
/// range is inclusive; `read_def` checks the string it finds there.
fn name_string_ranges(image: &Image<'_>, name: &str) -> Vec<(u64, u64)> {
    let mut needle = Vec::with_capacity(name.len() + 1);
    needle.extend_from_slice(name.as_bytes());
    needle.push(0);
    let data = image.data;
    let finder = memmem::Finder::new(&needle);
    let mut out = Vec::new();
    let offsets = image
        .string_ranges
        .iter()
        .flat_map(|&(start, end)| finder.find_iter(&data[start..end]).map(move |o| start + o));
    for off in offsets {
        if out.len() >= MAX_NAME_CANDIDATES {
            break;
        }
        let Some(v) = image.vaddr_of_offset(off as u64) else {
            continue;
        };
        let mut lo = v;
        if off > 0 && data[off - 1] == b'.' {
            let window_start = off.saturating_sub(256);
            let run = data[window_start..off - 1]
                .iter()
                .rev()
                .take_while(|&&b| b == b'.' || b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80)
                .count();
            lo = v - 1 - run as u64;
        }
        out.push((lo, v));
    }
    out.sort_unstable();
    out
}

fn in_ranges(ranges: &[(u64, u64)], t: u64) -> bool {
    let i = ranges.partition_point(|r| r.0 <= t);
    ranges[..i].iter().rev().take(4).any(|r| t <= r.1)
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default())
}

fn read_def(image: &Image<'_>, start: u64, layout: DefLayout, name: &str) -> Option<FoundDef> {
    let header_len = match layout {
        DefLayout::Default => 16usize,
        DefLayout::FreeThreaded => 32,
    };
    // header, m_init, m_index, m_copy, then m_name .. m_free (8 pointer-sized fields).
    let total = header_len + 24 + 64;
    let bytes = image.bytes_at(start, total)?;
    let header_ok = match layout {
        // PyObject_HEAD_INIT: a non-zero refcount (1, or an immortal value), ob_type NULL.
        DefLayout::Default => u64_le(bytes, 0) != 0 && u64_le(bytes, 8) == 0,
        // ob_tid 0, ob_ref_shared 0, ob_type NULL; ob_ref_local immortal or ob_flags set.
        DefLayout::FreeThreaded => {
            u64_le(bytes, 0) == 0
                && u64_le(bytes, 16) == 0
                && u64_le(bytes, 24) == 0
                && (u32_le(bytes, 12) != 0 || u32_le(bytes, 8) & 0xffff != 0)
        }
    };
    if !header_ok {
        return None;
    }
    // A static def's base holds no pointers: m_init, m_index and m_copy are zero.
    let base_end = header_len + 24;
    if bytes[header_len..base_end].iter().any(|&b| b != 0) {
        return None;
    }
    if (0..base_end as u64)
        .step_by(8)
        .any(|o| image.pointer_target(start + o).is_some())
    {
        return None;
    }
    let field = |i: u64| start + base_end as u64 + 8 * i;
    // m_name (0) is the slot we came from; m_size (2) is an integer; the rest are pointers or NULL.
    let mut pointers = [0u64; 8];
    for i in [1u64, 3, 4, 5, 6, 7] {
        let addr = field(i);
        let raw = u64_le(bytes, base_end + 8 * i as usize);
        pointers[i as usize] = match image.pointer_target(addr) {
            Some(t) => t,
            None if raw == 0 => 0,
            None => return None,
        };
    }
    let m_size = u64_le(bytes, base_end + 16) as i64;
    if image.pointer_target(field(2)).is_some()
        || !(m_size == -1 || (0..=i64::from(u32::MAX)).contains(&m_size))
    {
        return None;
    }
    let name_addr = image.pointer_target(field(0))?;
    let m_name = image.c_str_at(name_addr, 512)?.to_string();
    if !(m_name == name
        || m_name
            .strip_suffix(name)
            .is_some_and(|p| p.ends_with('.') && p.len() > 1))
    {
        return None;
    }
    let slots_addr = pointers[4];
    let (slots, slots_state) = if slots_addr == 0 {
        (Vec::new(), SlotsState::Null)
    } else {
        match image.backing(slots_addr) {
            // A slot array that is only its terminator is all zeros, so it lands in .bss too;
            // the symbol's size tells it apart from an array filled at run time.
            Backing::Zero => match image.object_at(slots_addr) {
                Some((_, 16)) => (Vec::new(), SlotsState::ZeroTerminatorOnly),
                _ => (Vec::new(), SlotsState::RunTime),
            },
            Backing::Unmapped => (Vec::new(), SlotsState::Unmapped),
            Backing::File(_) => {
                let slots = read_slots(image, slots_addr);
                let state = if slots.is_empty() {
                    SlotsState::Empty
                } else {
                    SlotsState::Static
                };
                (slots, state)
            }
        }
    };
    Some(FoundDef {
        def: ModuleDef {
            address: start,
            layout,
            m_name,
            m_size,
            slots_address: (slots_addr != 0).then_some(slots_addr),
            slots,
            slots_built_at_runtime: slots_state == SlotsState::RunTime,
        },
        slots_state,
    })
}

fn read_slots(image: &Image<'_>, at: u64) -> Vec<ModuleSlot> {
    let mut slots = Vec::new();
    for i in 0..MAX_SLOTS as u64 {
        let addr = at + 16 * i;
        let Some(entry) = image.bytes_at(addr, 16) else {
            break;
        };
        let id = i32::from_le_bytes(entry[..4].try_into().unwrap_or_default());
        if id == 0 {
            break;
        }
        let value = image.loaded_u64(addr + 8).unwrap_or(0);
        slots.push(ModuleSlot {
            id,
            name: slot_name(id).to_string(),
            value,
            address: addr,
        });
    }
    slots
}

/// Slot ids from Include/moduleobject.h (3.13/3.14) and the PEP 820 renumbering (3.15).
pub(crate) fn slot_name(id: i32) -> &'static str {
    match id {
        1 | 84 => "Py_mod_create",
        2 | 85 => "Py_mod_exec",
        3 | 86 => "Py_mod_multiple_interpreters",
        4 | 87 => "Py_mod_gil",
        _ => "unknown",
    }
}

pub(crate) fn is_gil_slot(id: i32) -> bool {
    id == 4 || id == 87
}

pub(crate) fn is_multi_interp_slot(id: i32) -> bool {
    id == 3 || id == 86
}
