//! The project's real pinned wheel lists (fixtures/wheels/*.txt) as locks: they always parse;
//! with FTAUDIT_WHEELS_DIR (the folder holding the downloaded sets) their real PyPI wheels are
//! served from 127.0.0.1 and every pin's slim wheel is compared with the original wheel.

mod support;

use std::path::{Path, PathBuf};

use ftaudit_lock::{
    fetch, is_bundled_library, is_native_member, normalize_name, parse_lock, Target, WheelName,
    HEADERS_KEPT,
};
use support::*;

fn fixture_lists() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wheels");
    let mut lists: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    lists.sort();
    lists
}

/// `# @abi cp314t` and the highest `# @platform` tag of a list: its target.
fn list_target(text: &str) -> Target {
    let line = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("# @{key} ")))
            .unwrap()
            .to_string()
    };
    let python = line("abi").parse().unwrap();
    let platforms: Vec<ftaudit_lock::Platform> = line("platform")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    // The newest glibc/macOS named is the machine the list was made for.
    let platform = platforms
        .iter()
        .max_by_key(|p| version_key(p))
        .unwrap()
        .clone();
    Target::new(python, platform)
}

fn version_key(p: &ftaudit_lock::Platform) -> u64 {
    match p.kind {
        ftaudit_lock::PlatformKind::Manylinux { glibc: (a, b) }
        | ftaudit_lock::PlatformKind::Musllinux { musl: (a, b) }
        | ftaudit_lock::PlatformKind::Macos { version: (a, b) } => a as u64 * 1000 + b as u64,
        _ => 0,
    }
}

#[test]
fn every_fixture_list_parses_as_a_hashed_lock() {
    let lists = fixture_lists();
    assert!(lists.len() >= 5, "{lists:?}");
    for list in lists {
        let lock = parse_lock(&list).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lock.format, ftaudit_lock::LockFormat::Requirements);
        assert!(lock.pins.len() >= 5, "{}", list.display());
        assert!(
            lock.pins
                .iter()
                .all(|p| !p.version.is_empty() && !p.sha256.is_empty()),
            "{}: every pin is hashed",
            list.display()
        );
        let text = std::fs::read_to_string(&list).unwrap();
        // The ABI line says which build a set is for: cp3XYt free-threaded, cp3XY standard.
        if let Some(abi) = text.lines().find_map(|l| l.strip_prefix("# @abi ")) {
            assert_eq!(
                list_target(&text).python.free_threaded,
                abi.trim().ends_with('t'),
                "{}: {abi}",
                list.display()
            );
        }
    }
}

#[test]
fn real_wheel_sets_slim_to_exactly_their_native_members() {
    let Some(root) = std::env::var_os("FTAUDIT_WHEELS_DIR") else {
        eprintln!("FTAUDIT_WHEELS_DIR is not set: real wheel sets not checked (built wheels are, in tests/fetch.rs)");
        return;
    };
    let mut checked_sets = 0;
    for list in fixture_lists() {
        let set = list.file_stem().unwrap().to_str().unwrap();
        // FTAUDIT_WHEELS_DIR is the folder of sets, or (as for ftaudit-static) one set folder.
        let root = Path::new(&root);
        let set_dir = if root.file_name().is_some_and(|n| n == set) {
            root.to_path_buf()
        } else {
            root.join(set)
        };
        let Ok(entries) = std::fs::read_dir(&set_dir) else {
            continue;
        };
        let wheels: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "whl"))
            .collect();
        if wheels.is_empty() {
            continue;
        }
        let mut site = Site::new(true, true);
        for wheel in &wheels {
            let name = WheelName::parse(wheel.file_name().unwrap().to_str().unwrap()).unwrap();
            site.add_path(&normalize_name(&name.distribution), wheel);
        }
        let server = Server::start(site);
        let dir = tempfile::tempdir().unwrap();
        let lock = parse_lock(&list).unwrap();
        let text = std::fs::read_to_string(&list).unwrap();
        let target = list_target(&text);
        let result = fetch(
            &lock,
            std::slice::from_ref(&target),
            &options(dir.path(), Some(server.index())),
        );
        let got = &result.targets[0];
        assert!(got.missing.is_empty(), "{set}: {:?}", got.missing);
        assert_eq!(got.picked.len() + got.pure.len(), lock.pins.len(), "{set}");
        let mut total = 0u64;
        for picked in &got.picked {
            let original = std::fs::read(set_dir.join(&picked.wheel))
                .unwrap_or_else(|_| panic!("{set}: picked {} is not in the set", picked.wheel));
            total += original.len() as u64;
            let originals = zip_members(&original);
            let slim = zip_members(&std::fs::read(&picked.slim_path).unwrap());
            let native: Vec<&(String, Vec<u8>)> = originals
                .iter()
                .filter(|(n, _)| is_native_member(n))
                .collect();
            let slim_native: Vec<&(String, Vec<u8>)> =
                slim.iter().filter(|(n, _)| is_native_member(n)).collect();
            assert_eq!(slim_native.len(), native.len(), "{}", picked.wheel);
            // Extension modules are whole; bundled libraries bigger than HEADERS_KEPT are their
            // first HEADERS_KEPT bytes.
            for ((a, da), (b, db)) in native.iter().zip(&slim_native) {
                assert_eq!(a, b, "{}", picked.wheel);
                let headers_only = is_bundled_library(a) && da.len() > HEADERS_KEPT;
                assert_eq!(
                    picked.headers_only.contains(a),
                    headers_only,
                    "{}: {a}",
                    picked.wheel
                );
                if headers_only {
                    assert!(
                        db[..] == da[..HEADERS_KEPT],
                        "{}: {a}'s first bytes differ in the slim wheel",
                        picked.wheel
                    );
                    assert_eq!(picked.headers_only_sizes[a.as_str()], da.len() as u64);
                } else {
                    assert!(da == db, "{}: {a} differs in the slim wheel", picked.wheel);
                }
            }
            assert_eq!(
                slim.len(),
                native.len() + 3,
                "{}: natives + METADATA, WHEEL, RECORD",
                picked.wheel
            );
            assert_eq!(
                picked.record_checked,
                native.len() - picked.headers_only.len() + 2
            );
        }
        // Native code is most of the bytes of many of these wheels (numpy, scipy): what is saved
        // is the Python, data and test files, and every byte of pure wheels.
        assert!(
            result.wheel_bytes_read < total,
            "{set}: read {} of {total} bytes",
            result.wheel_bytes_read
        );
        eprintln!(
            "{set}: {} wheels ({} pure), read {} of {} bytes ({:.1}%) in {} requests",
            got.picked.len(),
            got.pure.len(),
            result.wheel_bytes_read,
            total,
            100.0 * result.wheel_bytes_read as f64 / total as f64,
            result.requests
        );
        checked_sets += 1;
    }
    assert!(checked_sets > 0, "FTAUDIT_WHEELS_DIR has none of the sets");
}
