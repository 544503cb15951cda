//! Thin public wrappers over the crate-private dist-info parsers, for the cargo-fuzz targets in
//! `fuzz/` at the repository root. Not part of the API: hidden from the docs, may change any time.

use ftaudit_model::FreeThreadingClassifier;

use crate::metadata;
use crate::names::is_native_file_name;

/// What [`parse_metadata`] read from a METADATA header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub free_threading: Option<FreeThreadingClassifier>,
}

/// METADATA, as discovery reads it from a dist-info folder or a wheel.
pub fn parse_metadata(text: &str) -> ParsedMetadata {
    let meta = metadata::parse_metadata(text);
    ParsedMetadata {
        name: meta.name,
        version: meta.version,
        free_threading: meta.free_threading,
    }
}

/// The `Tag:` lines of a WHEEL file.
pub fn parse_wheel_tags(text: &str) -> Vec<String> {
    metadata::parse_wheel_tags(text)
}

/// RECORD rows: (kept paths, malformed rows). With `native_only`, only the paths discovery keeps
/// for an installed distribution (native file names, by the last `/` or `\` component);
/// otherwise every path.
pub fn parse_record(bytes: &[u8], native_only: bool) -> (Vec<String>, usize) {
    if native_only {
        metadata::parse_record(bytes, |path| {
            is_native_file_name(path.rsplit(['/', '\\']).next().unwrap_or(path))
        })
    } else {
        metadata::parse_record(bytes, |_| true)
    }
}

/// `numpy-2.3.1.dist-info` -> ("numpy", "2.3.1").
pub fn name_version_from_dist_info(dir_name: &str) -> (String, String) {
    metadata::name_version_from_dist_info(dir_name)
}
