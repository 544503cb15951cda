//! The dist-info parsers: RECORD (CSV, ownership of installed files), METADATA (name, version,
//! free-threading classifier), WHEEL (tags) and the `name-version.dist-info` folder name.
//!
//! Input: the bytes of one such file; every parser reads it (the text parsers as discovery
//! gets it: valid UTF-8, since files that are not are skipped by `read_to_string`).

#![no_main]

use ftaudit_discover::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (all, bad_all) = fuzzing::parse_record(data, false);
    let (native, bad_native) = fuzzing::parse_record(data, true);
    // The filter only drops paths: the same rows are read and the same ones are malformed.
    assert_eq!(bad_all, bad_native);
    assert!(native.len() <= all.len());
    assert!(all.iter().all(|p| !p.is_empty()));

    if let Ok(text) = std::str::from_utf8(data) {
        let meta = fuzzing::parse_metadata(text);
        // Values are trimmed: a name or version never starts or ends with white space.
        for value in [&meta.name, &meta.version].into_iter().flatten() {
            assert_eq!(value.trim(), value);
        }
        let tags = fuzzing::parse_wheel_tags(text);
        assert!(tags.len() <= text.lines().count());

        // The folder-name fallback takes any single path component.
        let first_line = text.lines().next().unwrap_or("");
        let (name, version) = fuzzing::name_version_from_dist_info(first_line);
        assert!(name.len() + version.len() <= first_line.len());
    }
});
