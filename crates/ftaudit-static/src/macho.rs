//! Mach-O (64-bit little-endian: x86_64, arm64), thin or one slice of a universal file.
//! Pointers are described either by LC_DYLD_INFO rebase opcodes (the slot holds the unslid
//! target address) or by LC_DYLD_CHAINED_FIXUPS (the slot holds an encoded chain entry).

use ftaudit_model::{Architecture, FileProblemKind};
use object::macho;
use object::read::macho::{LoadCommandVariant, MachHeader, MachOFile64, Segment as _};
use object::{LittleEndian as LE, Object, ObjectSymbol};

use crate::image::{is_entry_name, Api, EntrySymbol, Image, Region};
use crate::problem::{Problem, ProblemResult};

/// Caps on work per file, so corrupt opcode streams cannot loop for long.
const MAX_REBASES: usize = 20_000_000;

struct Segment {
    vmaddr: u64,
    vmsize: u64,
    fileoff: u64,
    filesize: u64,
}

pub(crate) fn parse(data: &[u8]) -> ProblemResult<Image<'_>> {
    if data.len() < 32 {
        return Err(Problem::new(
            FileProblemKind::Truncated,
            "Mach-O header cut short",
        ));
    }
    let magic = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    if magic != macho::MH_MAGIC_64 {
        return parse_undecodable(data);
    }
    let file = MachOFile64::<LE>::parse(data).map_err(|e| Problem::malformed("Mach-O", e))?;
    let header = file.macho_header();
    let arch = match header.cputype(LE) {
        macho::CPU_TYPE_X86_64 => Architecture::X86_64,
        macho::CPU_TYPE_ARM64 => Architecture::Aarch64,
        other => Architecture::Other(format!("Mach-O cputype {other:#x}")),
    };
    let mut image = Image::new(data, arch);

    let mut segments = Vec::new();
    let mut rebase = None;
    let mut chained = None;
    let mut string_table = None;
    let mut symbol_table = None;
    let mut indirect_symbols = None;
    // (address, size, first indirect-symbol index) of each __got / __la_symbol_ptr section.
    let mut pointer_sections = Vec::new();
    let mut commands = header
        .load_commands(LE, data, 0)
        .map_err(|e| Problem::malformed("Mach-O load commands", e))?;
    while let Some(cmd) = commands
        .next()
        .map_err(|e| Problem::malformed("Mach-O load command", e))?
    {
        match cmd
            .variant()
            .map_err(|e| Problem::malformed("Mach-O load command", e))?
        {
            LoadCommandVariant::Segment64(seg, section_data) => {
                segments.push(Segment {
                    vmaddr: seg.vmaddr.get(LE),
                    vmsize: seg.vmsize.get(LE),
                    fileoff: seg.fileoff.get(LE),
                    filesize: seg.filesize.get(LE),
                });
                let sections = seg
                    .sections(LE, section_data)
                    .map_err(|e| Problem::malformed("Mach-O sections", e))?;
                for sect in sections {
                    let typ = sect.flags.get(LE) & macho::SECTION_TYPE;
                    if matches!(
                        typ,
                        macho::S_NON_LAZY_SYMBOL_POINTERS | macho::S_LAZY_SYMBOL_POINTERS
                    ) {
                        pointer_sections.push((
                            sect.addr.get(LE),
                            sect.size.get(LE),
                            sect.reserved1.get(LE),
                        ));
                    }
                    if matches!(
                        typ,
                        macho::S_ZEROFILL | macho::S_GB_ZEROFILL | macho::S_THREAD_LOCAL_ZEROFILL
                    ) {
                        image
                            .zero_ranges
                            .push((sect.addr.get(LE), sect.size.get(LE)));
                    }
                }
            }
            LoadCommandVariant::Symtab(symtab) => {
                string_table = Some((symtab.stroff.get(LE), symtab.strsize.get(LE)));
                symbol_table = Some((symtab.symoff.get(LE), symtab.nsyms.get(LE)));
            }
            LoadCommandVariant::Dysymtab(dysymtab) => {
                indirect_symbols = Some((
                    dysymtab.indirectsymoff.get(LE),
                    dysymtab.nindirectsyms.get(LE),
                ));
            }
            LoadCommandVariant::DyldInfo(info) => {
                rebase = Some((info.rebase_off.get(LE), info.rebase_size.get(LE)));
            }
            LoadCommandVariant::LinkeditData(link)
                if cmd.cmd() == macho::LC_DYLD_CHAINED_FIXUPS =>
            {
                chained = Some((link.dataoff.get(LE), link.datasize.get(LE)));
            }
            LoadCommandVariant::Dylib(dylib) => {
                if let Ok(name) = cmd.string(LE, dylib.dylib.name) {
                    image
                        .imports
                        .libraries
                        .push(String::from_utf8_lossy(name).into_owned());
                }
            }
            _ => {}
        }
    }
    let len = data.len() as u64;
    for s in &segments {
        if s.fileoff.saturating_add(s.filesize) > len {
            return Err(Problem::new(
                FileProblemKind::Truncated,
                format!(
                    "segment at {:#x} ends at byte {} but the file has {len} bytes",
                    s.vmaddr,
                    s.fileoff.saturating_add(s.filesize)
                ),
            ));
        }
        image.regions.push(Region {
            vaddr: s.vmaddr,
            vsize: s.vmsize,
            file_off: s.fileoff,
            file_size: s.filesize.min(s.vmsize),
        });
    }
    image.add_string_sections(&file);
    if let Some((offset, size)) = string_table {
        image.add_string_range(u64::from(offset), u64::from(size));
    }
    collect_symbols(&file, &mut image);
    if let (Some(symbols), Some(strings), Some(indirect)) =
        (symbol_table, string_table, indirect_symbols)
    {
        read_import_slots(&mut image, &pointer_sections, symbols, strings, indirect);
    }

    // Pointers only serve to decode a module definition: a plain library has none.
    if image.decodable && !image.entries.is_empty() {
        image.regions.sort_unstable_by_key(|r| r.vaddr);
        if let Some((off, size)) = chained {
            read_chained_fixups(&mut image, &segments, off, size)?;
        } else if let Some((off, size)) = rebase {
            read_rebases(&mut image, &segments, off, size)?;
        }
    }
    image.finish();
    Ok(image)
}

