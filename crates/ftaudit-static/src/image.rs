//! A format-neutral view of one loaded image (one thin binary, or one slice of a fat Mach-O):
//! where virtual addresses live in the file, which pointer slots the loader fills in and with
//! what, and the few symbols the analysis cares about.

use ftaudit_model::Architecture;
use object::{Object, ObjectSection, SectionKind};

/// A mapped range: `vsize` bytes at `vaddr`, of which the first `file_size` come from the file
/// at `file_off` and the rest are zero-filled by the loader (.bss, zerofill, uninitialised data).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region {
    pub vaddr: u64,
    pub vsize: u64,
    pub file_off: u64,
    pub file_size: u64,
}

/// Where a virtual address lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backing {
    /// Backed by the file at this offset.
    File(usize),
    /// Mapped but zero-filled: the contents only exist at run time.
    Zero,
    Unmapped,
}

/// An exported symbol that looks like a module entry point, with any Mach-O underscore removed.
#[derive(Debug, Clone)]
pub(crate) struct EntrySymbol {
    pub name: String,
    /// Where its code starts (a virtual address), when the symbol table says.
    pub address: Option<u64>,
}

/// The CPython functions whose calls the init-code pass (src/code/) looks for; every other
/// imported function is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Api {
    SetGil,
    ModuleDefInit,
    ModuleCreate2,
    Other,
}

impl Api {
    pub fn from_name(name: &[u8]) -> Api {
        match name {
            b"PyUnstable_Module_SetGIL" => Api::SetGil,
            b"PyModuleDef_Init" => Api::ModuleDefInit,
            b"PyModule_Create2" | b"PyModule_Create2TraceRefs" => Api::ModuleCreate2,
            _ => Api::Other,
        }
    }
}

/// How arguments are passed: which registers carry the first ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallingConvention {
    /// System V x86-64 (Linux, macOS).
    SysV,
    /// Microsoft x64 (Windows).
    Microsoft,
    /// AAPCS64 (Linux, macOS and Windows on arm64).
    Aapcs64,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Imports {
    pub module_def_init: bool,
    pub module_create2: bool,
    pub set_gil: bool,
    /// Imports that only a free-threaded libpython exports.
    pub free_threaded_only: Vec<String>,
    /// Libraries named as dependencies (DT_NEEDED, PE import DLLs, Mach-O dylibs).
    pub libraries: Vec<String>,
}

/// Symbols only a free-threaded build of libpython exports (reference section 7).
const FREE_THREADED_ONLY: &[&str] = &[
    "_Py_MergeZeroLocalRefcount",
    "_Py_DecRefShared",
    "_Py_DecRefSharedDebug",
    "_Py_GetThreadLocal_Addr",
    "_Py_TryIncrefCompare",
    "_PyObject_TryIncRefShared",
];

impl Imports {
    /// Records one imported symbol name (already stripped of a Mach-O underscore).
    pub fn note(&mut self, name: &[u8]) {
        match name {
            b"PyModuleDef_Init" => self.module_def_init = true,
            b"PyModule_Create2" | b"PyModule_Create2TraceRefs" => self.module_create2 = true,
            b"PyUnstable_Module_SetGIL" => self.set_gil = true,
            _ => {
                if name.starts_with(b"_Py") {
                    if let Some(known) = FREE_THREADED_ONLY.iter().find(|k| k.as_bytes() == name) {
                        if !self.free_threaded_only.iter().any(|s| s == known) {
                            self.free_threaded_only.push((*known).to_string());
                        }
                    }
                }
            }
        }
    }
}

/// Data sections that hold only binary records (unwind, exception and relocation tables) or
/// debug info, by name prefix across ELF, Mach-O and PE.
const NOT_STRINGS: &[&[u8]] = &[
    b".eh_frame",
    b".gcc_except_table",
    b".debug",
    b".zdebug",
    b"__eh_frame",
    b"__unwind_info",
    b"__gcc_except_tab",
    b"__debug",
    b".pdata",
    b".xdata",
    b".reloc",
];

