//! Identification from the first bytes of a file: format and architectures, nothing else.
//!
//! For bundled libraries inside wheels. No import can load them by name, so no module lives
//! in them, yet they are the largest members of a wheel set (BLAS, Arrow): inflating them
//! whole would cost more than every extension module together. Their headers come first in
//! the file, so only a prefix is inflated.

use ftaudit_model::{
    AbiFacts, AbiTarget, Architecture, BinaryFormat, FileKind, FileProblem, FileProblemKind,
    StaticFacts,
};
use object::read::elf::FileHeader;
use object::read::macho::{FatArch, MachHeader, MachOFatFile32, MachOFatFile64};
use object::read::pe::ImageNtHeaders;
use object::{elf, macho, pe, Endianness};

use crate::abi::abi_from_file_name;
use crate::image::model_architecture;
use crate::problem::{Problem, ProblemResult};
use crate::{sniff, Sniffed};

/// Enough for every header this module reads: the ELF and Mach-O headers are at offset 0,
/// a fat header lists its slices in its first page, and a PE header sits within the first
/// kilobytes (after the DOS stub).
pub const HEADER_BYTES: usize = 64 * 1024;

/// Facts about a plain library from its first bytes. `why` says why only the headers were
/// read; it becomes the ABI evidence, since nothing in the symbols was seen.
pub fn identify_library(
    file_name: &str,
    head: &[u8],
    why: &str,
) -> Result<StaticFacts, FileProblem> {
    identify(file_name, head, why).map_err(|p| p.into_file_problem(file_name))
}

fn identify(file_name: &str, head: &[u8], why: &str) -> ProblemResult<StaticFacts> {
    let (format, architectures) = match sniff(head)? {
        Sniffed::Elf => (BinaryFormat::Elf, vec![elf_architecture(head)?]),
        Sniffed::MachO => (BinaryFormat::MachO, vec![macho_architecture(head)?]),
        Sniffed::Fat => (BinaryFormat::MachOFat, fat_architectures(head)?),
        Sniffed::Pe => (BinaryFormat::Pe, vec![pe_architecture(head)?]),
    };
    let from_suffix = abi_from_file_name(file_name);
    Ok(StaticFacts {
        format,
        architectures,
        kind: FileKind::SharedLibrary,
        abi: AbiFacts {
            conclusion: from_suffix.clone(),
            from_suffix,
            from_binary: AbiTarget::Unknown,
            binary_evidence: format!("symbols not read: {why}"),
        },
        generator: None,
        modules: Vec::new(),
    })
}

fn cut_short(what: &str) -> Problem {
    Problem::new(FileProblemKind::Truncated, format!("{what} cut short"))
}

fn elf_architecture(head: &[u8]) -> ProblemResult<Architecture> {
    let machine = if head.get(4) == Some(&elf::ELFCLASS64) {
        let header =
            elf::FileHeader64::<Endianness>::parse(head).map_err(|_| cut_short("ELF header"))?;
        header.e_machine(header.endian().map_err(|e| Problem::malformed("ELF", e))?)
    } else {
        let header =
            elf::FileHeader32::<Endianness>::parse(head).map_err(|_| cut_short("ELF header"))?;
        header.e_machine(header.endian().map_err(|e| Problem::malformed("ELF", e))?)
    };
    Ok(match machine {
        elf::EM_X86_64 => Architecture::X86_64,
        elf::EM_AARCH64 => Architecture::Aarch64,
        elf::EM_386 => Architecture::X86,
        elf::EM_ARM => Architecture::Arm,
        other => Architecture::Other(format!("ELF machine {other}")),
    })
}

fn macho_architecture(head: &[u8]) -> ProblemResult<Architecture> {
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let cputype = if matches!(magic, macho::MH_MAGIC_64 | macho::MH_CIGAM_64) {
        header_cputype::<macho::MachHeader64<Endianness>>(head)?
    } else {
        header_cputype::<macho::MachHeader32<Endianness>>(head)?
    };
    Ok(macho_cpu(cputype))
}

fn header_cputype<H: MachHeader<Endian = Endianness>>(head: &[u8]) -> ProblemResult<u32> {
    let header = H::parse(head, 0).map_err(|_| cut_short("Mach-O header"))?;
    let endian = header
        .endian()
        .map_err(|e| Problem::malformed("Mach-O", e))?;
    Ok(header.cputype(endian))
}

fn macho_cpu(cputype: u32) -> Architecture {
    match cputype {
        macho::CPU_TYPE_X86_64 => Architecture::X86_64,
        macho::CPU_TYPE_ARM64 => Architecture::Aarch64,
        macho::CPU_TYPE_X86 => Architecture::X86,
        macho::CPU_TYPE_ARM => Architecture::Arm,
        other => Architecture::Other(format!("Mach-O cputype {other:#x}")),
    }
}

fn fat_architectures(head: &[u8]) -> ProblemResult<Vec<Architecture>> {
    let fat64 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) == macho::FAT_MAGIC_64;
    let bad = |_| cut_short("universal Mach-O header");
    let cputypes = if fat64 {
        cputypes(MachOFatFile64::parse(head).map_err(bad)?.arches())
    } else {
        cputypes(MachOFatFile32::parse(head).map_err(bad)?.arches())
    };
    if cputypes.is_empty() {
        return Err(Problem::new(
            FileProblemKind::Malformed,
            "universal Mach-O file with no slices",
        ));
    }
    Ok(cputypes.into_iter().map(macho_cpu).collect())
}

fn cputypes<A: FatArch>(arches: &[A]) -> Vec<u32> {
    arches.iter().map(|a| a.cputype()).collect()
}

fn pe_architecture(head: &[u8]) -> ProblemResult<Architecture> {
    let dos = pe::ImageDosHeader::parse(head).map_err(|_| cut_short("PE DOS header"))?;
    let mut offset = dos.nt_headers_offset().into();
    // The machine field sits at the same place in 32- and 64-bit headers.
    let machine = match pe::ImageNtHeaders64::parse(head, &mut offset) {
        Ok((nt, _)) => nt.file_header().machine.get(object::LittleEndian),
        Err(_) => {
            let mut offset = dos.nt_headers_offset().into();
            let (nt, _) = pe::ImageNtHeaders32::parse(head, &mut offset)
                .map_err(|e| Problem::malformed("PE headers", e))?;
            nt.file_header().machine.get(object::LittleEndian)
        }
    };
    let arch = match machine {
        pe::IMAGE_FILE_MACHINE_AMD64 => object::Architecture::X86_64,
        pe::IMAGE_FILE_MACHINE_ARM64 => object::Architecture::Aarch64,
        pe::IMAGE_FILE_MACHINE_I386 => object::Architecture::I386,
        pe::IMAGE_FILE_MACHINE_ARMNT => object::Architecture::Arm,
        other => return Ok(Architecture::Other(format!("PE machine {other:#x}"))),
    };
    Ok(model_architecture(arch, "PE"))
}