/// 32-bit or big-endian slices: list entry points without decoding structures.
fn parse_undecodable(data: &[u8]) -> ProblemResult<Image<'_>> {
    let file = object::File::parse(data).map_err(|e| Problem::malformed("Mach-O", e))?;
    let mut image = Image::undecodable(data, file.architecture(), "Mach-O");
    image.add_string_sections(&file);
    collect_symbols(&file, &mut image);
    image.finish();
    Ok(image)
}

fn linkedit<'a>(data: &'a [u8], off: u32, size: u32, what: &str) -> ProblemResult<&'a [u8]> {
    let (off, size) = (off as usize, size as usize);
    data.get(off..off.saturating_add(size)).ok_or_else(|| {
        Problem::new(
            FileProblemKind::Truncated,
            format!("{what} data lies past the end of the file"),
        )
    })
}

fn uleb(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *data.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            value |= u64::from(byte & 0x7f) << shift;
        }
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift > 70 {
            return None;
        }
    }
}

/// Runs the rebase opcode stream (mach-o/loader.h REBASE_OPCODE_*). Every rebased slot holds
/// its unslid target in the file, so the target is read in place.
fn read_rebases(
    image: &mut Image<'_>,
    segments: &[Segment],
    off: u32,
    size: u32,
) -> ProblemResult<()> {
    let ops = linkedit(image.data, off, size, "rebase info")?;
    let bad = |msg: &str| Problem::new(FileProblemKind::Malformed, format!("rebase info: {msg}"));
    let mut pos = 0;
    let mut addr: u64 = 0;
    let mut slots: Vec<u64> = Vec::new();
    let push = |addr: u64, slots: &mut Vec<u64>| -> ProblemResult<()> {
        if slots.len() >= MAX_REBASES {
            return Err(bad("too many rebases"));
        }
        slots.push(addr);
        Ok(())
    };
    while pos < ops.len() {
        let byte = ops[pos];
        pos += 1;
        let imm = u64::from(byte & macho::REBASE_IMMEDIATE_MASK);
        match byte & macho::REBASE_OPCODE_MASK {
            macho::REBASE_OPCODE_DONE => break,
            macho::REBASE_OPCODE_SET_TYPE_IMM => {}
            macho::REBASE_OPCODE_SET_SEGMENT_AND_OFFSET_ULEB => {
                let seg = segments
                    .get(imm as usize)
                    .ok_or_else(|| bad("segment index out of range"))?;
                let offset = uleb(ops, &mut pos).ok_or_else(|| bad("bad ULEB"))?;
                addr = seg.vmaddr.wrapping_add(offset);
            }
            macho::REBASE_OPCODE_ADD_ADDR_ULEB => {
                addr = addr.wrapping_add(uleb(ops, &mut pos).ok_or_else(|| bad("bad ULEB"))?);
            }
            macho::REBASE_OPCODE_ADD_ADDR_IMM_SCALED => addr = addr.wrapping_add(imm * 8),
            macho::REBASE_OPCODE_DO_REBASE_IMM_TIMES => {
                for _ in 0..imm {
                    push(addr, &mut slots)?;
                    addr = addr.wrapping_add(8);
                }
            }
            macho::REBASE_OPCODE_DO_REBASE_ULEB_TIMES => {
                let count = uleb(ops, &mut pos).ok_or_else(|| bad("bad ULEB"))?;
                for _ in 0..count.min(MAX_REBASES as u64 + 1) {
                    push(addr, &mut slots)?;
                    addr = addr.wrapping_add(8);
                }
            }
            macho::REBASE_OPCODE_DO_REBASE_ADD_ADDR_ULEB => {
                push(addr, &mut slots)?;
                addr = addr
                    .wrapping_add(uleb(ops, &mut pos).ok_or_else(|| bad("bad ULEB"))?)
                    .wrapping_add(8);
            }
            macho::REBASE_OPCODE_DO_REBASE_ULEB_TIMES_SKIPPING_ULEB => {
                let count = uleb(ops, &mut pos).ok_or_else(|| bad("bad ULEB"))?;
                let skip = uleb(ops, &mut pos).ok_or_else(|| bad("bad ULEB"))?;
                for _ in 0..count.min(MAX_REBASES as u64 + 1) {
                    push(addr, &mut slots)?;
                    addr = addr.wrapping_add(skip).wrapping_add(8);
                }
            }
            _ => return Err(bad(&format!("unknown opcode {byte:#04x}"))),
        }
    }
    image.pointers.reserve(slots.len());
    for slot in slots {
        if let Some(target) = image.u64_at(slot) {
            image.pointers.push((slot, target));
        }
    }
    Ok(())
}