/// Pointer width and layout assumptions only hold for 64-bit little-endian images.
pub(crate) struct Image<'a> {
    pub data: &'a [u8],
    pub arch: Architecture,
    /// False for targets whose PyModuleDef layout this crate does not decode (32-bit).
    pub decodable: bool,
    pub regions: Vec<Region>,
    /// Zero-filled sections inside file-backed ranges (Mach-O segments round their file size
    /// up to a page, so a __bss section can look file-backed).
    pub zero_ranges: Vec<(u64, u64)>,
    /// (slot address, target address), sorted by slot address.
    pub pointers: Vec<(u64, u64)>,
    pub entries: Vec<EntrySymbol>,
    pub imports: Imports,
    /// (slot address, function): the pointer slots the loader fills with an imported
    /// function's address (ELF GOT, Mach-O __got/__la_symbol_ptr, PE import address table),
    /// sorted by slot address. Calls through them are calls to that function.
    pub import_slots: Vec<(u64, Api)>,
    pub calling_convention: CallingConvention,
    /// File ranges that can hold strings: read-only and writable data, string tables. The
    /// fingerprint and `m_name` searches look only here, never at code, relocations, symbol
    /// records, unwind tables or debug info (most of a large module's bytes).
    pub string_ranges: Vec<(usize, usize)>,
}

impl<'a> Image<'a> {
    /// An empty image; structures are decoded only for the 64-bit little-endian targets whose
    /// PyModuleDef layout this crate knows.
    pub fn new(data: &'a [u8], arch: Architecture) -> Self {
        let decodable = matches!(arch, Architecture::X86_64 | Architecture::Aarch64);
        let calling_convention = if arch == Architecture::Aarch64 {
            CallingConvention::Aapcs64
        } else {
            CallingConvention::SysV
        };
        Image {
            data,
            arch,
            decodable,
            regions: Vec::new(),
            zero_ranges: Vec::new(),
            pointers: Vec::new(),
            entries: Vec::new(),
            imports: Imports::default(),
            import_slots: Vec::new(),
            calling_convention,
            string_ranges: Vec::new(),
        }
    }

    /// An image of a 32-bit or big-endian file: entry points and imports only.
    pub fn undecodable(data: &'a [u8], arch: object::Architecture, format: &str) -> Self {
        Image {
            decodable: false,
            ..Image::new(data, model_architecture(arch, format))
        }
    }

    /// Records a file range that may hold strings, clipped to the file.
    pub fn add_string_range(&mut self, offset: u64, size: u64) {
        let len = self.data.len() as u64;
        let start = offset.min(len);
        let end = offset.saturating_add(size).min(len);
        if start < end {
            self.string_ranges.push((start as usize, end as usize));
        }
    }

