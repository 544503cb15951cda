//! The static pass on one file: ELF, Mach-O (thin and universal) and PE parsing, relocation
//! and fixup decoding, the PyModuleDef / m_slots decoding, generator fingerprints and the ABI
//! verdict (`ftaudit_static::analyze`), plus the headers-only identification used for large
//! bundled libraries (`ftaudit_static::identify_library`).
//!
//! Input: one byte that picks the file name (the ABI suffix is part of the verdict), then the
//! file's bytes.

#![no_main]

use ftaudit_model::{Architecture, BinaryFormat};
use libfuzzer_sys::fuzz_target;


fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = ftaudit_static::fuzzing::file_name(pick);

    let full = ftaudit_static::analyze(name, bytes);
    // What scan does for a bundled library larger than HEADER_BYTES: only its head is inflated.
    let head = &bytes[..bytes.len().min(ftaudit_static::HEADER_BYTES)];
    let quick = ftaudit_static::identify_library(name, head, "fuzzing");

    // The two readers must agree on what the file is: a report should not change its format
    // because a library happened to be bigger than HEADER_BYTES.
    if let Ok(facts) = &full {
        if bytes.len() <= ftaudit_static::HEADER_BYTES {
            let quick = quick.as_ref().unwrap_or_else(|problem| {
                panic!("analyze read {name} ({facts:?}) but identify_library did not: {problem:?}")
            });
            assert_eq!(facts.format, quick.format, "format of {name}");
            // Universal files are left out: analyze names each slice by its own Mach-O header,
            // identify_library by the fat table, and nothing checks that the two agree (see
            // artifacts-found/static_analyze/fat-table-disagrees-with-slice-*).
            let known = |a: &[Architecture]| !a.iter().any(|a| matches!(a, Architecture::Other(_)));
            if facts.format != BinaryFormat::MachOFat
                && known(&facts.architectures)
                && known(&quick.architectures)
            {
                assert_eq!(
                    facts.architectures, quick.architectures,
                    "architectures of {name}"
                );
            }
        }
    }
});
