//! ELF (64-bit little-endian: x86_64, aarch64). Pointers inside a shared object are filled in by
//! the dynamic loader from `.rela.dyn` (RELATIVE: the target is the addend, the file bytes may be
//! zero) and from DT_RELR (packed RELATIVE relocations: the target is the file bytes).

use ftaudit_model::{Architecture, FileProblemKind};
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::{LittleEndian as LE, Object, ObjectSymbol};

use crate::image::{is_entry_name, Api, EntrySymbol, Image, Region};
use crate::problem::{Problem, ProblemResult};

const R_X86_64_64: u32 = 1;
const R_X86_64_GLOB_DAT: u32 = 6;
const R_X86_64_JUMP_SLOT: u32 = 7;
const R_X86_64_RELATIVE: u32 = 8;
const R_AARCH64_ABS64: u32 = 257;
const R_AARCH64_GLOB_DAT: u32 = 1025;
const R_AARCH64_JUMP_SLOT: u32 = 1026;
const R_AARCH64_RELATIVE: u32 = 1027;
/// A relocation table bigger than this is corrupt, not a real module (numpy's largest has ~60k).
/// No extension module comes near 16 GiB; offsets beyond it are garbage, not truncation.
const PLAUSIBLE_FILE_SIZE: u64 = 1 << 34;
/// DT_RELR / DT_RELRSZ (generic ABI, 2022), not in every ELF header set.
const DT_RELR: u32 = 36;
const DT_RELRSZ: u32 = 35;
const MAX_RELOCS: usize = 20_000_000;

pub(crate) fn parse(data: &[u8]) -> ProblemResult<Image<'_>> {
    if data.len() < 64 {
        return Err(Problem::new(
            FileProblemKind::Truncated,
            "ELF header cut short",
        ));
    }
    if data[4] != elf::ELFCLASS64 || data[5] != elf::ELFDATA2LSB {
        let what = if data[4] == elf::ELFCLASS32 {
            "32-bit"
        } else {
            "big-endian"
        };
        return parse_undecodable(data, what);
    }
    check_extent(data)?;
    let file = ElfFile64::<LE>::parse(data).map_err(|e| Problem::malformed("ELF", e))?;
    let header = file.elf_header();
    let arch = match header.e_machine(LE) {
        elf::EM_X86_64 => Architecture::X86_64,
        elf::EM_AARCH64 => Architecture::Aarch64,
        other => Architecture::Other(format!("ELF machine {other}")),
    };
    let mut image = Image::new(data, arch.clone());
    let phdrs = header
        .program_headers(LE, data)
        .map_err(|e| Problem::malformed("ELF program headers", e))?;
    for ph in phdrs {
        if ph.p_type(LE) == elf::PT_LOAD {
            image.regions.push(Region {
                vaddr: ph.p_vaddr(LE),
                vsize: ph.p_memsz(LE),
                file_off: ph.p_offset(LE),
                file_size: ph.p_filesz(LE).min(ph.p_memsz(LE)),
            });
        }
    }
    image.add_string_sections(&file);

    // Symbol-based relocations resolve through the dynamic symbol table by index. A C++
    // module has tens of thousands of dynamic symbols; only names starting `Py` or `_Py`
    // (entry points, the init and GIL functions, free-threaded-only imports) matter, so the
    // rest are never measured.
    let table = file.elf_dynamic_symbol_table();
    let strings = file
        .elf_section_table()
        .section(table.string_section())
        .ok()
        .and_then(|section| section.data(LE, data).ok())
        .unwrap_or_default();
    let mut sym_values: Vec<u64> = vec![0; table.len()];
    // Which CPython function each undefined symbol is (None: defined here), for import slots.
    let mut sym_imports: Vec<Option<Api>> = vec![None; table.len()];
    for (idx, sym) in table.symbols().iter().enumerate() {
        let name = strings.get(sym.st_name(LE) as usize..).unwrap_or_default();
        let relevant = name.starts_with(b"Py") || name.starts_with(b"_Py");
        let name = match memchr::memchr(0, name) {
            Some(end) if relevant => &name[..end],
            _ => &[],
        };
        if sym.st_shndx(LE) == elf::SHN_UNDEF {
            image.imports.note(name);
            if idx != 0 {
                sym_imports[idx] = Some(Api::from_name(name));
            }
            continue;
        }
        sym_values[idx] = sym.st_value(LE);
        if sym.st_bind() != elf::STB_LOCAL && is_entry_name(name) {
            if let Ok(n) = std::str::from_utf8(name) {
                image.entries.push(EntrySymbol {
                    name: n.to_string(),
                    address: Some(sym.st_value(LE)),
                });
            }
        }
    }

    if image.decodable {
        read_dynamic(&mut image, phdrs, &sym_values, &sym_imports)?;
    }
    image.finish();
    Ok(image)
}