// mach-o/fixup-chains.h pointer formats this crate decodes.
const DYLD_CHAINED_PTR_64: u16 = 2;
const DYLD_CHAINED_PTR_64_OFFSET: u16 = 6;
const DYLD_CHAINED_PTR_ARM64E: u16 = 1;
const DYLD_CHAINED_PTR_ARM64E_USERLAND: u16 = 9;
const DYLD_CHAINED_PTR_ARM64E_USERLAND24: u16 = 12;
const DYLD_CHAINED_PTR_START_NONE: u16 = 0xffff;

fn rd_u16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}
fn rd_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}
fn rd_u64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Walks every page's fixup chain (dyld_chained_fixups_header -> dyld_chained_starts_in_image ->
/// dyld_chained_starts_in_segment). Binds (imports) are skipped: only rebases point inside the image.
fn read_chained_fixups(
    image: &mut Image<'_>,
    segments: &[Segment],
    off: u32,
    size: u32,
) -> ProblemResult<()> {
    let blob = linkedit(image.data, off, size, "chained fixups")?;
    let bad =
        |msg: &str| Problem::new(FileProblemKind::Malformed, format!("chained fixups: {msg}"));
    let starts = rd_u32(blob, 4).ok_or_else(|| bad("header cut short"))? as usize;
    let seg_count = rd_u32(blob, starts).ok_or_else(|| bad("starts_in_image cut short"))? as usize;
    if seg_count > 256 {
        return Err(bad("implausible segment count"));
    }
    // DYLD_CHAINED_PTR_64_OFFSET targets are offsets from the image's mach header.
    let base = segments
        .iter()
        .find(|s| s.fileoff == 0 && s.filesize > 0)
        .map(|s| s.vmaddr)
        .unwrap_or(0);
    let mut found = Vec::new();
    for i in 0..seg_count {
        let info_off = rd_u32(blob, starts + 4 + 4 * i)
            .ok_or_else(|| bad("segment offsets cut short"))? as usize;
        if info_off == 0 {
            continue;
        }
        let seg = starts + info_off;
        let page_size =
            u64::from(rd_u16(blob, seg + 4).ok_or_else(|| bad("segment info cut short"))?);
        let format = rd_u16(blob, seg + 6).ok_or_else(|| bad("segment info cut short"))?;
        let seg_offset = rd_u64(blob, seg + 8).ok_or_else(|| bad("segment info cut short"))?;
        let page_count =
            rd_u16(blob, seg + 20).ok_or_else(|| bad("segment info cut short"))? as usize;
        let Some(segment) = segments.get(i) else {
            continue;
        };
        let seg_vmaddr = base.wrapping_add(seg_offset);
        let (stride, arm64e) = match format {
            DYLD_CHAINED_PTR_64 | DYLD_CHAINED_PTR_64_OFFSET => (4u64, false),
            DYLD_CHAINED_PTR_ARM64E
            | DYLD_CHAINED_PTR_ARM64E_USERLAND
            | DYLD_CHAINED_PTR_ARM64E_USERLAND24 => (8u64, true),
            other => return Err(bad(&format!("unsupported pointer format {other}"))),
        };
        for p in 0..page_count {
            let start =
                rd_u16(blob, seg + 22 + 2 * p).ok_or_else(|| bad("page starts cut short"))?;
            if start == DYLD_CHAINED_PTR_START_NONE {
                continue;
            }
            let mut at = seg_vmaddr
                .wrapping_add(p as u64 * page_size)
                .wrapping_add(u64::from(start));
            let seg_end = seg_vmaddr.saturating_add(segment.vmsize);
            let mut steps = 0usize;
            loop {
                steps += 1;
                if steps > 1 << 20 || at < seg_vmaddr || at >= seg_end {
                    return Err(bad("fixup chain runs out of its segment"));
                }
                let raw = image
                    .u64_at(at)
                    .ok_or_else(|| bad("fixup chain leaves the file"))?;
                let (is_bind, next, target) = if arm64e {
                    let auth = raw >> 63 != 0;
                    let bind = (raw >> 62) & 1 != 0;
                    let next = (raw >> 51) & 0x7ff;
                    let target = if auth {
                        raw & 0xffff_ffff
                    } else {
                        (raw & 0x7ff_ffff_ffff) | (((raw >> 43) & 0xff) << 56)
                    };
                    // arm64e targets are vm offsets (USERLAND) or vmaddrs (ARM64E); both start at base.
                    let target = if format == DYLD_CHAINED_PTR_ARM64E {
                        target
                    } else {
                        base.wrapping_add(target)
                    };
                    (bind, next, target)
                } else {
                    let bind = raw >> 63 != 0;
                    let next = (raw >> 51) & 0xfff;
                    let target = (raw & 0xf_ffff_ffff) | (((raw >> 36) & 0xff) << 56);
                    let target = if format == DYLD_CHAINED_PTR_64_OFFSET {
                        base.wrapping_add(target)
                    } else {
                        target
                    };
                    (bind, next, target)
                };
                if !is_bind {
                    found.push((at, target));
                }
                if next == 0 {
                    break;
                }
                at = at.wrapping_add(next * stride);
            }
        }
    }
    image.pointers.extend(found);
    Ok(())
}

