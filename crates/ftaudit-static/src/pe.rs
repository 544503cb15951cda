//! PE (PE32+: x64, arm64). Pointers are absolute virtual addresses (ImageBase + RVA, modulo
//! 2^64 as the loader computes them, so a hostile ImageBase cannot overflow) in the file,
//! and the loader adjusts every IMAGE_REL_BASED_DIR64 base relocation; addresses in this crate
//! are those preferred-base virtual addresses.

use ftaudit_model::{Architecture, FileProblemKind};
use object::pe;
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader, PeFile32, PeFile64};
use object::Object;

use crate::image::{is_entry_name, Api, CallingConvention, EntrySymbol, Image, Region};
use crate::problem::{Problem, ProblemResult};

pub(crate) fn parse(data: &[u8]) -> ProblemResult<Image<'_>> {
    let file = match PeFile64::parse(data) {
        Ok(f) => f,
        Err(e64) => {
            return match PeFile32::parse(data) {
                Ok(f32) => Ok(undecodable(data, &f32)),
                Err(_) => Err(truncated_or(data, Problem::malformed("PE", e64))),
            }
        }
    };
    let arch = match file
        .nt_headers()
        .file_header()
        .machine
        .get(object::LittleEndian)
    {
        pe::IMAGE_FILE_MACHINE_AMD64 => Architecture::X86_64,
        pe::IMAGE_FILE_MACHINE_ARM64 => Architecture::Aarch64,
        other => Architecture::Other(format!("PE machine {other:#x}")),
    };
    let image_base = file.nt_headers().optional_header().image_base();
    let mut image = Image::new(data, arch);
    if image.arch == Architecture::X86_64 {
        image.calling_convention = CallingConvention::Microsoft;
    }
    let len = data.len() as u64;
    let sections = file.section_table();
    for s in sections.iter() {
        let (raw_off, raw_size) = (
            u64::from(s.pointer_to_raw_data.get(object::LittleEndian)),
            u64::from(s.size_of_raw_data.get(object::LittleEndian)),
        );
        if raw_size != 0 && raw_off.saturating_add(raw_size) > len {
            return Err(Problem::new(
                FileProblemKind::Truncated,
                format!(
                    "section {} ends at byte {} but the file has {len} bytes",
                    String::from_utf8_lossy(s.raw_name()),
                    raw_off.saturating_add(raw_size)
                ),
            ));
        }
        let (file_off, file_size) = s.pe_file_range();
        let (rva, vsize) = s.pe_address_range();
        image.regions.push(Region {
            vaddr: image_base.wrapping_add(u64::from(rva)),
            vsize: u64::from(vsize).max(u64::from(file_size)),
            file_off: u64::from(file_off),
            file_size: u64::from(file_size),
        });
    }
    image.add_string_sections(&file);
    collect_symbols(&file, &mut image)?;
    image.regions.sort_unstable_by_key(|r| r.vaddr);
    if let Some(dir) = file
        .data_directories()
        .get(pe::IMAGE_DIRECTORY_ENTRY_IMPORT)
    {
        read_imports(
            &mut image,
            image_base,
            dir.virtual_address.get(object::LittleEndian),
        );
    }
    // Pointers only serve to decode a module definition: a plain library has none.
    if image.decodable && !image.entries.is_empty() {
        let blocks = file
            .data_directories()
            .relocation_blocks(data, &sections)
            .map_err(|e| Problem::malformed("PE base relocations", e))?;
        if let Some(mut blocks) = blocks {
            let mut slots = Vec::new();
            while let Some(block) = blocks
                .next()
                .map_err(|e| Problem::malformed("PE base relocations", e))?
            {
                for r in block {
                    if r.typ == pe::IMAGE_REL_BASED_DIR64 {
                        slots.push(image_base.wrapping_add(u64::from(r.virtual_address)));
                    }
                }
            }
            image.pointers.reserve(slots.len());
            for slot in slots {
                if let Some(target) = image.u64_at(slot) {
                    image.pointers.push((slot, target));
                }
            }
        }
    }
    image.finish();
    Ok(image)
}

fn collect_symbols<'a, Pe: ImageNtHeaders>(
    file: &object::read::pe::PeFile<'a, Pe>,
    image: &mut Image<'a>,
) -> ProblemResult<()> {
    for export in file
        .exports()
        .map_err(|e| Problem::malformed("PE export table", e))?
    {
        let name = export.name();
        if is_entry_name(name) {
            if let Ok(n) = std::str::from_utf8(name) {
                // Forwarded exports are left out by `object`: this is ImageBase + RVA.
                image.entries.push(EntrySymbol {
                    name: n.to_string(),
                    address: Some(export.address()),
                });
            }
        }
    }
    Ok(())
}

/// Walks the import descriptors by hand: `object` insists that names live in the section of the
/// import directory, and tools that rename bundled DLLs (delvewheel) put them elsewhere.
fn read_imports(image: &mut Image<'_>, image_base: u64, dir_rva: u32) {
    if dir_rva == 0 {
        return;
    }
    for i in 0..4096u64 {
        let Some(desc) = image.bytes_at(
            image_base
                .wrapping_add(u64::from(dir_rva))
                .wrapping_add(20 * i),
            20,
        ) else {
            return;
        };
        if desc.iter().all(|&b| b == 0) {
            return;
        }
        let word =
            |at: usize| u32::from_le_bytes([desc[at], desc[at + 1], desc[at + 2], desc[at + 3]]);
        let (original_thunks, name, first_thunk) = (word(0), word(12), word(16));
        if let Some(lib) = image.c_str_at(image_base.wrapping_add(u64::from(name)), 512) {
            if !image.imports.libraries.iter().any(|l| l == lib) {
                image.imports.libraries.push(lib.to_string());
            }
        }
        let thunks = if original_thunks != 0 {
            original_thunks
        } else {
            first_thunk
        };
        let iat = image_base.wrapping_add(u64::from(first_thunk));
        let Some(thunks) = image_base.checked_add(u64::from(thunks)) else {
            continue;
        };
        for t in 0..65_536u64 {
            let Some(thunk) = image.u64_at(thunks.wrapping_add(8 * t)) else {
                break;
            };
            if thunk == 0 {
                break;
            }
            if thunk & (1 << 63) != 0 {
                continue; // import by ordinal: no name to match
            }
            let name_at = image_base.wrapping_add(thunk & 0x7fff_ffff).wrapping_add(2);
            if let Some(name) = image.c_str_at(name_at, 256) {
                image.imports.note(name.as_bytes());
                if first_thunk != 0 {
                    let api = Api::from_name(name.as_bytes());
                    image.import_slots.push((iat.wrapping_add(8 * t), api));
                }
            }
        }
    }
}

fn undecodable<'a>(data: &'a [u8], file: &PeFile32<'a>) -> Image<'a> {
    let mut image = Image::undecodable(data, file.architecture(), "PE");
    // A 32-bit file whose tables are unreadable still gets a verdict: nothing decodable.
    let _ = collect_symbols(file, &mut image);
    image.add_string_sections(file);
    image.finish();
    image
}

/// `object` reports a short read as a generic parse error; say "truncated" when the headers
/// themselves do not fit.
fn truncated_or(data: &[u8], problem: Problem) -> Problem {
    if data.len() < 512 {
        return Problem::new(
            FileProblemKind::Truncated,
            format!("PE headers cut short: {}", problem.message),
        );
    }
    problem
}