/// 32-bit or big-endian files: still list entry points, but do not decode structures.
fn parse_undecodable<'a>(data: &'a [u8], what: &str) -> ProblemResult<Image<'a>> {
    let file = object::File::parse(data).map_err(|e| Problem::malformed("ELF", e))?;
    let mut image = Image::undecodable(data, file.architecture(), what);
    image.add_string_sections(&file);
    for sym in file.dynamic_symbols() {
        let Ok(name) = sym.name_bytes() else { continue };
        if sym.is_undefined() {
            image.imports.note(name);
        } else if sym.is_global() && is_entry_name(name) {
            if let Ok(n) = std::str::from_utf8(name) {
                image.entries.push(EntrySymbol {
                    name: n.to_string(),
                    address: None,
                });
            }
        }
    }
    image.finish();
    Ok(image)
}

/// Headers that point past the end of the file mean the file was cut short, as long as
/// what they point at is plausible; absurd offsets mean a corrupt header.
fn check_extent(data: &[u8]) -> ProblemResult<()> {
    let Ok(header) = elf::FileHeader64::<LE>::parse(data) else {
        return Err(Problem::new(
            FileProblemKind::Truncated,
            "ELF header cut short",
        ));
    };
    let len = data.len() as u64;
    let phoff = header.e_phoff.get(LE);
    let ph_end = phoff
        .saturating_add(u64::from(header.e_phnum.get(LE)) * u64::from(header.e_phentsize.get(LE)));
    let shoff = header.e_shoff.get(LE);
    let sh_end = shoff
        .saturating_add(u64::from(header.e_shnum.get(LE)) * u64::from(header.e_shentsize.get(LE)));
    for (what, end) in [("program headers", ph_end), ("section headers", sh_end)] {
        if end > PLAUSIBLE_FILE_SIZE {
            return Err(Problem::new(
                FileProblemKind::Malformed,
                format!("ELF header places the {what} at an impossible offset ({end:#x})"),
            ));
        }
    }
    if ph_end > len {
        return Err(Problem::new(
            FileProblemKind::Truncated,
            format!("program headers end at byte {ph_end} but the file has {len} bytes"),
        ));
    }
    if shoff != 0 && sh_end > len {
        return Err(Problem::new(
            FileProblemKind::Truncated,
            format!("section headers end at byte {sh_end} but the file has {len} bytes"),
        ));
    }
    if let Ok(phdrs) = header.program_headers(LE, data) {
        for ph in phdrs {
            if ph.p_type(LE) == elf::PT_LOAD {
                let end = ph.p_offset(LE).saturating_add(ph.p_filesz(LE));
                if end > len {
                    return Err(Problem::new(
                        FileProblemKind::Truncated,
                        format!(
                            "a loadable segment ends at byte {end} but the file has {len} bytes"
                        ),
                    ));
                }
            }
        }
    } else {
        return Err(Problem::new(
            FileProblemKind::Malformed,
            "ELF program headers are unreadable",
        ));
    }
    Ok(())
}