/// Imports and entry points from the symbol table; Mach-O symbols carry a leading underscore.
fn collect_symbols<'data>(file: &impl Object<'data>, image: &mut Image<'_>) {
    for sym in file.symbols() {
        let Ok(raw) = sym.name_bytes() else { continue };
        let name = raw.strip_prefix(b"_").unwrap_or(raw);
        if sym.is_undefined() {
            image.imports.note(name);
        } else if sym.is_global() && is_entry_name(name) {
            if let Ok(n) = std::str::from_utf8(name) {
                image.entries.push(EntrySymbol {
                    name: n.to_string(),
                    address: Some(sym.address()),
                });
            }
        }
    }
}

/// Symbol-pointer sections list their entries' symbols through the indirect symbol table
/// (entry i of a section is indirect symbol `reserved1 + i`); stubs jump through these slots.
fn read_import_slots(
    image: &mut Image<'_>,
    sections: &[(u64, u64, u32)],
    (symoff, nsyms): (u32, u32),
    (stroff, strsize): (u32, u32),
    (indirectoff, nindirect): (u32, u32),
) {
    let data = image.data;
    let word = |at: usize| {
        data.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let name_of = |symbol: u32| -> Option<&[u8]> {
        if symbol >= nsyms {
            return None; // INDIRECT_SYMBOL_LOCAL / _ABS, or out of range
        }
        let strx = word(symoff as usize + 16 * symbol as usize)?;
        if strx >= strsize {
            return None;
        }
        let tail = data.get(stroff as usize + strx as usize..)?;
        let end = memchr::memchr(0, &tail[..tail.len().min(512)])?;
        Some(&tail[..end])
    };
    for &(addr, size, first) in sections {
        for i in 0..(size / 8).min(1 << 20) as u32 {
            let Some(index) = first.checked_add(i).filter(|&x| x < nindirect) else {
                break;
            };
            let Some(symbol) = word(indirectoff as usize + 4 * index as usize) else {
                break;
            };
            if let Some(name) = name_of(symbol) {
                let name = name.strip_prefix(b"_").unwrap_or(name);
                image
                    .import_slots
                    .push((addr + 8 * u64::from(i), Api::from_name(name)));
            }
        }
    }
}