    /// Adds the sections whose bytes can hold strings (data of every kind, and the symbol
    /// string tables, where generator names such as `CPyInit_` live). A file without section
    /// headers is searched in everything the loader maps.
    pub fn add_string_sections<'data>(&mut self, file: &impl Object<'data>) {
        let mut any = false;
        for section in file.sections() {
            any = true;
            let name = section.name_bytes().unwrap_or_default();
            let wanted = match section.kind() {
                SectionKind::ReadOnlyData
                | SectionKind::ReadOnlyString
                | SectionKind::ReadOnlyDataWithRel
                | SectionKind::Data
                | SectionKind::OtherString
                | SectionKind::Other => !NOT_STRINGS.iter().any(|p| name.starts_with(p)),
                SectionKind::Metadata => name == b".dynstr",
                _ => false,
            };
            if let (true, Some((offset, size))) = (wanted, section.file_range()) {
                self.add_string_range(offset, size);
            }
        }
        if !any {
            let loaded: Vec<(u64, u64)> = self
                .regions
                .iter()
                .map(|r| (r.file_off, r.file_size))
                .collect();
            for (offset, size) in loaded {
                self.add_string_range(offset, size);
            }
        }
    }

    pub fn finish(&mut self) {
        // Relocation tables come as a few runs already in address order (relative, then
        // symbolic); the stable sort merges runs in linear time.
        self.pointers.sort_by_key(|p| p.0);
        self.import_slots.sort_unstable_by_key(|p| p.0);
        self.import_slots.dedup_by_key(|p| p.0);
        self.regions.sort_unstable_by_key(|r| r.vaddr);
        // Merged, so that no byte is searched twice.
        self.string_ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.string_ranges.len());
        for &(start, end) in &self.string_ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        self.string_ranges = merged;
    }

    pub fn backing(&self, vaddr: u64) -> Backing {
        if self
            .zero_ranges
            .iter()
            .any(|&(start, size)| vaddr >= start && vaddr - start < size)
        {
            return Backing::Zero;
        }
        // Few regions (a handful of segments), so a linear scan is cheapest.
        for r in &self.regions {
            if vaddr >= r.vaddr && vaddr - r.vaddr < r.vsize {
                let delta = vaddr - r.vaddr;
                if delta < r.file_size {
                    return match usize::try_from(r.file_off.saturating_add(delta)) {
                        Ok(off) if off < self.data.len() => Backing::File(off),
                        _ => Backing::Unmapped,
                    };
                }
                return Backing::Zero;
            }
        }
        Backing::Unmapped
    }

    /// Maps a file offset back to its virtual address.
    pub fn vaddr_of_offset(&self, off: u64) -> Option<u64> {
        self.regions
            .iter()
            .find(|r| off >= r.file_off && off - r.file_off < r.file_size)
            .map(|r| r.vaddr.wrapping_add(off - r.file_off))
    }

    /// Bytes at `vaddr`, when all `len` of them are file-backed.
    pub fn bytes_at(&self, vaddr: u64, len: usize) -> Option<&'a [u8]> {
        if len == 0 {
            return Some(&[]);
        }
        match self.backing(vaddr) {
            Backing::File(off) => {
                let end = off.checked_add(len)?;
                // The range must stay inside the same region's file-backed part.
                let last = self.backing(vaddr.checked_add(len as u64 - 1)?);
                match last {
                    Backing::File(l) if l + 1 == end => self.data.get(off..end),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The function whose address the loader puts in `slot`, when it is an import slot.
    pub fn import_at(&self, slot: u64) -> Option<Api> {
        self.import_slots
            .binary_search_by_key(&slot, |p| p.0)
            .ok()
            .map(|i| self.import_slots[i].1)
    }

    /// Up to `max` file-backed bytes from `vaddr` on, within one region (for decoding code).
    pub fn code_at(&self, vaddr: u64, max: usize) -> Option<&'a [u8]> {
        let r = self
            .regions
            .iter()
            .find(|r| vaddr >= r.vaddr && vaddr - r.vaddr < r.file_size)?;
        let start = usize::try_from(r.file_off + (vaddr - r.vaddr)).ok()?;
        let end = usize::try_from(r.file_off + r.file_size)
            .ok()?
            .min(self.data.len());
        let end = end.min(start.saturating_add(max));
        self.data.get(start..end).filter(|b| !b.is_empty())
    }

    pub fn u64_at(&self, vaddr: u64) -> Option<u64> {
        self.bytes_at(vaddr, 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }

    /// The loader-filled target of a pointer slot, if a relocation covers it.
    pub fn pointer_target(&self, slot: u64) -> Option<u64> {
        self.pointers
            .binary_search_by_key(&slot, |p| p.0)
            .ok()
            .map(|i| self.pointers[i].1)
    }

    /// What a pointer-sized field holds once loaded: a relocated target, else the raw bytes.
    pub fn loaded_u64(&self, vaddr: u64) -> Option<u64> {
        self.pointer_target(vaddr).or_else(|| self.u64_at(vaddr))
    }

    /// The symbol-table object that starts at `vaddr` and its size, when the file keeps
    /// sized symbols (ELF .symtab/.dynsym). Parsed on demand: only rare cases need it.
    pub fn object_at(&self, vaddr: u64) -> Option<(String, u64)> {
        use object::{Object, ObjectSymbol};
        let file = object::File::parse(self.data).ok()?;
        file.symbols()
            .chain(file.dynamic_symbols())
            .find(|s| s.address() == vaddr && s.size() != 0 && !s.is_undefined())
            .map(|s| (s.name().unwrap_or("").to_string(), s.size()))
    }

    /// A NUL-terminated string at `vaddr` (bounded, valid UTF-8 only).
    pub fn c_str_at(&self, vaddr: u64, max: usize) -> Option<&'a str> {
        let Backing::File(off) = self.backing(vaddr) else {
            return None;
        };
        let tail = self.data.get(off..)?;
        let tail = &tail[..tail.len().min(max)];
        let end = memchr::memchr(0, tail)?;
        std::str::from_utf8(&tail[..end]).ok()
    }
}

/// The report's name for an architecture `object` decoded from a `format` file.
pub(crate) fn model_architecture(arch: object::Architecture, format: &str) -> Architecture {
    match arch {
        object::Architecture::X86_64 => Architecture::X86_64,
        object::Architecture::Aarch64 => Architecture::Aarch64,
        object::Architecture::I386 => Architecture::X86,
        object::Architecture::Arm => Architecture::Arm,
        other => Architecture::Other(format!("{format} {other:?}")),
    }
}

pub(crate) fn is_entry_name(name: &[u8]) -> bool {
    name.starts_with(b"PyInit_")
        || name.starts_with(b"PyInitU_")
        || name.starts_with(b"PyModExport_")
}