fn read_dynamic(
    image: &mut Image<'_>,
    phdrs: &[elf::ProgramHeader64<LE>],
    sym_values: &[u64],
    sym_imports: &[Option<Api>],
) -> ProblemResult<()> {
    let Some(dyn_ph) = phdrs.iter().find(|p| p.p_type(LE) == elf::PT_DYNAMIC) else {
        return Ok(());
    };
    let off = usize::try_from(dyn_ph.p_offset(LE)).unwrap_or(usize::MAX);
    let size = usize::try_from(dyn_ph.p_filesz(LE)).unwrap_or(usize::MAX);
    let Some(dynamic) = off
        .checked_add(size)
        .and_then(|end| image.data.get(off..end))
    else {
        return Err(Problem::new(
            FileProblemKind::Truncated,
            "dynamic section lies past the end of the file",
        ));
    };
    let (mut rela, mut relasz, mut relr, mut relrsz, mut strtab) = (None, 0u64, None, 0u64, None);
    let (mut jmprel, mut pltrelsz) = (None, 0u64);
    let mut needed = Vec::new();
    for entry in dynamic.chunks_exact(16) {
        let tag = u64::from_le_bytes(entry[..8].try_into().unwrap_or_default());
        let val = u64::from_le_bytes(entry[8..].try_into().unwrap_or_default());
        match tag as u32 {
            _ if tag == u64::from(elf::DT_NULL) => break,
            elf::DT_RELA => rela = Some(val),
            elf::DT_RELASZ => relasz = val,
            DT_RELR => relr = Some(val),
            DT_RELRSZ => relrsz = val,
            elf::DT_STRTAB => strtab = Some(val),
            elf::DT_JMPREL => jmprel = Some(val),
            elf::DT_PLTRELSZ => pltrelsz = val,
            elf::DT_NEEDED => needed.push(val),
            _ => {}
        }
    }
    if let Some(strtab) = strtab {
        for n in needed {
            if let Some(s) = image.c_str_at(strtab.wrapping_add(n), 256) {
                image.imports.libraries.push(s.to_string());
            }
        }
    }
    // Relocations only serve to decode a module definition; a bundled library has none to
    // decode, and its tables are the largest (libarrow: half a million entries).
    if image.entries.is_empty() {
        return Ok(());
    }
    let relative = if image.arch == Architecture::Aarch64 {
        R_AARCH64_RELATIVE
    } else {
        R_X86_64_RELATIVE
    };
    let (abs64, glob_dat, jump_slot) = if image.arch == Architecture::Aarch64 {
        (R_AARCH64_ABS64, R_AARCH64_GLOB_DAT, R_AARCH64_JUMP_SLOT)
    } else {
        (R_X86_64_64, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT)
    };
    if let Some(rela) = rela {
        let table = table_bytes(image, rela, relasz, "DT_RELA")?;
        if table.len() / 24 > MAX_RELOCS {
            return Err(Problem::new(
                FileProblemKind::Malformed,
                "DT_RELASZ is implausibly large",
            ));
        }
        image.pointers.reserve(table.len() / 24);
        for r in table.chunks_exact(24) {
            let offset = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
            let info = u64::from_le_bytes(r[8..16].try_into().unwrap_or_default());
            let addend = i64::from_le_bytes(r[16..].try_into().unwrap_or_default());
            let typ = (info & 0xffff_ffff) as u32;
            if typ == relative {
                image.pointers.push((offset, addend as u64));
            } else if typ == abs64 || typ == glob_dat {
                let sym = (info >> 32) as usize;
                if let Some(&Some(api)) = sym_imports.get(sym) {
                    image.import_slots.push((offset, api));
                } else if let Some(&v) = sym_values.get(sym) {
                    if v != 0 {
                        image.pointers.push((offset, v.wrapping_add(addend as u64)));
                    }
                }
            }
        }
    }
    // PLT slots: the GOT entries that lazy or bound calls jump through (DT_PLTREL is RELA on
    // both architectures).
    if let Some(jmprel) = jmprel {
        let table = table_bytes(image, jmprel, pltrelsz, "DT_JMPREL")?;
        for r in table.chunks_exact(24).take(MAX_RELOCS) {
            let offset = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
            let info = u64::from_le_bytes(r[8..16].try_into().unwrap_or_default());
            if (info & 0xffff_ffff) as u32 == jump_slot {
                if let Some(&Some(api)) = sym_imports.get((info >> 32) as usize) {
                    image.import_slots.push((offset, api));
                }
            }
        }
    }
    if let Some(relr) = relr {
        let table = table_bytes(image, relr, relrsz, "DT_RELR")?;
        decode_relr(image, table);
    }
    Ok(())
}

fn table_bytes<'a>(
    image: &Image<'a>,
    vaddr: u64,
    size: u64,
    what: &str,
) -> ProblemResult<&'a [u8]> {
    let size = usize::try_from(size)
        .map_err(|_| Problem::new(FileProblemKind::Malformed, format!("{what} size overflows")))?;
    if size == 0 {
        return Ok(&[]);
    }
    image.bytes_at(vaddr, size).ok_or_else(|| {
        Problem::new(
            FileProblemKind::Malformed,
            format!("{what} table at {vaddr:#x} ({size} bytes) is not inside the file"),
        )
    })
}

/// DT_RELR: an even word is an address to relocate; an odd word is a bitmap of the next 63
/// words after the last address. The targets are the values stored in place.
fn decode_relr(image: &mut Image<'_>, table: &[u8]) {
    let mut base = 0u64;
    for w in table.chunks_exact(8) {
        let word = u64::from_le_bytes(w.try_into().unwrap_or_default());
        if word & 1 == 0 {
            push_in_place(image, word);
            base = word.wrapping_add(8);
        } else {
            let mut bits = word >> 1;
            let mut at = base;
            while bits != 0 {
                if bits & 1 != 0 {
                    push_in_place(image, at);
                }
                bits >>= 1;
                at = at.wrapping_add(8);
            }
            base = base.wrapping_add(63 * 8);
        }
    }
}

fn push_in_place(image: &mut Image<'_>, slot: u64) {
    if let Some(target) = image.u64_at(slot) {
        image.pointers.push((slot, target));
    }
}
