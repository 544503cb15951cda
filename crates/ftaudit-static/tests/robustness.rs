//! Bad input never panics: truncated prefixes and random byte flips of real modules (ELF,
//! Mach-O with chained fixups, PE) give facts or a FileProblem. Also checks a universal
//! Mach-O assembled from real slices.

mod common;

use ftaudit_model::{Architecture, BinaryFormat, FileProblemKind, GilDeclaration};

/// Deterministic xorshift: the same mutations on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn samples() -> Vec<(String, Vec<u8>)> {
    let dirs = common::wheel_dirs();
    [
        (
            "markupsafe-3.0.3-cp313",
            "markupsafe/_speedups.cpython-313t-x86_64-linux-gnu.so",
        ),
        (
            "markupsafe-3.0.4-cp314-cp314t-macosx",
            "markupsafe/_speedups.cpython-314t-darwin.so",
        ),
        (
            "markupsafe-3.0.4-cp314-cp314t-win_amd64",
            "markupsafe/_speedups.cp314t-win_amd64.pyd",
        ),
        (
            "frozenlist-1.8.0-cp314-cp314t-macosx",
            "frozenlist/_frozenlist.cpython-314t-darwin.so",
        ),
    ]
    .iter()
    .map(|(w, m)| {
        (
            common::base_name(m).to_string(),
            common::member(&common::wheel(&dirs, w), m),
        )
    })
    .collect()
}

#[test]
fn truncated_prefixes_never_panic() {
    for (name, bytes) in samples() {
        let len = bytes.len();
        let mut cuts: Vec<usize> = (0..200).collect();
        cuts.extend((0..len).step_by(len / 97 + 1));
        for cut in cuts {
            let r = std::panic::catch_unwind(|| ftaudit_static::analyze(&name, &bytes[..cut]));
            let r = r.unwrap_or_else(|_| panic!("{name}: panic on a {cut}-byte prefix"));
            if cut < 4 {
                assert_eq!(
                    r.unwrap_err().kind,
                    FileProblemKind::UnknownFormat,
                    "{name}[..{cut}]"
                );
            }
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, bytes) in samples() {
        for round in 0..150 {
            let mut b = bytes.clone();
            // Half the rounds hit the headers and load commands, where parsing decisions live.
            let span = if round % 2 == 0 {
                b.len().min(4096)
            } else {
                b.len()
            };
            for _ in 0..1 + rng.next() % 8 {
                let at = (rng.next() as usize) % span;
                b[at] ^= 1 << (rng.next() % 8);
            }
            let r = std::panic::catch_unwind(|| ftaudit_static::analyze(&name, &b));
            assert!(r.is_ok(), "{name}: panic after byte flips in round {round}");
        }
    }
}

/// A universal file: big-endian fat header, 16 KiB aligned slices.
fn fat(slices: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
    out.extend_from_slice(&(slices.len() as u32).to_be_bytes());
    let mut offset = 0x4000u32;
    let mut placed = Vec::new();
    for s in slices {
        let cputype = u32::from_le_bytes(s[4..8].try_into().unwrap());
        let cpusub = u32::from_le_bytes(s[8..12].try_into().unwrap());
        for v in [cputype, cpusub, offset, s.len() as u32, 14] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        placed.push(offset);
        offset = (offset + s.len() as u32).div_ceil(0x4000) * 0x4000;
    }
    for (s, at) in slices.iter().zip(placed) {
        out.resize(at as usize, 0);
        out.extend_from_slice(s);
    }
    out
}

#[test]
fn universal_mach_o() {
    let s = samples();
    let thin = &s[1].1;
    let f = ftaudit_static::analyze("_speedups.cpython-314t-darwin.so", &fat(&[thin, thin]))
        .expect("fat file");
    assert_eq!(f.format, BinaryFormat::MachOFat);
    assert_eq!(
        f.architectures,
        vec![Architecture::Aarch64, Architecture::Aarch64]
    );
    assert_eq!(f.modules.len(), 1);
    assert_eq!(f.modules[0].gil.value, GilDeclaration::NotUsed);
    // Cut inside the second slice: the file is truncated.
    let whole = fat(&[thin, thin]);
    let p = ftaudit_static::analyze("x.so", &whole[..whole.len() - 100]).expect_err("cut fat file");
    assert_eq!(p.kind, FileProblemKind::Truncated, "{}", p.message);
}

/// Inputs the fuzz targets found (fuzz/artifacts-found/): each once panicked (an address sum
/// that overflowed); the static pass must now return a fact or a problem, never panic. The
/// first byte picks the file name, as in fuzz/fuzz_targets/static_analyze.rs.
#[test]
fn inputs_the_fuzzer_found_are_read_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/artifacts-found/static_analyze");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let Some((&pick, bytes)) = data.split_first() else {
            continue;
        };
        let name = ftaudit_static::fuzzing::file_name(pick);
        let _ = ftaudit_static::analyze(name, bytes);
        let head = &bytes[..bytes.len().min(ftaudit_static::HEADER_BYTES)];
        let _ = ftaudit_static::identify_library(name, head, "fuzz regression");
        seen += 1;
    }
    assert!(
        seen >= 3,
        "the reproducers are committed in {}",
        dir.display()
    );
}
