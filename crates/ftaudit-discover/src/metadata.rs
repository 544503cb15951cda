//! dist-info files: METADATA (name, version, classifiers), WHEEL (tags) and RECORD (ownership).

use ftaudit_model::FreeThreadingClassifier;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub free_threading: Option<FreeThreadingClassifier>,
}

/// METADATA is an email-style header block; the body (after the first blank line) is the
/// long description and is not read.
pub(crate) fn parse_metadata(text: &str) -> Metadata {
    let mut meta = Metadata::default();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        // A line that starts with white space continues the previous field's value (a
        // License field can carry a whole licence text, with `Name:` lines of its own).
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.to_ascii_lowercase().as_str() {
            "name" => {
                meta.name.get_or_insert_with(|| value.to_string());
            }
            "version" => {
                meta.version.get_or_insert_with(|| value.to_string());
            }
            "classifier" => {
                if let Some(level) = free_threading_level(value) {
                    // Several levels should not happen; keep the strongest claim.
                    meta.free_threading = meta.free_threading.max(Some(level));
                }
            }
            _ => {}
        }
    }
    meta
}

fn free_threading_level(classifier: &str) -> Option<FreeThreadingClassifier> {
    let rest = classifier.strip_prefix("Programming Language :: Python :: Free Threading :: ")?;
    match rest.split_whitespace().next()? {
        "1" => Some(FreeThreadingClassifier::Unstable),
        "2" => Some(FreeThreadingClassifier::Beta),
        "3" => Some(FreeThreadingClassifier::Stable),
        "4" => Some(FreeThreadingClassifier::Resilient),
        _ => None,
    }
}

/// `Tag:` lines of a WHEEL file.
pub(crate) fn parse_wheel_tags(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("Tag:"))
        .map(|t| t.trim().to_string())
        .collect()
}

/// Paths listed in RECORD (first CSV column) that `keep` accepts. Returns them and the number
/// of rows that could not be parsed. One record buffer is reused: a RECORD has a row per file.
pub(crate) fn parse_record(bytes: &[u8], keep: impl Fn(&str) -> bool) -> (Vec<String>, usize) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut row = csv::ByteRecord::new();
    let mut paths = Vec::new();
    let mut bad = 0;
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => match row.get(0).map(std::str::from_utf8) {
                Some(Ok(path)) if !path.is_empty() => {
                    if keep(path) {
                        paths.push(path.to_string());
                    }
                }
                _ => bad += 1,
            },
            Err(_) => bad += 1,
        }
    }
    (paths, bad)
}

/// `numpy-2.3.1.dist-info` -> ("numpy", "2.3.1").
pub(crate) fn name_version_from_dist_info(dir_name: &str) -> (String, String) {
    let stem = dir_name.trim_end_matches(".dist-info");
    match stem.rsplit_once('-') {
        Some((name, version)) => (name.to_string(), version.to_string()),
        None => (stem.to_string(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_fields_and_strongest_classifier() {
        let text = "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.2.3\n\
                    Classifier: Programming Language :: Python :: Free Threading :: 2 - Beta\n\
                    Classifier: Programming Language :: Python :: Free Threading :: 3 - Stable\n\
                    \nClassifier: Programming Language :: Python :: Free Threading :: 4 - Resilient\n";
        let meta = parse_metadata(text);
        assert_eq!(meta.name.as_deref(), Some("demo-pkg"));
        assert_eq!(meta.version.as_deref(), Some("1.2.3"));
        assert_eq!(meta.free_threading, Some(FreeThreadingClassifier::Stable));
    }

    /// scipy's METADATA carries its bundled libraries' licences in the License field, as
    /// continuation lines: `        Name: libquadmath` must not rename scipy.
    #[test]
    fn continuation_lines_are_not_fields() {
        let text = "Metadata-Version: 2.1\nName: scipy\nVersion: 1.17.1\n\
                    License: Copyright (c) 2001-2002 Enthought, Inc.\n\
                    \x20        Name: libquadmath\n\
                    \tVersion: 9.9\n\
                    Classifier: Programming Language :: Python :: Free Threading :: 2 - Beta\n";
        let meta = parse_metadata(text);
        assert_eq!(meta.name.as_deref(), Some("scipy"));
        assert_eq!(meta.version.as_deref(), Some("1.17.1"));
        assert_eq!(meta.free_threading, Some(FreeThreadingClassifier::Beta));
    }

    #[test]
    fn record_handles_quoted_paths_and_bad_rows() {
        let record = b"a/b.so,sha256=x,10\n\"odd,name.so\",,\n,,\nx.dist-info/RECORD,,\n";
        let (paths, bad) = parse_record(record, |_| true);
        assert_eq!(paths, ["a/b.so", "odd,name.so", "x.dist-info/RECORD"]);
        assert_eq!(bad, 1);
    }
}
